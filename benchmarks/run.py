"""Per-call and per-chunk overhead of llmobs against uninstrumented code.

    python benchmarks/run.py            # prints a table, writes benchmarks/results/latest.json

Setup: an SDK TracerProvider with a BatchSpanProcessor feeding an exporter that drops spans (export happens
off-thread in real apps too), an SDK MeterProvider with an in-memory reader, cost on, content capture off.
Each figure is the minimum over many short rounds of the mean time per operation, in microseconds.

- ``otel_span_17_attrs``: a bare OpenTelemetry span with 17 attributes (the reference point).
- ``llm_call_overhead``: ``with llmobs.llm_call(...)`` recording usage and a response, minus the same block
  without llmobs. "caller" is time on the calling thread; "incl. metrics" adds the time the metrics worker
  spends turning the queued call into measurements (measured by draining synchronously after the loop).
- ``integration_call_overhead``: an integration-style wrapped call (``_recorder.invoke``) vs the raw call.
- ``stream_chunk_overhead``: per chunk, a 50-chunk stream through ``SyncStreamProxy`` (with an accumulator
  that inspects each chunk) vs iterating the raw stream.
- ``import_llmobs_ms`` / ``instrument_ms``: start-up cost in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402

import llmobs  # noqa: E402
from llmobs import _cost, _recorder, _runtime  # noqa: E402
from llmobs._cost import PriceBook  # noqa: E402
from llmobs._model import LLMCall, Usage  # noqa: E402
from llmobs._runtime import Runtime  # noqa: E402
from llmobs._streams import StreamAccumulator, SyncStreamProxy  # noqa: E402

# Many short rounds: the metrics queue is drained between rounds (as the worker does every 100 ms), so it
# never holds thousands of entries, and the minimum over rounds filters out the machine's other work.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))
N_CALLS = int(os.environ.get("BENCH_CALLS", "200"))
N_STREAMS = int(os.environ.get("BENCH_STREAMS", "50"))
CHUNKS = 50


class DropExporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def setup() -> Runtime:
    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(DropExporter(), max_queue_size=1 << 20, schedule_delay_millis=200))
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    prices = PriceBook()
    prices.warm()
    rt = Runtime(tp.get_tracer("llmobs"), mp.get_meter("llmobs"), prices)
    _runtime.set_current(rt)
    # warm every cache once (price lookup, attribute paths); wait for the price table so that no measured
    # call takes the "table still loading" path (which ends spans on the loader thread)
    _cost.wait_ready(60)
    for _ in range(200):
        manual_call()
    _cost.wait_ready(60)
    assert prices.ready()
    rt.metrics.drain()
    rt._tp = tp  # type: ignore[attr-defined]
    return rt


def per_op(fn: Any, n: int, after: Any = None, timed_after: bool = True) -> float:
    """Mean µs per call of ``fn``; the minimum over ROUNDS rounds (the least disturbed by other work on the
    machine). ``after`` runs after each round's loop, inside the timing when ``timed_after``."""
    samples = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if after is not None and timed_after:
            after()
        samples.append((time.perf_counter() - t) / n * 1e6)
        if after is not None and not timed_after:
            after()
    return min(samples)


ATTRS17 = {f"gen_ai.attr.{i}": f"value-{i}" for i in range(17)}


def bare_span(rt: Runtime) -> Any:
    tracer = rt._tp.get_tracer("bare")  # type: ignore[attr-defined]

    def run() -> None:
        tracer.start_span("chat gpt-4o-mini", attributes=ATTRS17).end()

    return run


def manual_call() -> Any:
    with llmobs.llm_call(provider="openai", model="gpt-4o-mini", temperature=0.2, max_tokens=256,
                         server_address="api.openai.com", server_port=443) as call:
        call.set_response(id="chatcmpl-1", model="gpt-4o-mini-2024-07-18", finish_reasons=["stop"])
        call.record_usage(1200, 80, cache_read_input_tokens=1024)
    return None


class Response:
    id = "chatcmpl-1"
    model = "gpt-4o-mini-2024-07-18"


RESPONSE = Response()
USAGE_IN, USAGE_OUT = 1200, 80


def raw_api(**kwargs: Any) -> Response:
    return RESPONSE


def baseline_block() -> None:
    # the same user code as manual_call, without llmobs: fetch a response and read its fields
    r = raw_api(model="gpt-4o-mini")
    _ = (r.id, r.model, USAGE_IN, USAGE_OUT)


