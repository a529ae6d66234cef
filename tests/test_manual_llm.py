"""llmobs.llm_call: the same span, metrics and cost an integration produces (scenarios 17-21, 25)."""

from __future__ import annotations

import pytest
from opentelemetry import trace

import llmobs
from llmobs._metrics import Metrics


def test_span_attributes_usage_and_cost(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o", temperature=0.2, max_tokens=100, top_p=0.9,
                         seed=7, stop_sequences="END", server_address="api.openai.com", server_port=443,
                         choice_count=2) as call:
        call.set_response(id="chatcmpl-1", model="gpt-4o-2024-08-06", finish_reasons=["stop", "length"])
        call.record_usage(1000, 200, cache_read_input_tokens=400, reasoning_output_tokens=50)
    rc = llmobs_capture.assert_llm_call(
        operation="chat", provider="openai", model="gpt-4o", response_model="gpt-4o-2024-08-06",
        input_tokens=1000, output_tokens=200, cache_read_input_tokens=400, reasoning_output_tokens=50,
        finish_reasons=["stop", "length"], cost_status="priced",
    )
    span = rc.span
    assert span.name == "chat gpt-4o"
    assert span.kind == trace.SpanKind.CLIENT
    a = span.attributes
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.max_tokens"] == 100
    assert a["gen_ai.request.top_p"] == 0.9
    assert a["gen_ai.request.seed"] == 7
    assert a["gen_ai.request.stop_sequences"] == ("END",)
    assert a["gen_ai.request.choice.count"] == 2
    assert a["server.address"] == "api.openai.com" and a["server.port"] == 443
    assert a["gen_ai.response.id"] == "chatcmpl-1"
    assert "gen_ai.request.stream" not in a  # unset means non-streaming
    # gpt-4o: $2.50/M input, $1.25/M cached input, $10/M output
    expected = (600 * 2.5 + 400 * 1.25 + 200 * 10.0) / 1e6
    assert rc.cost == pytest.approx(expected, rel=1e-9)
    assert a["llmobs.cost.input_usd"] + a["llmobs.cost.output_usd"] == pytest.approx(expected)
    assert span.status.is_unset


def test_unknown_model_is_unpriced_not_zero(llmobs_capture):
    with llmobs.llm_call(provider="ollama", model="my-finetune") as call:
        call.record_usage(10, 10)
    rc = llmobs_capture.assert_llm_call(cost_status="unpriced", cost=None)
    assert "llmobs.cost.total_usd" not in rc.attributes


