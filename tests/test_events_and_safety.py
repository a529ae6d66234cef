"""EVENT_ONLY content capture, and instrumentation failures that are contained and logged once."""

from __future__ import annotations

import logging

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmobs
from llmobs import _runtime
from llmobs._cost import PriceBook
from llmobs._runtime import Runtime
from llmobs._safety import report


def test_event_only_puts_content_on_a_log_record_not_the_span():
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

    spans = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    logs = InMemoryLogRecordExporter()
    lp = LoggerProvider()
    lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
    rt = Runtime(tp.get_tracer("t"), MeterProvider().get_meter("t"), PriceBook(), capture_in_event=True,
                 event_logger=lp.get_logger("llmobs"))
    old = _runtime.set_current(rt)
    try:
        with llmobs.llm_call(provider="openai", model="gpt-4o", input_messages="what is 2+2?") as call:
            call.record_output("4")
            call.record_usage(5, 1)
    finally:
        _runtime.set_current(old)
        rt.metrics.stop()
    (span,) = spans.get_finished_spans()
    assert "gen_ai.input.messages" not in span.attributes
    (record,) = logs.get_finished_logs()
    log = record.log_record
    assert log.event_name == "gen_ai.client.inference.operation.details"
    assert "what is 2+2?" in log.attributes["gen_ai.input.messages"]
    assert "4" in log.attributes["gen_ai.output.messages"]
    assert log.attributes["gen_ai.request.model"] == "gpt-4o"
    assert log.span_id == span.context.span_id  # parented to the LLM span


def test_instrumentation_errors_are_logged_once_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="llmobs")
    for _ in range(5):
        report("unit-test-place", KeyError("x"))
    records = [r for r in caplog.records if "unit-test-place" in r.getMessage()]
    assert len(records) == 1
    assert records[0].levelno == logging.DEBUG


def test_a_broken_span_start_never_breaks_the_call(llmobs_capture, monkeypatch):
    class BrokenTracer:
        def start_span(self, *a, **k):
            raise RuntimeError("tracer exploded")

    monkeypatch.setattr(_runtime.get(), "tracer", BrokenTracer())
    with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(1, 1)
        value = 42
    assert value == 42