def on_result(call: LLMCall, r: Response) -> Response:
    call.response_id = r.id
    call.response_model = r.model
    call.finish_reasons = ["stop"]
    call.usage = Usage(USAGE_IN, USAGE_OUT, 1024)
    return r


def integration_call() -> None:
    call = LLMCall("chat", "openai", "gpt-4o-mini", server_address="api.openai.com", server_port=443,
                   params={"gen_ai.request.temperature": 0.2}, integration="bench")
    _recorder.invoke(call, raw_api, (), {"model": "gpt-4o-mini"}, on_result)


def raw_call() -> None:
    raw_api(model="gpt-4o-mini")


class Chunk:
    __slots__ = ("finish_reason", "text")

    def __init__(self, text: str, finish_reason: str | None = None) -> None:
        self.text = text
        self.finish_reason = finish_reason


CHUNK_LIST = [Chunk("tok ") for _ in range(CHUNKS - 1)] + [Chunk("", "stop")]


class Acc(StreamAccumulator):
    __slots__ = ("n", "reason")

    def __init__(self) -> None:
        self.n = 0
        self.reason: str | None = None

    def add(self, chunk: Any) -> bool:
        if chunk.finish_reason is not None:
            self.reason = chunk.finish_reason
        if chunk.text:
            self.n += 1
            return True
        return False

    def finish(self, call: LLMCall) -> None:
        call.finish_reasons = [self.reason] if self.reason else None


def raw_stream() -> None:
    for _chunk in iter(CHUNK_LIST):
        pass


def proxied_stream() -> None:
    call = LLMCall("chat", "openai", "gpt-4o-mini", stream=True)
    _recorder.start(call)
    for _chunk in SyncStreamProxy(iter(CHUNK_LIST), call, Acc()):
        pass


def proxied_stream_without_span() -> None:
    call = LLMCall("chat", "openai", "gpt-4o-mini", stream=True)
    call._done = True  # measure the per-chunk path alone
    for _chunk in SyncStreamProxy(iter(CHUNK_LIST), call, Acc()):
        pass


def startup_ms() -> dict[str, float]:
    """``import llmobs`` and ``llmobs.instrument()`` wall time in a fresh interpreter (median of 5)."""
    import subprocess

    code = (
        "import time; t=time.perf_counter(); import llmobs; a=time.perf_counter();"
        "llmobs.instrument(endpoint='http://127.0.0.1:9'); b=time.perf_counter();"
        "print((a-t)*1e3, (b-a)*1e3)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
        runs.append(tuple(float(x) for x in out.stdout.split()))
    return {
        "import_llmobs_ms": statistics.median(r[0] for r in runs),
        "instrument_ms": statistics.median(r[1] for r in runs),
    }


def main() -> None:
    rt = setup()
    drain = rt.metrics.drain
    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "rounds": ROUNDS}

    results["otel_span_17_attrs_us"] = per_op(bare_span(rt), N_CALLS)
    base = per_op(baseline_block, N_CALLS)
    rt.metrics.stop()  # no background worker: drain on this thread, outside or inside the timing
    caller = per_op(manual_call, N_CALLS, after=drain, timed_after=False)
    with_metrics = per_op(manual_call, N_CALLS, after=drain)
    results["llm_call_overhead_caller_us"] = caller - base
    results["llm_call_overhead_incl_metrics_us"] = with_metrics - base

    raw = per_op(raw_call, N_CALLS)
    wrapped = per_op(integration_call, N_CALLS, after=drain, timed_after=False)
    results["integration_call_overhead_caller_us"] = wrapped - raw

    raw_s = per_op(raw_stream, N_STREAMS)
    prox_nospan = per_op(proxied_stream_without_span, N_STREAMS)
    prox = per_op(proxied_stream, N_STREAMS, after=drain, timed_after=False)
    results["stream_chunk_overhead_us"] = (prox_nospan - raw_s) / CHUNKS
    results["stream_total_overhead_per_50_chunk_stream_us"] = prox - raw_s

    results.update(startup_ms())

    width = max(len(k) for k in results)
    for key, value in results.items():
        shown = f"{value:8.2f}" if isinstance(value, float) else f"{value!s:>8}"
        print(f"{key:<{width}}  {shown}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
