"""Coexistence with other instrumentations of the same library (OpenLLMetry, OpenInference): one LLM span per
call whichever instrumented first, and llmobs never removes their patches.

The other instrumentations are installed in the second test environment (tests/requirements-openai2.txt);
in the main one these tests skip (``make test`` runs both)."""

from __future__ import annotations

import logging

import pytest

import llmobs
from llmobs.instrumentation import _coexist
from tests.support import openai_wire as w

openllmetry = pytest.importorskip(
    "opentelemetry.instrumentation.openai",
    reason="OpenLLMetry's openai instrumentation is installed in the openai-2 environment (make test runs it)")
openinference = pytest.importorskip(
    "openinference.instrumentation.openai",
    reason="OpenInference's openai instrumentation is installed in the openai-2 environment (make test runs it)")

MESSAGES = [{"role": "user", "content": "hi"}]


def llm_spans(cap):
    out = []
    for span in cap.spans:
        a = span.attributes or {}
        if (a.get("gen_ai.operation.name") in ("chat", "embeddings") or "llm.request.type" in a
                or a.get("openinference.span.kind") in ("LLM", "EMBEDDING")):
            out.append(span)
    return out


@pytest.fixture
def other(llmobs_capture, request):
    """Another openai instrumentation, on the capture fixture's tracer provider."""
    cls = request.param
    instrumentor = cls()
    yield instrumentor, llmobs_capture
    try:
        instrumentor.uninstrument()
    except Exception:
        pass
    llmobs.uninstrument()
    _remove_leftover_wrappers()


def _remove_leftover_wrappers():
    """Some instrumentors' uninstrument() misses methods on the newest openai (their module paths moved):
    restore what is left by hand, so the next test starts from the SDK as shipped."""
    import inspect
    import sys

    for name, module in list(sys.modules.items()):
        if not name.startswith("openai.") or module is None:
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for attr, value in list(vars(cls).items()):
                if _coexist.foreign_wrapper(value) is not None:
                    setattr(cls, attr, value.__wrapped__)


BOTH = [openllmetry.OpenAIInstrumentor, openinference.OpenAIInstrumentor]
IDS = ["openllmetry", "openinference"]


def call(server, stream=False, async_=False):
    client = w.client(server, async_=async_)
    if async_:
        import asyncio

        async def go():
            result = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=stream)
            if stream:
                return [c async for c in result]
            return result

        return asyncio.run(go())
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=stream)
    return list(result) if stream else result


@pytest.mark.parametrize("other", BOTH, ids=IDS, indirect=True)
@pytest.mark.parametrize("order", ["other_first", "llmobs_first"])
def test_one_llm_span_per_call_whichever_instruments_first(other, order, caplog):
    instrumentor, cap = other
    server = w.MockOpenAI()
    with caplog.at_level(logging.WARNING, logger="llmobs"):
        if order == "other_first":
            instrumentor.instrument(tracer_provider=cap.tracer_provider)
            llmobs.instrument(integrations=["openai"])
        else:
            llmobs.instrument(integrations=["openai"])
            instrumentor.instrument(tracer_provider=cap.tracer_provider)
        result = call(server)
        chunks = call(server, stream=True)
        call(server, async_=True)
    assert result.choices[0].message.content and chunks
    spans = llm_spans(cap)
    assert len(spans) == len(server.requests) == 3, [(s.name, s.instrumentation_scope.name) for s in spans]
    # the other instrumentation kept its spans, and llmobs recorded none of these calls
    assert all(s.instrumentation_scope.name != "llmobs" for s in cap.spans), [s.name for s in cap.spans]
    if order == "other_first":
        assert "already instrumented by" in caplog.text


@pytest.mark.parametrize("other", BOTH, ids=IDS, indirect=True)
def test_llmobs_records_again_once_the_other_is_removed(other):
    instrumentor, cap = other
    instrumentor.instrument(tracer_provider=cap.tracer_provider)
    instrumentor.uninstrument()
    _remove_leftover_wrappers()
    llmobs.instrument(integrations=["openai"])
    server = w.MockOpenAI()
    call(server)
    (span,) = llm_spans(cap)
    assert span.instrumentation_scope.name == "llmobs"
    assert span.attributes["llmobs.cost.status"] == "priced"


def test_without_other_instrumentations_the_check_costs_one_flag(llmobs_capture):
    _coexist.active = False
    llmobs.instrument(integrations=["openai"])
    try:
        assert _coexist.active is True  # this module imported both competitors: the call-time check is on
        _coexist.active = False  # as in a process without them: no call-time check at all
        call(w.MockOpenAI())
        assert len(llmobs_capture.llm_calls()) == 1
    finally:
        _coexist.active = True
        llmobs.uninstrument()


def test_foreign_wrapper_detection():
    import wrapt

    def own(wrapped, instance, args, kwargs):
        return wrapped(*args, **kwargs)

    class Thing:
        def method(self):
            return 1

    proxy = wrapt.FunctionWrapper(Thing.method, own)
    assert _coexist.foreign_wrapper(proxy) is None  # an app's own wrapper (this test module) is not a tracer
    own.__module__ = "opentelemetry.instrumentation.somelib.wrappers"
    assert _coexist.foreign_wrapper(wrapt.FunctionWrapper(Thing.method, own)) == own.__module__
    assert _coexist.foreign_wrapper(Thing.method) is None


@pytest.mark.parametrize("other", BOTH, ids=IDS, indirect=True)
def test_a_langchain_model_run_recorded_by_the_other_is_not_recorded_again(other):
    from langchain_openai import ChatOpenAI

    instrumentor, cap = other
    llmobs.instrument(integrations=["openai", "langchain"])
    instrumentor.instrument(tracer_provider=cap.tracer_provider)  # after llmobs: its wrapper runs first
    server = w.MockOpenAI()
    transport = w.HTTP.MockTransport(server.handler)
    model = ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", base_url=w.DEFAULT_BASE_URL, max_retries=0,
                       http_client=w.HTTP.Client(transport=transport))
    model.invoke("hi")
    spans = llm_spans(cap)
    assert len(spans) == len(server.requests) == 1, [(s.name, s.instrumentation_scope.name) for s in spans]
    assert spans[0].instrumentation_scope.name != "llmobs"
