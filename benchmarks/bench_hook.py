"""Hook process wall time: ``blueplane-hook`` against a bare ``python -c pass``.

Target (DESIGN.md): median hook wall time <= 2x ``python -c pass`` in the same venv.
Each variant is one way the hook can be registered; runs are interleaved round-robin so
that load from other processes on the machine hits every variant alike. The payloads are
the real hook payloads in ``tests/fixtures/real/hook_payloads``, delivered to the embedded
Redis (and, in the "redis down" rows, to the spool).

Bytecode is compiled first (as ``pip install`` does): this environment may set
``PYTHONDONTWRITEBYTECODE``, which would otherwise make every run recompile our modules.

    python benchmarks/bench_hook.py [--runs 60] [--python OTHER_VENV/bin/python]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import print_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("BLUEPLANE_FIXTURES", ROOT / "tests" / "fixtures" / "real"))


def payloads() -> list[bytes]:
    out = []
    for path in sorted((FIXTURES / "hook_payloads").glob("*/*/logs/*.json")):
        out.extend(json.dumps(p).encode() for p in json.loads(path.read_text()))
    return out


def variants(python: str) -> dict[str, list[str]]:
    """Each way to run the hook with ``python`` (this venv's, or another install's)."""
    probe = ("from blueplane_pipeline.capture import hook, installers; "
             "print(hook.__file__.replace('hook.py', 'run_hook.py')); "
             "print(installers.hook_command('claude-code'))")
    launcher, command = subprocess.run([python, "-c", probe], capture_output=True, text=True,
                                        check=True).stdout.splitlines()
    bindir = Path(python).parent
    script = shutil.which("blueplane-hook", path=str(bindir)) or str(bindir / "blueplane-hook")
    return {
        "python -c pass": [python, "-c", "pass"],
        "python -S -c pass": [python, "-S", "-c", "pass"],
        "console script blueplane-hook": [script, "claude-code"],
        "python -m ...capture.hook": [python, "-m", "blueplane_pipeline.capture.hook",
                                      "claude-code"],
        "python -S run_hook.py (installed)": [python, "-S", launcher, "claude-code"],
        "installed command (via sh -c)": ["/bin/sh", "-c", command],
    }


def time_runs(cmds: dict[str, list[str]], inputs: list[bytes], runs: int,
              env: dict[str, str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for i in range(runs):
        data = inputs[i % len(inputs)]
        for name, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, input=data, stdout=subprocess.DEVNULL, env=env, check=True)
            times[name].append((time.perf_counter() - t) * 1000)
    return times


def report(title: str, times: dict[str, list[float]], base: str) -> None:
    base_median = statistics.median(times[base])
    print(f"\n{title}")
    print(f"{'variant':34} {'median ms':>10} {'p95 ms':>8} {'x python -c pass':>17}")
    for name, values in times.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]
        med = statistics.median(values)
        print(f"{name:34} {med:10.1f} {p95:8.1f} {med / base_median:17.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of the install to measure (default: this one)")
    args = parser.parse_args()

    compileall.compile_dir(str(ROOT / "blueplane_pipeline"), quiet=1, maxlevels=1)
    compileall.compile_dir(str(ROOT / "blueplane_pipeline" / "capture"), quiet=1)
    home = tempfile.mkdtemp(prefix="bp-bench-", dir="/tmp")
    os.environ["BLUEPLANE_HOME"] = home
    os.environ.pop("BLUEPLANE_REDIS_URL", None)
    env = dict(os.environ)
    from blueplane_pipeline.ingest import stream
    from blueplane_pipeline.runtime import redis_server

    inputs = payloads()
    cmds = variants(args.python)
    print_info()
    print(f"payloads: {len(inputs)} real hook payloads, "
          f"median {statistics.median(len(p) for p in inputs)} bytes; runs per variant: "
          f"{args.runs}; python: {args.python}; "
          f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE')}")
    try:
        redis_server.start()
        r = stream.client()
        before = r.xlen("blueplane:events")
        times = time_runs(cmds, inputs, args.runs, env)
        delivered = r.xlen("blueplane:events") - before
        r.close()
        report("Redis up (XADD to the stream)", times, "python -c pass")
        print(f"events in the stream: {delivered} (expected {4 * args.runs})")
        redis_server.stop()
        down = {k: v for k, v in cmds.items() if "pass" in k or "installed" in k}
        report("Redis down (envelope spooled)", time_runs(down, inputs, args.runs, env),
               "python -c pass")
    finally:
        redis_server.stop()
        shutil.rmtree(home, ignore_errors=True)
    filter_cost(inputs)


def filter_cost(inputs: list[bytes], rounds: int = 200) -> None:
    """The privacy filter (redaction included) in-process, per payload: the part of the
    hook's time the rule set decides, without the process start that dominates the rest."""
    import importlib

    from blueplane_pipeline.core import privacy

    payloads = [json.loads(p) for p in inputs]
    print(f"\nprivacy filter in-process over the {len(payloads)} payloads "
          f"(best of 5 x {rounds} rounds)")
    for mode in ("standard", "strict"):
        best = min(_filter_round(privacy, payloads, mode, rounds) for _ in range(5))
        print(f"  {mode:9} {best * 1e6 / len(payloads):7.1f} us per payload")
    # what the first event of a hook process pays: importing the filter and its rules
    import sys as _sys

    for name in [m for m in _sys.modules if m.startswith("blueplane_pipeline.core.")]:
        del _sys.modules[name]
    t = time.perf_counter()
    fresh = importlib.import_module("blueplane_pipeline.core.privacy")
    fresh.filter_payload(payloads[0], "standard")
    print(f"  import + first payload (cold, regexes compiled on use): "
          f"{(time.perf_counter() - t) * 1000:.2f} ms")


def _filter_round(privacy, payloads: list, mode: str, rounds: int) -> float:
    # older releases (measured for the "before" figures) take no counts
    counted = "counts" in privacy.filter_payload.__code__.co_varnames
    t = time.perf_counter()
    for _ in range(rounds):
        for p in payloads:
            if counted:
                privacy.filter_payload(p, mode, None, {})
            else:
                privacy.filter_payload(p, mode)
    return (time.perf_counter() - t) / rounds


if __name__ == "__main__":
    main()
