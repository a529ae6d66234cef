"""Never leak memory: thousands of calls, failures, abandoned streams and decorated generators leave
llmobs's own state where it was."""

from __future__ import annotations

import gc
import tracemalloc

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import llmobs
from llmobs import _cost, _runtime
from llmobs._cost import PriceBook
from llmobs._model import LLMCall
from llmobs._runtime import Runtime
from llmobs._streams import wrap_stream


class Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def workload(i: int) -> None:
    with llmobs.context(user_id=f"u{i % 7}"):
        try:
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
                call.record_usage(10, 5)
                if i % 3 == 0:
                    raise TimeoutError("x")
        except TimeoutError:
            pass
        stream_call = LLMCall("chat", "openai", "gpt-4o-mini", stream=True)
        from llmobs import _recorder

        _recorder.start(stream_call)
        stream = wrap_stream(iter(range(5)), stream_call)
        next(stream)
        del stream  # abandoned mid-way

        @llmobs.task
        def gen():
            yield from range(3)

        g = gen()
        next(g)
        g.close()


def test_state_does_not_grow():
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(Drop()))
    rt = Runtime(tp.get_tracer("t"), MeterProvider().get_meter("t"), PriceBook())
    old = _runtime.set_current(rt)
    try:
        for i in range(300):  # warm every cache
            workload(i)
        _cost.wait_ready(30)
        rt.metrics.drain()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for i in range(3000):
            workload(i)
        rt.metrics.drain()
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    finally:
        _runtime.set_current(old)
        rt.metrics.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename") if "llmobs" in str(stat.traceback))
    assert grown < 64 * 1024, f"llmobs allocations grew by {grown} bytes over 3000 iterations"
    assert len(rt.metrics._queue) == 0
    assert len(rt.prices._cache) < 10
