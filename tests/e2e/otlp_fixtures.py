"""Read, decode, flatten and compare recorded OTLP/HTTP exports (tests/fixtures/otel).

JSON bodies need only the standard library. Protobuf bodies need ``opentelemetry-proto``
(it pulls ``protobuf``); run those commands with a venv that has it, e.g.

    /work/scratch/otel/venv/bin/python tests/e2e/otlp_fixtures.py decode DIR
    /work/scratch/otel/venv/bin/python tests/e2e/otlp_fixtures.py compare JSON_DIR PB_DIR
    python tests/e2e/otlp_fixtures.py catalogue DIR     # event/metric names, attribute types
    python tests/e2e/otlp_fixtures.py usage DIR         # api_request events vs standin_usage

``decode`` writes ``decoded/NNN-<signal>.json`` next to each ``NNN-<signal>.pb`` with
``MessageToDict(..., use_integers_for_enums=True)``. ``compare`` checks that two recordings
of the same scripted session carry the same records: the same events in the same order
with the same attribute keys, types and (non-volatile) values, and the same metric points.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

# Attributes whose value changes from run to run (ids, clocks, paths, timings).
VOLATILE = {
    "session.id", "user.id", "prompt.id", "message.uuid", "event.timestamp", "duration_ms",
    "ttft_ms", "total_duration_ms", "os.version", "plugin_id_hash",
}


def _decode_pb(signal: str, raw: bytes) -> dict:
    from google.protobuf.json_format import MessageToDict
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsServiceRequest as Req,
        )
    elif signal == "metrics":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest as Req,
        )
    else:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest as Req,
        )
    msg = Req()
    msg.ParseFromString(raw)
    return MessageToDict(msg, use_integers_for_enums=True)


def signal_of(path: Path) -> str:
    return path.name.split("-", 1)[1].split(".", 1)[0]


def load(path: Path) -> dict:
    """One recorded body as an OTLP/JSON-shaped dict (.json, .pb, optionally .gz)."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    if ".pb" in path.name:
        return _decode_pb(signal_of(path), raw)
    return json.loads(raw)


def bodies(folder: Path, accepted_only: bool = True) -> list[tuple[Path, dict]]:
    """Every recorded body of ``folder`` in arrival order; with ``accepted_only``, not the
    ones the recorder answered with an error (requests.json ``status`` != 200)."""
    files = sorted(p for p in folder.iterdir()
                   if p.name[:3].isdigit() and (".json" in p.name or ".pb" in p.name))
    index = folder / "requests.json"
    if accepted_only and index.exists():
        refused = {r["file"] for r in json.loads(index.read_text()) if r.get("status") != 200}
        files = [p for p in files if p.name not in refused]
    return [(p, load(p)) for p in files]


def value(v: dict) -> tuple[str, object]:
    """An AnyValue as (type, python value); int64 strings (protobuf→dict) become ints."""
    if not v:
        return ("empty", None)
    (kind, x), = v.items()
    if kind == "intValue":
        return ("int", int(x))
    if kind == "doubleValue":
        return ("double", float(x))
    if kind == "boolValue":
        return ("bool", bool(x))
    if kind == "stringValue":
        return ("string", x)
    if kind == "arrayValue":
        return ("array", [value(i)[1] for i in x.get("values", [])])
    if kind == "kvlistValue":
        return ("kvlist", {i["key"]: value(i["value"])[1] for i in x.get("values", [])})
    return (kind, x)


def attrs(items: list[dict] | None) -> dict[str, tuple[str, object]]:
    return {a["key"]: value(a.get("value", {})) for a in items or []}


def log_records(doc: dict) -> list[dict]:
    out = []
    for rl in doc.get("resourceLogs", []):
        resource = attrs(rl.get("resource", {}).get("attributes"))
        for sl in rl.get("scopeLogs", []):
            for lr in sl.get("logRecords", []):
                a = attrs(lr.get("attributes"))
                out.append({"event": a.get("event.name", ("", ""))[1],
                            "seq": a.get("event.sequence", ("", None))[1],
                            "body": value(lr.get("body", {}))[1],
                            "time": int(lr.get("timeUnixNano", 0)),
                            "observed": int(lr.get("observedTimeUnixNano", 0)),
                            "severity": lr.get("severityNumber", 0),
                            "record_keys": sorted(lr), "attrs": a,
                            "scope": sl.get("scope", {}).get("name"), "resource": resource})
    return out


