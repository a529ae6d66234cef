"""Instructions per call, counted by valgrind's callgrind: repeatable where wall-clock time is not.

    python benchmarks/icount.py          # needs valgrind (Debian package), ~1 minute

For each operation it runs a fresh interpreter twice (N=500 and N=1500 calls, same setup, PYTHONHASHSEED=0)
and reports (instructions(1500) - instructions(500)) / 1000: the cost of one more call, set-up excluded.
Setup: SDK TracerProvider with a SimpleSpanProcessor into an exporter that drops spans (no export thread
to count), metrics queued but not recorded (the worker's cost is reported separately), price table loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, os.environ["ROOT"] + "/benchmarks"); sys.path.insert(0, os.environ["ROOT"] + "/src")
    import run
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from llmobs import _cost, _runtime
    from llmobs._cost import PriceBook
    from llmobs._runtime import Runtime
    tp = TracerProvider(); tp.add_span_processor(SimpleSpanProcessor(run.DropExporter()))
    prices = PriceBook(); prices.warm(); _cost.wait_ready(600)
    rt = Runtime(tp.get_tracer("llmobs"), MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("m"),
                 prices)
    rt._tp = tp
    _runtime.set_current(rt)
    for _ in range(50):
        run.manual_call()
    rt.metrics.stop()
    name = os.environ["FN"]
    record_metrics = name == "metrics"
    fn = run.bare_span(rt) if name == "bare" else run.manual_call if record_metrics else getattr(run, name)
    q = rt.metrics._queue
    for i in range(int(os.environ["N"])):
        fn()
        if i % 50 == 0:
            rt.metrics.drain() if record_metrics else q.clear()
    q.clear()
""")

OPS = {
    "bare": "bare OTel span, 17 attributes (reference)",
    "manual_call": "llmobs.llm_call with usage and response (caller)",
    "integration_call": "integration-style invoke() (caller)",
    "metrics": "llmobs.llm_call + recording its metrics (caller + worker)",
    "proxied_stream_without_span": "50-chunk stream through the proxy (per-chunk path only)",
    "raw_stream": "50-chunk raw stream",
}


# CPython's type attribute cache (4,096 slots, indexed by a type's version tag and the address of the
# attribute's name) collides differently with every change to what is imported or allocated before the counted
# loop. In one layout the uninstrumented 50-chunk openai stream missed it ~400 more times (~190k instructions)
# than in another, which moved a single measurement of the "overhead" by +-130k per stream with no change to
# the code it runs. Creating k throw-away types first shifts every later version tag and address; each figure
# is the mean over LAYOUTS such layouts.
LAYOUT_PAD = ('import os as _os\nfor _i in range(int(_os.environ.get("ICOUNT_LAYOUT", "0"))):\n'
              '    getattr(type(f"_Pad{_i}", (), {}), "x", None)\n')
LAYOUTS = (0, 1, 13)


def count(script: str, fn: str, n: int, layout: int = 0) -> int:
    env = {**os.environ, "ROOT": str(ROOT), "FN": fn, "N": str(n), "PYTHONHASHSEED": "0",
           "ICOUNT_LAYOUT": str(layout)}
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, script],
        capture_output=True, text=True, env=env, timeout=900,
    )
    for line in out.stderr.splitlines():
        if "Collected" in line:
            return int(line.split()[-1])
    raise RuntimeError(out.stderr[-2000:])


# The shared frame of the integration scripts (icount_openai / _anthropic / _google_genai): the part between
# them builds the client and an ``ops`` dict (FN name -> callable) and picks ``fn``; ``q`` is the metrics
# queue, cleared instead of recorded (the worker's share is measured by this file's own SCRIPT).
INTEGRATION_PRELUDE = textwrap.dedent("""
    import gc, json, os, sys
    sys.path[:0] = [os.environ["ROOT"] + "/benchmarks", os.environ["ROOT"] + "/src", os.environ["ROOT"]]
    import llmobs
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from llmobs import _cost, _runtime
    from run import DropExporter

    def instrument(integration):
        tp = TracerProvider(); tp.add_span_processor(SimpleSpanProcessor(DropExporter()))
        llmobs.instrument(tracer_provider=tp, meter_provider=MeterProvider(), integrations=[integration])
        _cost.wait_ready(600)
        rt = _runtime.get(); rt.metrics.stop()
        return rt.metrics._queue
""")
INTEGRATION_LOOP = textwrap.dedent("""
    for _ in range(10):
        fn()
    q.clear()
    gc.collect()
    gc.disable()  # a collection lands at a different call in each run: +-80k instructions of noise per call
    for i in range(int(os.environ["N"])):
        fn()
        q.clear()
""")


def integration_script(body: str) -> str:
    """A counted script: the shared prelude, ``body`` (dedented), the warm-up and the counted loop."""
    return INTEGRATION_PRELUDE + textwrap.dedent(body) + INTEGRATION_LOOP


def measure(script_text: str, ops: dict[str, str], low: int, high: int,
            env: Callable[[str], dict[str, str]] | None = None) -> dict[str, float]:
    """Instructions per call of each operation in ``ops`` (FN name -> label): (count(high) - count(low)) /
    (high - low), each count a fresh interpreter running ``script_text``, averaged over ``LAYOUTS``. Printed
    as they come."""
    if shutil.which("valgrind") is None:
        print("valgrind not found: apt-get install valgrind")
        raise SystemExit(1)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(LAYOUT_PAD + script_text)
        script = fh.name
    results: dict[str, float] = {}
    for fn, label in ops.items():
        if env is not None:
            os.environ.update(env(fn))
        results[fn] = sum(count(script, fn, high, k) - count(script, fn, low, k) for k in LAYOUTS) / (
            (high - low) * len(LAYOUTS))
        print(f"{label:<55} {results[fn]:>14,.0f} instructions", flush=True)
    return results


def save(name: str, results: dict[str, float]) -> None:
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))


def main() -> None:
    results = measure(SCRIPT, OPS, 500, 1500)
    ref = results["bare"]
    print(f"\nllm_call / bare span: {results['manual_call'] / ref:.2f}x; "
          f"invoke / bare span: {results['integration_call'] / ref:.2f}x; "
          f"proxy per chunk: {(results['proxied_stream_without_span'] - results['raw_stream']) / 50:,.0f}"
          " instructions")
    save("icount", results)


if __name__ == "__main__":
    main()
