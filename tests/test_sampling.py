"""Sampling: standard head sampling through OTEL_TRACES_SAMPLER, and llmobs's whole-trace tail sampler.

Metrics count every call, whatever either sampler decides.
"""

from __future__ import annotations

import random
import threading
import tracemalloc

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

import llmobs
from llmobs import ConfigError, TailSamplingProcessor
from llmobs import semconv as sc
from llmobs._config import (
    ENV_TAIL_SAMPLING,
    ENV_TAIL_SAMPLING_COST,
    ENV_TAIL_SAMPLING_LATENCY,
    ENV_TAIL_SAMPLING_MAX_AGE,
    ENV_TAIL_SAMPLING_MAX_SPANS,
    ENV_TAIL_SAMPLING_RATIO,
    TailSampling,
    load_config,
)
from llmobs._tail_sampling import ratio_hash
from tests.support.subproc import run_py

S = 1_000_000_000  # ns per second
T0 = 1_700_000_000 * S


class FakeProcessor:
    """The wrapped (exporting) processor: records what it is handed."""

    def __init__(self) -> None:
        self.ended: list = []
        self.started = 0
        self.flushes = 0
        self.shut = False
        self.lock = threading.Lock()

    def on_start(self, span, parent_context=None):
        self.started += 1

    def on_end(self, span):
        with self.lock:
            self.ended.append(span)

    def force_flush(self, timeout_millis=30000):
        self.flushes += 1
        return True

    def shutdown(self):
        self.shut = True

    def trace_ids(self) -> set[int]:
        return {s.context.trace_id for s in self.ended}


class ExplodingProcessor(FakeProcessor):
    def on_start(self, span, parent_context=None):
        raise RuntimeError("boom")

    def on_end(self, span):
        raise RuntimeError("boom")

    def force_flush(self, timeout_millis=30000):
        raise RuntimeError("boom")

    def shutdown(self):
        raise RuntimeError("boom")


def span(trace_id: int, span_id: int, parent: int | None = None, *, start: int = T0, dur_s: float = 0.1,
         attrs: dict | None = None, error: bool = False, sampled: bool = True, remote_parent: bool = False):
    """A hand-made ended span."""
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    ctx = SpanContext(trace_id, span_id, is_remote=False, trace_flags=flags)
    parent_ctx = SpanContext(trace_id, parent, is_remote=remote_parent, trace_flags=flags) if parent else None
    return ReadableSpan(
        name=f"s{span_id}", context=ctx, parent=parent_ctx, attributes=attrs or {},
        status=Status(StatusCode.ERROR if error else StatusCode.UNSET), start_time=start,
        end_time=start + int(dur_s * S),
    )


def trace_of(tid: int, n_children: int = 2, **root_kw) -> list:
    """Children first, then the local root, in end order."""
    children = [span(tid, 100 + i, 1, start=T0 + 1000) for i in range(n_children)]
    return [*children, span(tid, 1, **root_kw)]


def feed(proc: TailSamplingProcessor, spans) -> None:
    for s in spans:
        proc.on_end(s)


def tail(**kw) -> tuple[TailSamplingProcessor, FakeProcessor]:
    inner = FakeProcessor()
    kw.setdefault("ratio", 0.0)
    return TailSamplingProcessor(inner, **kw), inner


# --- decisions --------------------------------------------------------------------------------------------

def test_a_trace_with_an_error_status_anywhere_is_kept_whole():
    proc, inner = tail()
    spans = [span(1, 2, 1, error=True), span(1, 3, 1), span(1, 1)]
    feed(proc, spans[:2])
    assert inner.ended == []  # held until the root ends
    proc.on_end(spans[2])
    assert inner.ended == spans
    assert proc.stats()["kept_error"] == 1 and proc.stats()["held_spans"] == 0


def test_an_error_type_attribute_alone_keeps_the_trace():
    proc, inner = tail()
    feed(proc, [span(7, 2, 1, attrs={sc.ERROR_TYPE: "openai.RateLimitError"}), span(7, 1)])
    assert len(inner.ended) == 2


def test_a_slow_trace_is_kept_and_a_fast_one_dropped():
    proc, inner = tail(latency_s=10)
    feed(proc, trace_of(1, dur_s=10.0))
    feed(proc, trace_of(2, dur_s=9.9))
    assert inner.trace_ids() == {1}
    assert proc.stats()["kept_latency"] == 1 and proc.stats()["traces_dropped"] == 1