def metric_points(doc: dict) -> list[dict]:
    out = []
    for rm in doc.get("resourceMetrics", []):
        resource = attrs(rm.get("resource", {}).get("attributes"))
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                kind = next(k for k in ("sum", "gauge", "histogram", "exponentialHistogram",
                                        "summary") if k in m)
                data = m[kind]
                for p in data.get("dataPoints", []):
                    vtype = "asDouble" if "asDouble" in p else "asInt" if "asInt" in p else None
                    out.append({"metric": m["name"], "unit": m.get("unit", ""),
                                "description": m.get("description", ""), "kind": kind,
                                "temporality": data.get("aggregationTemporality"),
                                "monotonic": data.get("isMonotonic"),
                                "start": int(p.get("startTimeUnixNano", 0)),
                                "time": int(p.get("timeUnixNano", 0)),
                                "value_type": vtype,
                                "value": float(p[vtype]) if vtype else None,
                                "attrs": attrs(p.get("attributes")),
                                "scope": sm.get("scope", {}).get("name"),
                                "resource": resource})
    return out


def all_records(folder: Path) -> tuple[list[dict], list[dict]]:
    logs, points = [], []
    for path, doc in bodies(folder):
        signal = signal_of(path)
        if signal == "logs":
            for r in log_records(doc):
                r["file"] = path.name
                logs.append(r)
        elif signal == "metrics":
            for p in metric_points(doc):
                p["file"] = path.name
                points.append(p)
    return logs, points


# --- commands -------------------------------------------------------------------------------

def cmd_decode(folder: Path) -> None:
    out = folder / "decoded"
    out.mkdir(exist_ok=True)
    for path in sorted(folder.glob("[0-9][0-9][0-9]-*.pb*")):
        doc = load(path)
        name = path.name.split(".", 1)[0] + ".json"
        (out / name).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"{path.name} -> decoded/{name}")


def _shape(a: dict) -> dict:
    return {k: (t, "<volatile>" if k in VOLATILE else v) for k, (t, v) in sorted(a.items())}


def _norm_log(r: dict) -> dict:
    return {"event": r["event"], "seq": r["seq"], "body": r["body"], "attrs": _shape(r["attrs"]),
            "scope": r["scope"], "resource": _shape(r["resource"])}


def _norm_point(p: dict) -> tuple:
    a = _shape(p["attrs"])
    return (p["metric"], p["kind"], p["temporality"], p["monotonic"], p["value_type"],
            json.dumps(a, sort_keys=True),
            None if p["metric"] == "claude_code.active_time.total" else round(p["value"], 9))


def cmd_compare(a_dir: Path, b_dir: Path) -> int:
    a_logs, a_points = all_records(a_dir)
    b_logs, b_points = all_records(b_dir)
    problems = []
    if len(a_logs) != len(b_logs):
        problems.append(f"log records: {len(a_logs)} vs {len(b_logs)}")
    for x, y in zip(sorted(a_logs, key=lambda r: r["seq"]),
                    sorted(b_logs, key=lambda r: r["seq"]), strict=False):
        nx, ny = _norm_log(x), _norm_log(y)
        if nx != ny:
            keys = sorted(k for k in set(nx["attrs"]) | set(ny["attrs"])
                          if nx["attrs"].get(k) != ny["attrs"].get(k))
            problems.append(f"seq {x['seq']} {x['event']} vs {y['event']}: "
                            + ", ".join(f"{k}={nx['attrs'].get(k)}|{ny['attrs'].get(k)}"
                                        for k in keys))
    # Metric points: the per-batch split depends on timing, so compare the series totals.
    def totals(points: list[dict]) -> dict:
        out: dict = defaultdict(float)
        for p in points:
            n = _norm_point(p)
            out[n[:6]] += 0 if n[6] is None else n[6]
        return {k: round(v, 9) for k, v in out.items()}
    ta, tb = totals(a_points), totals(b_points)
    for key in sorted(set(ta) | set(tb), key=str):
        if ta.get(key) != tb.get(key):
            problems.append(f"metric {key[0]} {key[5]}: {ta.get(key)} vs {tb.get(key)}")
    print(f"{a_dir.name}: {len(a_logs)} log records, {len(a_points)} points in "
          f"{len(bodies(a_dir))} bodies")
    print(f"{b_dir.name}: {len(b_logs)} log records, {len(b_points)} points in "
          f"{len(bodies(b_dir))} bodies")
    print(f"metric series: {len(ta)} vs {len(tb)}")
    if problems:
        print("DIFFERENCES:")
        for p in problems:
            print("  " + p)
        return 1
    print("same records (volatile ids, clocks and timings aside)")
    return 0


