"""Build a Cursor ``User`` folder with real-shaped ``state.vscdb`` files (tests, demos).

Shapes follow what Cursor 0.50-2.x writes: tables ``ItemTable`` and ``cursorDiskKV``
(``key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB``); per workspace ``composer.composerData``
(``allComposers`` heads), ``aiService.prompts`` (``text``, ``commandType``) and
``aiService.generations`` (``unixMs``, ``generationUUID``, ``type``, ``textDescription``);
globally ``composerData:<id>`` (``_v``, ``fullConversationHeadersOnly``, ``modelConfig``,
``originalFileStates`` …) and ``bubbleId:<composer>:<bubble>`` (``type`` 1 user / 2
assistant, ``text``, ``toolFormerData``, ``timingInfo``, ``tokenCount``). Alongside them sit
keys an importer must never read (``cursorAuth/accessToken``) and a few broken values
(JSON ``null`` bubbles, truncated JSON) as real stores have.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

TABLE_SQL = "CREATE TABLE IF NOT EXISTS {} (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)"
SECRET_TOKEN = "cursor-secret-access-token-never-imported"
BASE_MS = 1_761_000_000_000  # 2025-10-20


@dataclass
class CursorFixture:
    root: Path  # the ``User`` folder
    global_db: Path
    workspace_dbs: list[Path] = field(default_factory=list)
    composer_ids: list[str] = field(default_factory=list)
    bubble_keys: list[str] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)  # event_type -> count


def _db(path: Path, wal: bool) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    for table in ("ItemTable", "cursorDiskKV"):
        conn.execute(TABLE_SQL.format(table))
    return conn


def put(conn: sqlite3.Connection, table: str, key: str, value: object) -> None:
    """Write like Cursor does: INSERT with REPLACE on the unique key (a new rowid)."""
    data = value if isinstance(value, (bytes, str)) else json.dumps(value)
    conn.execute(f"INSERT INTO {table} (key, value) VALUES (?, ?)", (key, data))


def bubble(kind: int, bubble_id: str, text: str, ms: int, rng: random.Random) -> dict:
    value: dict = {
        "_v": 3, "type": kind, "bubbleId": bubble_id, "text": text,
        "richText": json.dumps({"root": {"children": [{"text": text}]}}),
        "createdAt": _iso(ms), "requestId": str(uuid.UUID(int=rng.getrandbits(128))),
        "isAgentic": True, "unifiedMode": 2, "codeBlocks": [], "images": [],
        "tokenCount": {"inputTokens": 0, "outputTokens": 0},
    }
    if kind == 1:
        value["attachedCodeChunks"] = [{"uri": "file:///w/app.py", "text": "print('x')\n"}]
        value["modelInfo"] = {"modelName": "claude-4-sonnet"}
    else:
        value["tokenCount"] = {"inputTokens": rng.randint(500, 9000),
                               "outputTokens": rng.randint(20, 900)}
        value["timingInfo"] = {"clientStartTime": 4745281.3, "clientRpcSendTime": ms,
                               "clientSettleTime": ms + 2100, "clientEndTime": ms + 2100}
        value["serverBubbleId"] = str(uuid.UUID(int=rng.getrandbits(128)))
        value["usageUuid"] = str(uuid.UUID(int=rng.getrandbits(128)))
        value["codeBlocks"] = [{"content": "def f():\n    return 1\n", "languageId": "python",
                                "codeBlockIdx": 0}]
        value["toolFormerData"] = {
            "tool": 7, "toolCallId": f"toolu_{rng.getrandbits(48):012x}", "status": "completed",
            "name": "edit_file",
            "rawArgs": json.dumps({"target_file": "app.py", "code_edit": "x = 1\n"}),
            "result": json.dumps({"diff": {"chunks": [{"linesAdded": 1, "linesRemoved": 0}]}}),
            "additionalData": {"status": "success"},
        }
    return value


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def build(root: Path, *, workspaces: int = 2, composers_per_workspace: int = 2,
          bubbles_per_composer: int = 4, seed: int = 7) -> CursorFixture:
    """Write a ``User`` folder under ``root``: ``workspaceStorage/<hash>/state.vscdb``
    (rollback-journal mode) and ``globalStorage/state.vscdb`` (WAL mode)."""
    rng = random.Random(seed)
    fx = CursorFixture(root, root / "globalStorage" / "state.vscdb")
    g = _db(fx.global_db, wal=True)
    put(g, "ItemTable", "cursorAuth/accessToken", SECRET_TOKEN)
    put(g, "ItemTable", "workbench.view.extensions.state", {"hidden": []})
    expected = {"composer": 0, "prompt": 0, "generation": 0, "composer_data": 0, "bubble": 0,
                "invalid_item": 0}
    ms = BASE_MS
    for w in range(workspaces):
        folder = root / "workspaceStorage" / f"{rng.getrandbits(128):032x}"
        ws = _db(folder / "state.vscdb", wal=False)
        fx.workspace_dbs.append(folder / "state.vscdb")
        (folder / "workspace.json").write_text(json.dumps({"folder": f"file:///home/u/proj{w}"}))
        heads, prompts, generations = [], [], []
        for _ in range(composers_per_workspace):
            cid = str(uuid.UUID(int=rng.getrandbits(128)))
            fx.composer_ids.append(cid)
            created = ms
            headers = []
            for b in range(bubbles_per_composer):
                kind = 1 if b % 2 == 0 else 2
                bid = str(uuid.UUID(int=rng.getrandbits(128)))
                ms += rng.randint(2_000, 60_000)
                text = (f"please refactor module {b} and add tests" if kind == 1
                        else f"I updated module {b}; tests pass.")
                put(g, "cursorDiskKV", f"bubbleId:{cid}:{bid}", bubble(kind, bid, text, ms, rng))
                fx.bubble_keys.append(f"bubbleId:{cid}:{bid}")
                headers.append({"bubbleId": bid, "type": kind})
                expected["bubble"] += 1
                if kind == 1:
                    prompts.append({"text": text, "commandType": 4})
                    generations.append({"unixMs": ms, "generationUUID":
                                        str(uuid.UUID(int=rng.getrandbits(128))),
                                        "type": "composer", "textDescription": text})
            name = f"Refactor run {len(fx.composer_ids)}"
            put(g, "cursorDiskKV", f"composerData:{cid}", {
                "_v": 10, "composerId": cid, "name": name, "text": "", "richText": "",
                "createdAt": created, "lastUpdatedAt": ms, "status": "completed",
                "isAgentic": True, "unifiedMode": "agent", "forceMode": "edit",
                "fullConversationHeadersOnly": headers, "conversationMap": {},
                "modelConfig": {"modelName": "claude-4-sonnet", "maxMode": False},
                "originalFileStates": {"file:///home/u/app.py": {"content": "old\n"}},
                "totalLinesAdded": 12, "totalLinesRemoved": 3, "filesChangedCount": 2,
                "usageData": {}, "context": {"fileSelections": [], "selections": []},
            })
            expected["composer_data"] += 1
            heads.append({"type": "head", "composerId": cid, "name": name,
                          "createdAt": created, "lastUpdatedAt": ms, "unifiedMode": "agent",
                          "forceMode": "edit"})
        put(ws, "ItemTable", "composer.composerData",
            {"allComposers": heads, "selectedComposerIds": [heads[0]["composerId"]]})
        put(ws, "ItemTable", "aiService.prompts", prompts)
        put(ws, "ItemTable", "aiService.generations", generations)
        put(ws, "ItemTable", "workbench.panel.aichat.view.aichat.chatdata", {"tabs": []})
        expected["composer"] += len(heads)
        expected["prompt"] += len(prompts)
        expected["generation"] += len(generations)
        ws.close()
    # What real stores also hold: a JSON null bubble and a truncated value.
    put(g, "cursorDiskKV", f"bubbleId:{fx.composer_ids[0]}:null-bubble", "null")
    put(g, "cursorDiskKV", f"bubbleId:{fx.composer_ids[0]}:broken-bubble", '{"_v":3,"type":2,')
    put(g, "cursorDiskKV", "checkpointId:abc", {"files": []})
    expected["invalid_item"] += 1
    g.close()
    fx.expected = expected
    return fx


def update_bubble(fx: CursorFixture, key: str, text: str) -> None:
    """Change one bubble's text, as Cursor does while an answer streams in."""
    with sqlite3.connect(fx.global_db) as g:
        (raw,) = g.execute("SELECT value FROM cursorDiskKV WHERE key = ?", (key,)).fetchone()
        value = json.loads(raw)
        value["text"] = text
        put(g, "cursorDiskKV", key, value)
    g.close()