def test_a_costly_trace_is_kept_by_the_sum_over_its_spans():
    proc, inner = tail(cost_usd=0.05)
    cost = {sc.LLMOBS_COST_TOTAL: 0.03}
    feed(proc, [span(1, 2, 1, attrs=cost), span(1, 3, 1, attrs=cost), span(1, 1)])  # 0.06
    feed(proc, [span(2, 2, 1, attrs=cost), span(2, 3, 1), span(2, 1)])  # 0.03
    assert inner.trace_ids() == {1}
    assert proc.stats()["kept_cost"] == 1


def test_a_cheap_fast_ok_trace_is_dropped_at_ratio_0_and_kept_at_ratio_1():
    dropper, dropped_to = tail(ratio=0.0)
    keeper, kept_to = tail(ratio=1.0)
    for proc in (dropper, keeper):
        feed(proc, trace_of(42, attrs={sc.LLMOBS_COST_TOTAL: 0.001}))
    assert dropped_to.ended == [] and dropper.stats()["spans_dropped"] == 3
    assert len(kept_to.ended) == 3 and keeper.stats()["kept_ratio"] == 1


def test_ratio_is_close_deterministic_and_independent_of_the_head_ratio():
    rng = random.Random(7)
    ids = [rng.getrandbits(128) for _ in range(2000)]
    a, a_inner = tail(ratio=0.3)
    b, b_inner = tail(ratio=0.3)
    for proc in (a, b):
        for tid in ids:
            feed(proc, [span(tid, 1)])
    share = len(a_inner.ended) / len(ids)
    assert 0.26 <= share <= 0.34
    assert a_inner.trace_ids() == b_inner.trace_ids()  # every process agrees
    assert all(a.ratio_keeps(t) == (t in a_inner.trace_ids()) for t in ids)
    # Among traces a 0.5 TraceIdRatioBased head sampler kept, the tail ratio still keeps about 30%.
    head = TraceIdRatioBased(0.5)
    head_kept = [t for t in ids if t & TraceIdRatioBased.TRACE_ID_LIMIT < head.bound]
    both = sum(1 for t in head_kept if t in a_inner.trace_ids())
    assert 0.24 <= both / len(head_kept) <= 0.36


def test_ratio_hash_uses_the_whole_id():
    assert ratio_hash(1) != ratio_hash(1 | (5 << 64))
    assert ratio_hash(123) == ratio_hash(123)


# --- whole traces with real SDK spans ----------------------------------------------------------------------

def sdk(proc: TailSamplingProcessor):
    provider = TracerProvider()
    provider.add_span_processor(proc)
    return provider.get_tracer("t")


def test_nested_spans_of_one_trace_are_forwarded_together_after_the_root():
    proc, inner = tail(ratio=1.0)
    tracer = sdk(proc)
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("child"):
            with tracer.start_as_current_span("grandchild"):
                pass
        assert inner.ended == []
    assert [s.name for s in inner.ended] == ["grandchild", "child", "root"]
    assert inner.started == 3  # on_start is passed on


def test_a_child_ending_after_the_root_is_waited_for():
    # An LLM span whose end is deferred (e.g. the price table was still loading) must count in the decision.
    proc, inner = tail(ratio=0.0)
    tracer = sdk(proc)
    with tracer.start_as_current_span("root"):
        late = tracer.start_span("llm")
    assert inner.ended == [] and proc.stats()["held_spans"] == 1
    late.set_attribute(sc.LLMOBS_COST_TOTAL, 1.0)
    late.end()
    assert sorted(s.name for s in inner.ended) == ["llm", "root"]
    assert proc.stats()["kept_cost"] == 1


def test_spans_ending_after_the_decision_follow_it():
    proc, inner = tail(ratio=0.0, max_spans_per_trace=3)
    tracer = sdk(proc)
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("a", end_on_exit=True):
            pass
        for i in range(4):  # the third held span makes the trace too big: decided early, by ratio
            tracer.start_span(f"b{i}").end()
        erroring = tracer.start_span("bad")
        erroring.set_status(Status(StatusCode.ERROR))
        erroring.end()
    stats = proc.stats()
    assert stats["decided_early_trace_size"] == 1
    assert inner.ended == []  # dropped by ratio; later spans, even an error, follow the decision
    assert stats["late_spans"] == 4 and stats["held_spans"] == 0 and stats["spans_dropped"] == 7