def cmd_catalogue(folder: Path) -> None:
    logs, points = all_records(folder)
    by_event: dict[str, Counter] = defaultdict(Counter)
    n_event: Counter = Counter()
    for r in logs:
        n_event[r["event"]] += 1
        for k, (t, _) in r["attrs"].items():
            by_event[r["event"]][f"{k}:{t}"] += 1
    print(f"# {folder}: {len(logs)} log records, {len(points)} metric points")
    seqs = sorted(r["seq"] for r in logs)
    uniq = sorted(set(seqs))
    print("event.sequence:", uniq[0] if uniq else None, "..", uniq[-1] if uniq else None,
          "contiguous" if uniq == list(range(uniq[0], uniq[0] + len(uniq))) else "GAPS",
          "unique" if len(uniq) == len(seqs) else f"{len(seqs) - len(uniq)} DUPLICATES",
          "(per process, not per session: --resume restarts it at 0)")
    for event, count in n_event.items():
        keys = ", ".join(k if c == count else f"{k}({c}/{count})"
                         for k, c in by_event[event].items())
        print(f"- {event} ×{count}: {keys}")
    series: dict = defaultdict(list)
    for p in points:
        series[(p["metric"], p["unit"], p["kind"], p["temporality"], p["monotonic"],
                p["value_type"])].append(p)
    for (name, unit, kind, temp, mono, vt), ps in series.items():
        keys = sorted({f"{k}:{t}" for p in ps for k, (t, _) in p["attrs"].items()})
        total = sum(p["value"] for p in ps)
        print(f"- {name} [{unit}] {kind} temporality={temp} monotonic={mono} {vt} "
              f"points={len(ps)} sum={round(total, 9)} attrs: {', '.join(keys)}")


def cmd_usage(folder: Path, usage_file: Path | None) -> int:
    """api_request events, call by call, against the usage the stand-in returned."""
    logs, points = all_records(folder)
    usage = json.loads((usage_file or folder / "standin_usage.json").read_text())
    events = sorted((r for r in logs if r["event"] == "api_request"), key=lambda r: r["seq"])
    by_request = {r["attrs"]["request_id"][1]: r for r in events if "request_id" in r["attrs"]}
    bad = 0
    for u in usage:
        r = by_request.get(u["request_id"])
        if r is None:
            print(f"call {u['call']} {u['request_id']}: NO api_request event")
            bad += 1
            continue
        a = {k: v for k, (_, v) in r["attrs"].items()}
        want = u["usage"]
        got = {"input_tokens": a.get("input_tokens"), "output_tokens": a.get("output_tokens"),
               "cache_read_input_tokens": a.get("cache_read_tokens"),
               "cache_creation_input_tokens": a.get("cache_creation_tokens"),
               "ephemeral_5m": a.get("cache_creation_5m_tokens"),
               "ephemeral_1h": a.get("cache_creation_1h_tokens")}
        exp = {"input_tokens": want["input_tokens"], "output_tokens": want["output_tokens"],
               "cache_read_input_tokens": want["cache_read_input_tokens"],
               "cache_creation_input_tokens": want["cache_creation_input_tokens"],
               "ephemeral_5m": want["cache_creation"]["ephemeral_5m_input_tokens"],
               "ephemeral_1h": want["cache_creation"]["ephemeral_1h_input_tokens"]}
        ok = got == exp
        bad += not ok
        print(f"call {u['call']} {u['request_id']} seq={r['seq']} "
              f"{'OK' if ok else 'MISMATCH'} cost_usd={a.get('cost_usd')} "
              f"micros={a.get('cost_usd_micros')} {got if not ok else ''}")
    tok = defaultdict(float)
    for p in points:
        if p["metric"] == "claude_code.token.usage":
            tok[p["attrs"]["type"][1]] += p["value"]
        if p["metric"] == "claude_code.cost.usage":
            tok["cost"] += p["value"]
    ev = {"input": sum(r["attrs"]["input_tokens"][1] for r in events),
          "output": sum(r["attrs"]["output_tokens"][1] for r in events),
          "cacheRead": sum(r["attrs"]["cache_read_tokens"][1] for r in events),
          "cacheCreation": sum(r["attrs"]["cache_creation_tokens"][1] for r in events),
          "cost": round(sum(r["attrs"]["cost_usd"][1] for r in events), 9)}
    print("events:", ev)
    print("sum of metric points:", {k: round(v, 9) for k, v in tok.items()})
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("decode").add_argument("dir", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    sub.add_parser("catalogue").add_argument("dir", type=Path)
    u = sub.add_parser("usage")
    u.add_argument("dir", type=Path)
    u.add_argument("--usage-file", type=Path)
    args = parser.parse_args()
    if args.cmd == "decode":
        cmd_decode(args.dir)
    elif args.cmd == "compare":
        sys.exit(cmd_compare(args.a, args.b))
    elif args.cmd == "catalogue":
        cmd_catalogue(args.dir)
    else:
        sys.exit(cmd_usage(args.dir, args.usage_file))


if __name__ == "__main__":
    main()