def test_no_usage_means_no_usage_and_no_cost(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o"):
        pass
    rc = llmobs_capture.llm_calls()[0]
    assert rc.input_tokens is None
    assert "llmobs.cost.status" not in rc.attributes


def test_error_marks_span_and_reaches_the_caller_unchanged(llmobs_capture):
    err = ConnectionError("reset by peer")
    with pytest.raises(ConnectionError) as info:
        with llmobs.llm_call(provider="anthropic", model="claude-sonnet-4-5"):
            raise err
    assert info.value is err
    rc = llmobs_capture.assert_llm_call(error_type="ConnectionError", finish_reasons=["error"])
    assert rc.span.status.status_code == trace.StatusCode.ERROR
    points = llmobs_capture.metric_points("gen_ai.client.operation.duration", **{"error.type": "ConnectionError"})
    assert len(points) == 1


def test_streaming_ttft(llmobs_capture):
    import time

    with llmobs.llm_call(provider="openai", model="gpt-4o-mini", stream=True) as call:
        time.sleep(0.02)
        call.record_chunk(has_content=False)
        time.sleep(0.02)
        for _ in range(3):
            call.record_chunk()
            time.sleep(0.01)
    rc = llmobs_capture.llm_calls()[0]
    assert rc.stream
    duration = (rc.span.end_time - rc.span.start_time) / 1e9
    assert rc.time_to_first_chunk > 0.035  # the first chunk with content, not the keep-alive before it
    assert rc.time_to_first_chunk < duration - 0.025  # three more chunks, 10 ms apart, came after it
    assert rc.attributes["llmobs.stream.chunks"] == 4
    assert llmobs_capture.metric_points("gen_ai.client.operation.time_to_first_chunk")


def test_the_llm_span_is_current_inside_the_call(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
        inner = llmobs_capture.tracer_provider.get_tracer("httpx").start_span("POST /v1/chat/completions")
        inner.end()
    http = llmobs_capture.one(name="POST /v1/chat/completions")
    assert http.parent.span_id == call.span.get_span_context().span_id


def test_content_is_not_captured_by_default(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o", input_messages=[{"role": "user", "content": "secret"}],
                         system_instructions="be nice") as call:
        call.record_output("also secret")
    a = llmobs_capture.llm_calls()[0].attributes
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system")) for k in a)
    assert "secret" not in repr(dict(a))


@pytest.mark.llmobs(capture_content=True)
def test_content_in_semconv_shape_when_enabled(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o", input_messages=[{"role": "user", "content": "hi"}],
                         system_instructions="be nice") as call:
        call.record_output("hello!")
    a = llmobs_capture.llm_calls()[0].attributes
    assert a["gen_ai.input.messages"] == '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'
    assert a["gen_ai.output.messages"] == '[{"role":"assistant","parts":[{"type":"text","content":"hello!"}]}]'
    assert a["gen_ai.system_instructions"] == '[{"type":"text","content":"be nice"}]'


async def test_async_with(llmobs_capture):
    async with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(1, 2)
    llmobs_capture.assert_llm_call(input_tokens=1, output_tokens=2)


def test_unknown_parameter_is_ignored_not_raised(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o", temprature=1.0) as call:  # typo
        call.record_usage(1, 1)
    assert "temprature" not in repr(dict(llmobs_capture.llm_calls()[0].attributes))


def test_embeddings_operation(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="text-embedding-3-small", operation="embeddings") as call:
        call.record_usage(input_tokens=50)
    rc = llmobs_capture.llm_calls()[0]
    assert rc.span.name == "embeddings text-embedding-3-small"
    assert rc.attributes["llmobs.span.kind"] == "embedding"
    assert rc.finish_reasons is None


# --- metrics -----------------------------------------------------------------------------------------------

def test_metrics_v141_layout(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o", server_address="api.openai.com", server_port=443) as c:
        c.set_response(model="gpt-4o-2024-08-06")
        c.record_usage(100, 20)
    m = llmobs_capture.metrics()
    dur = m["gen_ai.client.operation.duration"]
    assert len(dur) == 1
    assert dict(dur[0].attributes) == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06", "server.address": "api.openai.com", "server.port": 443,
    }
    assert list(dur[0].explicit_bounds) == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                                            20.48, 40.96, 81.92]
    usage = {p.attributes["gen_ai.token.type"]: p.sum for p in m["gen_ai.client.token.usage"]}
    assert usage == {"input": 100, "output": 20}
    cost = m["llmobs.client.cost"]
    assert cost[0].sum == pytest.approx((100 * 2.5 + 20 * 10) / 1e6)
    assert "gen_ai.client.inference.duration" not in m


def test_metrics_latest_layout():
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from llmobs._model import LLMCall, Usage

    reader = InMemoryMetricReader()
    metrics = Metrics(MeterProvider(metric_readers=[reader]).get_meter("t"), "latest")
    ok = LLMCall("chat", "openai", "gpt-4o")
    ok.usage = Usage(100, 20, cache_read_input_tokens=30, reasoning_output_tokens=5)
    failed = LLMCall("chat", "openai", "gpt-4o")
    metrics.enqueue_llm(ok, 0.5, None, 0.001, None)
    metrics.enqueue_llm(failed, 0.1, None, None, "TimeoutError")
    metrics.stop()
    data = {m.name: list(m.data.data_points) for rm in reader.get_metrics_data().resource_metrics
            for sm in rm.scope_metrics for m in sm.metrics}
    assert "gen_ai.client.operation.duration" not in data  # main: not for inference
    assert len(data["gen_ai.client.inference.duration"]) == 2
    inputs = data["gen_ai.client.inference.usage.input_tokens"]
    assert sum(p.value for p in inputs) == 100  # the failed call counts 0
    assert all(p.attributes["gen_ai.token.modality"] == "unknown" for p in inputs)
    assert data["gen_ai.client.inference.usage.cache_read.input_tokens"][0].value == 30
    assert data["gen_ai.client.inference.usage.reasoning.output_tokens"][0].value == 5
    op_in = data["gen_ai.client.inference.operation.input_tokens"]
    assert sorted(p.count for p in op_in) == [1, 1]


def test_metrics_count_every_call_even_when_spans_are_not_sampled():
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from llmobs import _runtime
    from llmobs._cost import PriceBook
    from llmobs._runtime import Runtime

    reader = InMemoryMetricReader()
    rt = Runtime(TracerProvider(sampler=ALWAYS_OFF).get_tracer("t"),
                 MeterProvider(metric_readers=[reader]).get_meter("t"), PriceBook())
    old = _runtime.set_current(rt)
    try:
        for _ in range(5):
            with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
                call.record_usage(1, 1)
        rt.metrics.stop()
    finally:
        _runtime.set_current(old)
    points = [p for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
              for m in sm.metrics if m.name == "gen_ai.client.operation.duration" for p in m.data.data_points]
    assert points[0].count == 5


# --- score -------------------------------------------------------------------------------------------------

def test_score_current_span_and_explicit_ids(llmobs_capture):
    with llmobs.span("answer") as handle:
        assert llmobs.score("helpfulness", 0.8, comment="good")
    ctx = handle.span.get_span_context()
    assert llmobs.score("thumbs", True, label="up", trace_id=format(ctx.trace_id, "032x"),
                        span_id=format(ctx.span_id, "016x"))
    assert llmobs.score("relevance", 1, span=handle)
    assert llmobs.score("orphan", 1) is False  # no target: nothing recorded, nothing raised
    scores = llmobs_capture.find(kind="score")
    assert sorted(s.name for s in scores) == ["score helpfulness", "score relevance", "score thumbs"]
    for s in scores:
        assert s.parent.span_id == ctx.span_id
        assert s.context.trace_id == ctx.trace_id
        assert s.attributes["llmobs.score.target.span_id"] == format(ctx.span_id, "016x")
    thumbs = llmobs_capture.one(name="score thumbs")
    assert thumbs.attributes["gen_ai.evaluation.score.value"] == 1.0
    assert thumbs.attributes["gen_ai.evaluation.score.label"] == "up"
    helpful = llmobs_capture.one(name="score helpfulness")
    assert helpful.attributes["gen_ai.evaluation.explanation"] == "good"


def test_instrumentation_fault_never_changes_the_users_result(llmobs_capture, monkeypatch):
    from llmobs import _runtime

    class BrokenPrices:
        def cost(self, *a, **k):
            raise RuntimeError("price table corrupted")

    monkeypatch.setattr(_runtime.get(), "prices", BrokenPrices())
    with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(1, 1)
        result = "user value"
    assert result == "user value"
    (rc,) = llmobs_capture.llm_calls()  # the span still ended, with everything but its cost
    assert (rc.input_tokens, rc.output_tokens) == (1, 1)
    assert rc.cost is None and rc.cost_status is None


# --- the attribute fast path never bypasses what the SDK would enforce ------------------------------------

def _one_span_with_limits(limits, body):
    """Run ``body`` (which makes one LLM call) against a provider with these span limits; return the span."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmobs import _cost, _runtime
    from llmobs._cost import PriceBook
    from llmobs._runtime import Runtime

    exporter = InMemorySpanExporter()
    tp = TracerProvider(span_limits=limits)
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    rt = Runtime(tp.get_tracer("t"), MeterProvider().get_meter("t"), PriceBook(), capture_on_span=True)
    old = _runtime.set_current(rt)
    try:
        body()
        _cost.wait_ready(30)
    finally:
        _runtime.set_current(old)
        rt.metrics.stop()
    (span,) = exporter.get_finished_spans()
    return span


def test_attribute_length_limit_is_respected():
    from opentelemetry.sdk.trace import SpanLimits

    def body():
        with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
            call.set_response(id="chatcmpl-0123456789")
            call.record_output("a long completion text")

    attrs = _one_span_with_limits(SpanLimits(max_span_attribute_length=8), body).attributes
    assert attrs["gen_ai.response.id"] == "chatcmpl"
    assert len(attrs["gen_ai.output.messages"]) == 8


def test_values_the_fast_path_does_not_know_get_the_sdks_treatment(llmobs_capture):
    odd = {"custom.list": [1, 2], "custom.map": {"k": "v"}, "custom.none": None, "custom.obj": object()}
    with llmobs.llm_call(provider="openai", model="gpt-4o", attributes=odd) as call:
        call.set_response(id="x")
    attrs = llmobs_capture.llm_calls()[0].attributes
    reference = llmobs_capture.tracer_provider.get_tracer("ref").start_span("ref")
    reference.set_attributes(odd)
    reference.end()
    expected = dict(reference.attributes)
    assert {k: attrs.get(k) for k in odd if k in attrs} == expected
    assert attrs["custom.list"] == (1, 2)  # converted by the SDK, not stored as a list
    assert attrs["gen_ai.response.id"] == "x"


def test_attribute_count_limit_is_respected():
    from opentelemetry.sdk.trace import SpanLimits

    def body():
        with llmobs.llm_call(provider="openai", model="gpt-4o", temperature=0.1, max_tokens=5) as call:
            call.record_usage(1, 2)

    assert len(_one_span_with_limits(SpanLimits(max_span_attributes=6), body).attributes) == 6


# --- samplers -----------------------------------------------------------------------------------------------

class AttributeSampler:
    """A custom sampler that drops spans of one model: it must see the attributes at start."""

    def __init__(self):
        self.seen = []

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        from opentelemetry.sdk.trace.sampling import Decision, SamplingResult

        self.seen.append(dict(attributes or {}))
        keep = (attributes or {}).get("gen_ai.request.model") != "gpt-4o-mini"
        return SamplingResult(Decision.RECORD_AND_SAMPLE if keep else Decision.DROP, attributes)

    def get_description(self):
        return "AttributeSampler"


def test_a_custom_sampler_sees_the_sampling_attributes_at_start():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmobs import _cost, _runtime
    from llmobs._cost import PriceBook
    from llmobs._runtime import Runtime

    sampler = AttributeSampler()
    exporter = InMemorySpanExporter()
    tp = TracerProvider(sampler=sampler)
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    from opentelemetry.sdk.metrics import MeterProvider

    rt = Runtime(tp.get_tracer("t"), MeterProvider().get_meter("t"), PriceBook())
    assert rt.sampler_sees_attributes is True
    old = _runtime.set_current(rt)
    try:
        for model in ("gpt-4o", "gpt-4o-mini"):
            with llmobs.llm_call(provider="openai", model=model, server_address="api.openai.com",
                                 server_port=443) as call:
                call.record_usage(1, 1)
        _cost.wait_ready(30)
    finally:
        _runtime.set_current(old)
        rt.metrics.stop()
    assert sampler.seen[0] == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "server.address": "api.openai.com", "server.port": 443,
    }
    assert [s.name for s in exporter.get_finished_spans()] == ["chat gpt-4o"]


def test_builtin_samplers_are_known_not_to_read_attributes():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, DEFAULT_ON, ParentBased, TraceIdRatioBased

    from llmobs._recorder import sampler_sees_attributes

    for sampler in (DEFAULT_ON, ALWAYS_OFF, TraceIdRatioBased(0.5), ParentBased(TraceIdRatioBased(0.1))):
        assert sampler_sees_attributes(TracerProvider(sampler=sampler).get_tracer("t")) is False
    assert sampler_sees_attributes(TracerProvider(sampler=ParentBased(AttributeSampler())).get_tracer("t"))
    assert sampler_sees_attributes(object()) is True  # unknown tracer: give it everything


def test_default_sampler_spans_still_carry_the_start_attributes(llmobs_capture):
    with llmobs.llm_call(provider="openai", model="gpt-4o", server_address="h", server_port=1) as call:
        call.record_usage(1, 1)
    a = llmobs_capture.llm_calls()[0].attributes
    assert (a["gen_ai.operation.name"], a["gen_ai.provider.name"], a["gen_ai.request.model"],
            a["server.address"], a["server.port"]) == ("chat", "openai", "gpt-4o", "h", 1)