def test_a_remote_parent_makes_a_local_root():
    proc, inner = tail(ratio=0.0)
    feed(proc, [span(9, 2, 1, remote_parent=True, dur_s=11)])
    assert inner.trace_ids() == {9}


def test_unsampled_spans_pass_straight_through():
    proc, inner = tail(ratio=0.0)
    s = span(3, 2, 1, sampled=False)
    proc.on_end(s)
    assert inner.ended == [s] and proc.stats()["held_spans"] == 0


def test_concurrent_traces_from_threads_are_kept_whole():
    proc, inner = tail(ratio=0.5)
    tracer = sdk(proc)
    errors: list = []

    def work():
        try:
            for _ in range(300):
                with tracer.start_as_current_span("root"):
                    for _ in range(3):
                        with tracer.start_as_current_span("child"):
                            pass
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = proc.stats()
    assert errors == []
    assert stats["spans_kept"] + stats["spans_dropped"] == 8 * 300 * 4
    assert stats["held_spans"] == 0
    by_trace: dict[int, int] = {}
    for s in inner.ended:
        by_trace[s.context.trace_id] = by_trace.get(s.context.trace_id, 0) + 1
    assert set(by_trace.values()) == {4}  # whole traces only
    assert 0.4 <= len(by_trace) / 2400 <= 0.6


# --- bounds -----------------------------------------------------------------------------------------------

def test_the_buffer_bound_holds_under_100k_spans_and_memory_does_not_grow():
    proc, inner = tail(ratio=0.0, max_spans=1000, latency_s=1e9)
    # Children whose roots never end: without the bound they would pile up forever.
    spans = [span(tid, 2, 1, start=T0) for tid in range(1, 2001)]
    tracemalloc.start()
    try:
        peak_held = 0
        for rnd in range(50):  # 100k span ends
            if rnd == 10:
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
            for s in spans:
                proc.on_end(s)
            peak_held = max(peak_held, proc.stats()["held_spans"])
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    stats = proc.stats()
    assert peak_held <= 1000 and stats["held_spans"] <= 1000
    assert stats["decided_early_full"] > 0
    assert grown < 200_000  # bytes: steady state, not proportional to the 80k spans fed since
    assert inner.ended == []  # nothing qualified and the ratio is 0


def test_an_early_decision_forwards_a_trace_that_already_qualifies():
    proc, inner = tail(ratio=0.0, max_spans=2)
    proc.on_end(span(1, 2, 1, error=True))  # root never ends
    proc.on_end(span(2, 2, 1))
    proc.on_end(span(3, 2, 1))  # over the bound: trace 1 (oldest) is decided now
    assert inner.trace_ids() == {1}
    assert proc.stats()["held_spans"] == 2


def test_an_orphan_trace_is_decided_by_age():
    now = [0.0]
    proc, inner = tail(ratio=1.0, max_age_s=60, latency_s=1e9, clock=lambda: now[0])
    proc.on_end(span(1, 2, 1))  # its root never ends
    now[0] = 59.0
    proc.on_end(span(2, 2, 1))
    assert inner.ended == []
    now[0] = 61.0
    proc.on_end(span(3, 2, 1))  # any span end checks the oldest trace's age
    assert inner.trace_ids() == {1}
    assert proc.stats()["decided_early_age"] == 1 and proc.stats()["held_traces"] == 2


def test_a_trace_whose_root_is_still_running_counts_as_slow():
    import time

    proc, inner = tail(ratio=0.0, latency_s=10, max_spans=1)
    started = time.time_ns() - 30 * S  # its root began 30 s ago and has not ended
    proc.on_end(span(1, 2, 1, start=started))
    proc.on_end(span(2, 2, 1, start=time.time_ns()))
    assert inner.trace_ids() == {1}
    assert proc.stats()["kept_latency"] == 1


def test_force_flush_and_shutdown_decide_what_is_held():
    proc, inner = tail(ratio=1.0, latency_s=1e9)
    proc.on_end(span(1, 2, 1))
    assert proc.force_flush(1000) is True
    assert inner.trace_ids() == {1} and inner.flushes == 1
    proc.on_end(span(2, 2, 1))
    proc.shutdown()
    assert inner.trace_ids() == {1, 2} and inner.shut
    assert proc.stats()["decided_on_flush"] == 2 and proc.stats()["held_spans"] == 0
    late = span(3, 2, 1)
    proc.on_end(late)  # after shutdown: handed on (the exporter ignores it), never held
    assert inner.ended[-1] is late and proc.stats()["held_spans"] == 0


