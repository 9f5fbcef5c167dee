"""Which transcript lines are usage, and one record per API message (ccusage's dedup).

The per-session checks compare with ccusage 20.0.24's own output over the same files.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from blueplane_pipeline.core.pricing import load_price_table
from blueplane_pipeline.sources.claude_code.usage import record_from_line, transcript_location
from blueplane_pipeline.usage.cost import message_cost, tokens_cost
from blueplane_pipeline.usage.dedup import dedupe, is_better
from tests._usage import TREES, ccusage, close, tokens, tree_records


def line(mid="msg_1", rid="req_1", out=10, **extra) -> dict:
    d = {"type": "assistant", "timestamp": "2025-10-01T10:00:00.000Z", "sessionId": "s",
         "version": "2.0.1", "requestId": rid,
         "message": {"id": mid, "model": "claude-sonnet-4-5-20250929",
                     "usage": {"input_tokens": 5, "output_tokens": out,
                               "cache_creation_input_tokens": 100,
                               "cache_read_input_tokens": 1000}}}
    d.update(extra)
    if rid is ...:
        del d["requestId"]
    return d


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(requestId=None),
    lambda d: d.update(costUSD=None),
    lambda d: d["message"].update(model="<synthetic>"),
    lambda d: d["message"].update(model=""),
    lambda d: d.update(version="dev-build"),
    lambda d: d.update(timestamp="yesterday"),
    lambda d: d["message"]["usage"].update(input_tokens="5"),
    lambda d: d["message"]["usage"].update(output_tokens=-1),
    lambda d: d["message"].update(content=[{"type": "tool_use", "id": None}]),
    lambda d: d["message"].pop("usage"),
    lambda d: d["message"]["usage"].update(cache_read_input_tokens=2**70),
    lambda d: d.update(costUSD=float("nan")),
    lambda d: d.update(costUSD="0.5"),
])
def test_lines_that_are_not_usage(mutate):
    d = line()
    mutate(d)
    assert record_from_line(d, "p/s.jsonl", 1) is None


def test_a_usage_line_becomes_a_record():
    d = line(isSidechain=True, costUSD=0.5)
    d["message"]["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 30,
                                               "ephemeral_1h_input_tokens": 70}
    d["message"]["usage"]["iterations"] = [{"type": "message", "model": None}]
    rec = record_from_line(d, "-home-x/abc.jsonl", 7, seq=3)
    assert (rec.project, rec.session_id, rec.line_session_id) == ("-home-x", "abc", "s")
    assert (rec.cache_creation_5m, rec.cache_creation_1h, rec.cache_creation_tokens) == (
        30, 70, 100)
    assert rec.is_sidechain and rec.cost_usd_log == 0.5 and rec.total_tokens == 1115
    assert rec.dedup_key == "msg\x1fmsg_1\x1freq_1"


@pytest.mark.parametrize("path, expected", [
    ("-home-x/abc.jsonl", ("-home-x", "abc")),
    ("-home-x/abc/subagents/agent-1.jsonl", ("-home-x", "abc")),
    ("-home-x/agent-9.jsonl", ("-home-x", "agent-9")),
])
def test_sessions_come_from_the_file_place(path, expected):
    assert transcript_location(path) == expected


def test_dedup_keeps_the_larger_copy_and_prefers_the_main_thread():
    small = record_from_line(line(out=3), "p/a.jsonl", 1)
    big = record_from_line(line(out=90), "p/a.jsonl", 2)
    assert dedupe([small, big])[small.dedup_key] is big
    side_big = record_from_line(line(out=500, isSidechain=True), "p/b.jsonl", 1)
    assert dedupe([side_big, small])[small.dedup_key] is small
    # no requestId: merged on message.id alone; no message id: never merged
    a, b = (record_from_line(line(rid=..., out=o), "p/a.jsonl", n) for n, o in ((1, 1), (2, 2)))
    assert len(dedupe([a, b])) == 1
    anon = []
    for n in (1, 2):
        d = line()
        del d["message"]["id"]
        anon.append(record_from_line(d, "p/a.jsonl", n))
    assert anon[0].message_id is None and len(dedupe(anon)) == 2


def test_ties_go_to_the_earlier_file_compared_folder_by_folder():
    # "-p/z.jsonl" sorts before "-p-x/a.jsonl" by folder, after it as a plain string
    first = record_from_line(line(), "-p/z.jsonl", 9)
    second = record_from_line(line(), "-p-x/a.jsonl", 1)
    assert is_better(first, second) and not is_better(second, first)


def test_dedup_does_not_depend_on_arrival_order():
    records = tree_records(TREES["built"])
    expected = dedupe(records)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = records[:]
        rng.shuffle(shuffled)
        got = dedupe(shuffled)
        assert {k: (r.source_file, r.source_line) for k, r in got.items()} == {
            k: (r.source_file, r.source_line) for k, r in expected.items()}


def test_cost_formula_with_one_hour_writes_and_tiers():
    price = load_price_table().find("claude-sonnet-4-20250514")
    # 1h writes cost 2x input; each bucket above 200k is billed at the tier price
    cost = tokens_cost(price, 250_000, 10, 0, 210_000, 0)
    expected = (200_000 * 3e-06 + 50_000 * 6e-06 + 10 * 1.5e-05
                + 200_000 * 6e-06 + 10_000 * 12e-06)
    assert cost == pytest.approx(expected)


@pytest.mark.parametrize("tree", sorted(TREES))
def test_per_session_totals_equal_ccusage(tree):
    prices = load_price_table()
    sums: dict[str, list] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    for rec in dedupe(tree_records(TREES[tree])).values():
        s = sums[rec.session_id]
        s[0] += rec.input_tokens
        s[1] += rec.output_tokens
        s[2] += rec.cache_creation_tokens
        s[3] += rec.cache_read_tokens
        s[4] += message_cost(rec, prices)[0]
    expected = ccusage(TREES[tree], "session")["sessions"]
    assert sorted(sums) == sorted(s["sessionId"] for s in expected)
    for item in expected:
        ours = sums[item["sessionId"]]
        assert tuple(ours[:4]) == tokens(item), item["sessionId"]
        assert close(ours[4], item["totalCost"]), item["sessionId"]


def test_a_progress_line_counts_as_the_subagent_message_it_echoes():
    inner = line(out=40, isSidechain=True)
    inner["timestamp"] = "2025-10-01T10:00:07.000Z"
    progress = {"type": "progress", "sessionId": "outer", "version": "2.1.14",
                "timestamp": "2025-10-01T10:00:09.000Z",
                "data": {"type": "agent_progress", "message": inner}}
    rec = record_from_line(progress, "p/main.jsonl", 12)
    assert (rec.line_session_id, rec.output_tokens, rec.is_sidechain) == ("outer", 40, True)
    assert rec.ts_ms == record_from_line(inner, "p/x.jsonl", 1).ts_ms  # the message's time
    # the subagent file's copy of the same message merges with it
    same = record_from_line(inner, "p/main/subagents/agent-1.jsonl", 1)
    assert len(dedupe([rec, same])) == 1
    assert record_from_line({"type": "progress", "data": {"type": "bash_progress"}},
                            "p/main.jsonl", 13) is None


def _mutate(value, rng: random.Random):
    """Replace one random nested value with something of another type."""
    junk = [None, -1, 2**80, 1.5, "x", "", [], {}, True, float("inf")]
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        value[key] = _mutate(value[key], rng) if rng.random() < 0.7 else rng.choice(junk)
    elif isinstance(value, list) and value:
        i = rng.randrange(len(value))
        value[i] = _mutate(value[i], rng)
    else:
        return rng.choice(junk)
    return value


def test_untrusted_lines_never_raise():
    import copy

    from tests._usage import transcript_lines

    rng = random.Random(11)
    prices = load_price_table()
    lines = [line for _, _, line in transcript_lines(TREES["built"])]
    for n in range(3000):
        mutated = _mutate(copy.deepcopy(lines[n % len(lines)]), rng)
        rec = record_from_line(mutated, "p/s.jsonl", n)
        if rec is not None:  # whatever survives is well-formed
            assert rec.total_tokens >= 0 and isinstance(rec.ts_ms, int)
            message_cost(rec, prices)


def test_a_deeply_nested_line_is_read_without_recursion():
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["content"] = {}
        node = node["content"]
    d = line()
    d["toolUseResult"] = deep
    assert record_from_line(d, "p/s.jsonl", 1) is not None
    node["id"] = None  # a guarded null, far down: ccusage skips the line
    assert record_from_line(d, "p/s.jsonl", 1) is None