def test_nothing_inside_ever_raises_into_the_app():
    proc = TailSamplingProcessor(ExplodingProcessor(), ratio=1.0)
    tracer = sdk(proc)
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("child"):
            pass
    proc.on_end(object())  # not a span at all
    proc.on_start(object())
    proc.on_end(span(5, 2, 1))
    assert proc.force_flush() is False
    proc.shutdown()


def test_a_broken_span_is_passed_on_rather_than_lost():
    proc, inner = tail(ratio=0.0)
    broken = object()
    proc.on_end(broken)
    assert inner.ended == [broken]


@pytest.mark.parametrize("kw", [{"ratio": 1.5}, {"ratio": -0.1}, {"max_spans": 0}, {"max_age_s": 0},
                                {"latency_s": -1}, {"cost_usd": -1}])
def test_processor_rejects_bad_arguments(kw):
    with pytest.raises(ValueError):
        TailSamplingProcessor(FakeProcessor(), **kw)


# --- configuration ----------------------------------------------------------------------------------------

def test_tail_sampling_is_off_by_default_and_defaults_are_documented_values():
    assert load_config(environ={}).tail_sampling is None
    on = load_config(environ={ENV_TAIL_SAMPLING: "true"}).tail_sampling
    assert on == TailSampling(ratio=0.1, latency_s=10.0, cost_usd=0.05, max_spans=5_000, max_age_s=60.0)


def test_tail_sampling_from_env_and_arguments_win():
    env = {ENV_TAIL_SAMPLING: "1", ENV_TAIL_SAMPLING_RATIO: "0.25", ENV_TAIL_SAMPLING_LATENCY: "3",
           ENV_TAIL_SAMPLING_COST: "0.5", ENV_TAIL_SAMPLING_MAX_SPANS: "500", ENV_TAIL_SAMPLING_MAX_AGE: "5"}
    assert load_config(environ=env).tail_sampling == TailSampling(0.25, 3.0, 0.5, 500, 5.0)
    cfg = load_config(environ=env, tail_sampling=False)
    assert cfg.tail_sampling is None
    cfg = load_config(environ=env, tail_sampling_ratio=1, tail_sampling_latency_s=0.5, tail_sampling_cost_usd=0,
                      tail_sampling_max_spans=10, tail_sampling_max_age_s=0.1)
    assert cfg.tail_sampling == TailSampling(1.0, 0.5, 0.0, 10, 0.1)


@pytest.mark.parametrize(("kwargs", "env", "setting"), [
    ({"tail_sampling": "maybe"}, {}, "tail_sampling"),
    ({}, {ENV_TAIL_SAMPLING: "maybe"}, ENV_TAIL_SAMPLING),
    ({"tail_sampling_ratio": 1.5}, {}, "tail_sampling_ratio"),
    ({}, {ENV_TAIL_SAMPLING_RATIO: "ten percent"}, ENV_TAIL_SAMPLING_RATIO),
    ({"tail_sampling_latency_s": -1}, {}, "tail_sampling_latency_s"),
    ({}, {ENV_TAIL_SAMPLING_LATENCY: "nan"}, ENV_TAIL_SAMPLING_LATENCY),
    ({"tail_sampling_cost_usd": True}, {}, "tail_sampling_cost_usd"),
    ({}, {ENV_TAIL_SAMPLING_COST: "-0.01"}, ENV_TAIL_SAMPLING_COST),
    ({"tail_sampling_max_spans": 0}, {}, "tail_sampling_max_spans"),
    ({}, {ENV_TAIL_SAMPLING_MAX_SPANS: "1.5"}, ENV_TAIL_SAMPLING_MAX_SPANS),
    ({"tail_sampling_max_age_s": 0}, {}, "tail_sampling_max_age_s"),
    ({}, {ENV_TAIL_SAMPLING_MAX_AGE: "inf"}, ENV_TAIL_SAMPLING_MAX_AGE),
])
def test_a_bad_tail_sampling_value_names_its_setting(kwargs, env, setting):
    with pytest.raises(ConfigError) as info:
        load_config(environ=env, **kwargs)  # checked even while tail sampling is off
    assert info.value.setting == setting
    assert setting in str(info.value)


def test_instrument_raises_config_error_for_a_bad_ratio():
    with pytest.raises(ConfigError, match="tail_sampling_ratio"):
        llmobs.instrument(tail_sampling=True, tail_sampling_ratio=2)
    assert not llmobs.is_instrumented()


# --- through instrument(), in fresh interpreters -----------------------------------------------------------

# Spans go to an in-memory exporter in place of OTLP; metrics to an in-memory reader.
_PRELUDE = """
    import json
    import llmobs, llmobs._setup as setup
    from opentelemetry import trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    spans = InMemorySpanExporter()
    real_exporter = setup._exporter
    setup._exporter = lambda sig, name, s: spans if sig == "traces" else real_exporter(sig, name, s)
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])

    def counts():
        out = {}
        for rm in reader.get_metrics_data().resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out[m.name] = sum(getattr(p, "count", 0) for p in m.data.data_points)
        return out
"""


@pytest.mark.parametrize(("sampler", "arg", "exported"), [
    ("traceidratio", "0", 0),
    ("parentbased_traceidratio", "0", 0),
    ("always_off", None, 0),
    ("parentbased_traceidratio", "1", 4),
])
def test_head_sampling_from_env_applies_and_metrics_count_every_call(sampler, arg, exported):
    env = {"OTEL_TRACES_SAMPLER": sampler}
    if arg is not None:
        env["OTEL_TRACES_SAMPLER_ARG"] = arg
    out = run_py(_PRELUDE + """
    llmobs.instrument(exporter="console", meter_provider=mp)
    for _ in range(4):
        with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
            call.record_usage(100, 20)
    llmobs.flush(timeout=10)
    print(json.dumps({"spans": len(spans.get_finished_spans()), "metrics": counts(),
                      "sampler": trace.get_tracer_provider().sampler.get_description()}))
    """, env=env)
    assert out["spans"] == exported
    assert out["metrics"]["gen_ai.client.operation.duration"] == 4
    assert out["metrics"]["gen_ai.client.token.usage"] == 8  # input and output, per call
    assert out["metrics"]["llmobs.client.cost"] == 4
    assert ("TraceIdRatioBased" in out["sampler"]) == ("ratio" in sampler)


def test_an_apps_own_provider_is_used_as_is():
    out = run_py(_PRELUDE + """
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    llmobs.instrument(tracer_provider=tp, meter_provider=mp, tail_sampling=True, tail_sampling_ratio=0)
    with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
        call.record_usage(1, 1)
    llmobs.flush(timeout=10)
    kinds = [type(p).__name__ for p in tp._active_span_processor._span_processors]
    print(json.dumps({"spans": len(spans.get_finished_spans()), "kinds": kinds}))
    """)
    # No tail sampler was slipped in front of the app's exporter: ratio 0 did not drop the span.
    assert out["spans"] == 1
    assert "TailSamplingProcessor" not in out["kinds"]


def test_tail_sampling_end_to_end_with_the_openai_sdk():
    out = run_py(_PRELUDE + """
    import openai
    from tests.support import openai_wire as w
    llmobs.instrument(exporter="console", meter_provider=mp, tail_sampling=True, tail_sampling_ratio=0)
    server = w.MockOpenAI()
    client = w.client(server)
    server.add_error(429, "slow down", "rate_limit_error", "rate_limit_exceeded")

    @llmobs.workflow
    def ask(q):
        return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}])

    failed = None
    try:
        ask("one")
    except openai.RateLimitError as exc:
        failed = type(exc).__name__
    ask("two")  # ok, fast and cheap
    llmobs.flush(timeout=10)
    got = spans.get_finished_spans()
    tp = trace.get_tracer_provider()
    stats = [p for p in tp._active_span_processor._span_processors
             if isinstance(p, llmobs.TailSamplingProcessor)][0].stats()
    print(json.dumps({
        "failed": failed, "names": sorted(s.name for s in got), "traces": len({s.context.trace_id for s in got}),
        "errors": [s.attributes.get("error.type") for s in got if s.name.startswith("chat")],
        "metrics": counts(), "stats": stats,
    }))
    """)
    assert out["failed"] == "RateLimitError"
    assert out["names"] == ["chat gpt-4o-mini", "invoke_workflow ask"] and out["traces"] == 1
    assert out["errors"] == ["openai.RateLimitError"]
    assert out["metrics"]["gen_ai.client.operation.duration"] == 2  # both calls counted
    assert out["stats"]["traces_kept"] == 1 and out["stats"]["traces_dropped"] == 1
    assert out["stats"]["kept_error"] == 1 and out["stats"]["held_spans"] == 0
