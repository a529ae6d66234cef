"""Privacy and size limits: capture toggles, the redaction hook, built-in redactors, secrets, media, limits."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

import llmobs
from llmobs import _runtime
from llmobs import redactors as r
from llmobs import semconv as sc
from llmobs._content import REDACTION_FAILED, TRUNCATION_MARKER, blob_descriptor, capture

CONTENT_FIELDS = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS,
                  sc.GEN_AI_TOOL_DEFINITIONS)


def _llm(text: str = "hello", output: str = "world") -> None:
    with llmobs.llm_call(provider="openai", model="gpt-4o", input_messages=text,
                         system_instructions="be brief about " + text) as call:
        call.call.tool_definitions = [{"type": "function", "name": "lookup", "description": "find " + text}]
        call.record_output(output)
        call.record_usage(3, 1)


def _attrs(cap: Any) -> dict[str, Any]:
    (call,) = cap.llm_calls()
    return dict(call.attributes)


def _all_values(cap: Any) -> list[str]:
    return [str(v) for span in cap.spans for v in span.attributes.values()]


# --- 1. the programmatic toggle and the context override -------------------------------------------------

def test_set_capture_content_changes_the_running_mode(llmobs_capture):
    _llm()
    assert sc.GEN_AI_INPUT_MESSAGES not in _attrs(llmobs_capture)
    llmobs_capture.reset()
    llmobs.set_capture_content("span_only")
    _llm("on now")
    assert "on now" in _attrs(llmobs_capture)[sc.GEN_AI_INPUT_MESSAGES]
    llmobs_capture.reset()
    llmobs.set_capture_content(False)
    _llm("off again")
    assert sc.GEN_AI_INPUT_MESSAGES not in _attrs(llmobs_capture)


@pytest.mark.parametrize("bad", ["everything", "SPAN", 3, None])
def test_set_capture_content_rejects_a_bad_value_naming_the_setting(llmobs_capture, bad):
    with pytest.raises(llmobs.ConfigError, match="capture_content"):
        llmobs.set_capture_content(bad)
    if bad is None:
        assert llmobs.capture_content(None).mode is None  # the context form: None means "inherit"
    else:
        with pytest.raises(llmobs.ConfigError, match="capture_content"):
            llmobs.capture_content(bad)
    assert _runtime.get().capture is False


@pytest.mark.llmobs(capture_content=True)
def test_context_override_off_inside_an_on_process(llmobs_capture):
    with llmobs.capture_content(False):
        _llm("private request")
        with llmobs.capture_content(None):  # None: the process-wide mode again
            _llm("inherited")
    _llm("after the block")
    first, inherited, after = llmobs_capture.llm_calls()
    assert not any(k in first.attributes for k in CONTENT_FIELDS)
    assert "inherited" in inherited.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "after the block" in after.attributes[sc.GEN_AI_INPUT_MESSAGES]


def test_context_override_on_inside_an_off_process(llmobs_capture):
    @llmobs.workflow
    def flow(question):
        return question.upper()

    with llmobs.capture_content("SPAN_ONLY"):
        flow("debug me")
        _llm("debug this one")
    flow("not me")
    _llm("nor me")
    on, off = llmobs_capture.find(kind="workflow")
    assert on.attributes[sc.LLMOBS_INPUT] == '{"question":"debug me"}'
    assert on.attributes[sc.LLMOBS_OUTPUT] == "DEBUG ME"
    assert sc.LLMOBS_INPUT not in off.attributes and sc.LLMOBS_OUTPUT not in off.attributes
    first, second = llmobs_capture.llm_calls()
    assert "debug this one" in first.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert not any(k in second.attributes for k in CONTENT_FIELDS)


def test_context_override_is_scoped_to_its_context(llmobs_capture):
    import threading

    seen = []
    with llmobs.capture_content(True):
        thread = threading.Thread(target=lambda: seen.append(_runtime.get().capture))  # a new thread: no override
        thread.start()
        thread.join()
        seen.append(_runtime.get().capture)
    seen.append(_runtime.get().capture)
    assert seen == [False, True, False]


async def _async_override() -> list[bool]:
    async with llmobs.capture_content("SPAN_AND_EVENT") as scope:
        assert scope.mode == sc.CAPTURE_SPAN_AND_EVENT
        return [_runtime.get().capture, _runtime.get().capture_on_span, _runtime.get().capture_in_event]


def test_context_override_async(llmobs_capture):
    import asyncio

    assert asyncio.run(_async_override()) == [True, True, True]
    assert _runtime.get().capture is False


# --- 2. the redaction hook ------------------------------------------------------------------------------

def test_hook_sees_every_field_kind(llmobs_capture):
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    class Retriever(BaseRetriever):
        def _get_relevant_documents(self, query, *, run_manager):
            return [Document(page_content="doc about " + query, id="d1")]

    seen: dict[str, list[str]] = {}

    def hook(text, field):
        seen.setdefault(field, []).append(text)
        return text.replace("SECRET", "[x]")

    llmobs.instrument(capture_content="SPAN_ONLY", redact=hook, integrations=["langchain"])
    try:
        @llmobs.workflow
        def flow(q):
            return "answer SECRET"

        @llmobs.tool
        def lookup(q):
            return {"found": "SECRET"}

        flow("SECRET question")
        lookup("SECRET arg")
        _llm("SECRET in", "SECRET out")
        with llmobs.span("r", kind="retrieval") as s:
            s.set_content(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, "SECRET query")
        Retriever().invoke("SECRET lc")
    finally:
        llmobs.uninstrument()
    for field in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS,
                  sc.GEN_AI_TOOL_DEFINITIONS, sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT,
                  sc.LLMOBS_INPUT, sc.LLMOBS_OUTPUT, sc.GEN_AI_RETRIEVAL_QUERY_TEXT, sc.GEN_AI_RETRIEVAL_DOCUMENTS):
        assert any("SECRET" in t for t in seen.get(field, [])), field
    values = _all_values(llmobs_capture)
    assert not [v for v in values if "SECRET" in v]
    assert sum("[x]" in v for v in values) >= 10
    lc = llmobs_capture.one(name="retrieval Retriever")
    assert json.loads(lc.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS])[0]["content"] == "doc about [x] lc"


def test_hook_reaches_llama_index_retrieval(llmobs_capture):
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.llms import MockLLM

    saved = (Settings._llm, Settings._embed_model)
    Settings.llm = MockLLM(max_tokens=4)
    Settings.embed_model = MockEmbedding(embed_dim=8)
    llmobs.instrument(capture_content=True, redact="emails", integrations=["llama_index"])
    try:
        index = VectorStoreIndex.from_documents([Document(text="write to ann@example.com for help")])
        index.as_retriever().retrieve("is bob@example.org there?")
    finally:
        llmobs.uninstrument()
        Settings._llm, Settings._embed_model = saved
    (span,) = llmobs_capture.find(kind="retrieval")
    assert span.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "is [email] there?"
    assert "write to [email] for help" in span.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS]
    assert "example" not in " ".join(_all_values(llmobs_capture))


@pytest.mark.parametrize("failure", ["raises", "returns None", "returns bytes"])
@pytest.mark.llmobs(capture_content=True)
def test_a_failing_hook_drops_the_field_and_the_app_is_unchanged(llmobs_capture, failure, caplog):
    def hook(text, field):
        if "card" in text:
            if failure == "raises":
                raise RuntimeError("redactor bug")
            return None if failure == "returns None" else text.encode()
        return text

    llmobs.set_redactor(hook)

    @llmobs.task
    def work(x):
        return {"result": x * 2}

    assert work(21) == {"result": 42}
    _llm("my card is 4111 1111 1111 1111", "fine")
    attrs = _attrs(llmobs_capture)
    assert attrs[sc.GEN_AI_INPUT_MESSAGES] == REDACTION_FAILED  # dropped, never sent unredacted
    assert "4111" not in " ".join(_all_values(llmobs_capture))
    assert "fine" in attrs[sc.GEN_AI_OUTPUT_MESSAGES]  # other fields are unaffected
    assert llmobs_capture.one(kind="task").attributes[sc.LLMOBS_OUTPUT] == '{"result":42}'


def test_a_failing_hook_is_reported(llmobs_capture, monkeypatch):
    from llmobs import _safety

    reported = []
    monkeypatch.setattr(_safety, "report", lambda where, exc: reported.append((where, exc)))
    assert capture("x", 100, "llmobs.input", lambda t, f: 1 / 0) == REDACTION_FAILED
    assert reported and reported[0][0] == "redact llmobs.input"


def test_events_get_the_same_redacted_content():
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmobs._cost import PriceBook
    from llmobs._runtime import Runtime

    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    lp = LoggerProvider()
    lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
    calls = []

    def hook(text, field):
        calls.append(field)
        return r.emails(text, field)

    rt = Runtime(tp.get_tracer("t"), MeterProvider().get_meter("t"), PriceBook(), capture_in_event=True,
                 capture_on_span=True, event_logger=lp.get_logger("llmobs"), redactor=hook)
    old = _runtime.set_current(rt)
    try:
        _llm("mail joe@example.com", "ok")
        with llmobs.capture_content("EVENT_ONLY"):
            _llm("mail amy@example.com", "ok")
    finally:
        _runtime.set_current(old)
        rt.metrics.stop()
    both, event_only = spans.get_finished_spans()
    first, second = (rec.log_record for rec in logs.get_finished_logs())
    assert "[email]" in both.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert first.attributes[sc.GEN_AI_INPUT_MESSAGES] == both.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert sc.GEN_AI_INPUT_MESSAGES not in event_only.attributes
    assert "[email]" in second.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "example.com" not in json.dumps([dict(x.attributes) for x in (first, second)])
    assert calls.count(sc.GEN_AI_INPUT_MESSAGES) == 2 * 3  # role, type, text: once per call (span and event share)


def test_hook_sees_whole_strings_before_truncation():
    key = "sk-proj-" + "a1" * 20
    text = capture(["x" * 30 + " " + key], 40, "llmobs.input", r.api_keys)
    assert text is not None and "sk-proj" not in text
    assert text.startswith('["' + "x" * 30 + " [api_ke…[llmobs: truncated")


def test_hook_walks_objects_keys_unchanged():
    import dataclasses

    @dataclasses.dataclass
    class Req:
        email: str
        count: int

    seen = []
    out = capture({"req": Req("a@b.io", 3), "email@key.com": ("t@u.io",)}, 1000, "llmobs.input",
                  lambda t, f: seen.append(t) or r.emails(t, f))
    assert json.loads(out) == {"req": {"email": "[email]", "count": 3}, "email@key.com": ["[email]"]}
    assert "email@key.com" not in seen  # keys are not redacted (documented)


def test_instrument_redact_from_env_and_bad_values(llmobs_capture, monkeypatch):
    monkeypatch.setenv("LLMOBS_REDACT", "emails, card_numbers")
    llmobs.instrument(capture_content=True)
    try:
        _llm("x@y.com pays with 4111-1111-1111-1111 using sk-proj-" + "z9" * 15)
    finally:
        llmobs.uninstrument()
    text = _attrs(llmobs_capture)[sc.GEN_AI_INPUT_MESSAGES]
    assert "[email]" in text and "[card]" in text and "sk-proj-z9" in text  # api_keys not selected
    monkeypatch.setenv("LLMOBS_REDACT", "emails,phones")
    with pytest.raises(llmobs.ConfigError, match="LLMOBS_REDACT"):
        llmobs.instrument()
    with pytest.raises(llmobs.ConfigError, match="redact"):
        llmobs.set_redactor(42)
    with pytest.raises(llmobs.ConfigError, match="redact"):
        llmobs.set_redactor("nope")


# --- 3. built-in redactors ------------------------------------------------------------------------------

@pytest.mark.parametrize(("fn", "text", "expected"), [
    (r.emails, "write to jane.doe+news@mail.example.co.uk today", "write to [email] today"),
    (r.emails, "a@b.io, c_d@e-f.org", "[email], [email]"),
    (r.emails, "no address here @ all, user@localhost, 3@4", None),
    (r.api_keys, "key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t", "key [api_key]"),
    (r.api_keys, "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz_0123", "[api_key]"),
    (r.api_keys, "AIzaSyD-1234567890abcdefghijklmnopqrstu", "[api_key]"),
    (r.api_keys, "token ghp_0123456789abcdefghijABCDEFGHIJ012345", "token [api_key]"),
    (r.api_keys, "xai-AbCdEfGhIjKlMnOpQrStUv123", "[api_key]"),
    (r.api_keys, "AKIAIOSFODNN7EXAMPLE in config", "[api_key] in config"),
    (r.api_keys, "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig", "Authorization: Bearer [api_key]"),
    (r.api_keys, "api_key=9f86d081884c7d659a2feaa0c55ad015", "api_key=[api_key]"),
    (r.api_keys, '{"access_token": "dGhpcyBpcyBhIHNlY3JldDEyMw=="}', '{"access_token": "[api_key]"}'),
    (r.api_keys, "the key: use scikit-learn; sk-learn is not a key; task-based approach", None),
    (r.api_keys, "token=not-a-secret-just-some-words and key=short1", None),
    (r.api_keys, "AKIA is an acronym; AIza alone too; bearer of good news", None),
    (r.card_numbers, "card 4111 1111 1111 1111 exp 12/29", "card [card] exp 12/29"),
    (r.card_numbers, "amex 378282246310005, visa 4012-8888-8888-1881", "amex [card], visa [card]"),
    (r.card_numbers, "4111111111111112 fails Luhn", None),
    (r.card_numbers, "order 1234567890123456 and phone +1 555 123 4567 and 2025-01-31", None),
    (r.card_numbers, "short 411111111111 (12 digits)", None),
])
def test_builtin_redactors(fn, text, expected):
    assert fn(text, "gen_ai.input.messages") == (text if expected is None else expected)


def test_chain_applies_in_order_and_rejects_non_callables():
    both = r.chain(r.emails, r.card_numbers, lambda t, f: t + f"|{f}")
    assert both("a@b.io 4111111111111111", "fld") == "[email] [card]|fld"
    with pytest.raises(TypeError):
        r.chain(r.emails, "api_keys")
    assert r.from_names([]) is None and r.from_names(["emails"]) is r.emails


# --- 4. secrets are never recorded --------------------------------------------------------------------------

OPENAI_KEY = "sk-proj-PrivacyTestKey0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-PrivacyTestKey0123456789"
GOOGLE_KEY = "AIzaSyPrivacyTestKey0123456789abcdefgh"


def _with_events(cap: Any) -> InMemoryLogRecordExporter:
    """Turn on events too (the test providers have no logs pipeline of their own)."""
    logs = InMemoryLogRecordExporter()
    lp = LoggerProvider()
    lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
    rt = _runtime.get()
    rt.set_capture_mode(sc.CAPTURE_SPAN_AND_EVENT)
    rt.event_logger = lp.get_logger("llmobs")
    return logs


def _assert_no_secret(cap: Any, logs: InMemoryLogRecordExporter, secrets: list[str]) -> None:
    assert cap.spans
    values = _all_values(cap)
    for span in cap.spans:
        values.extend(str(e.attributes) for e in span.events)
        values.append(span.name)
    records = logs.get_finished_logs()
    assert records
    values.extend(json.dumps(dict(rec.log_record.attributes), default=str) for rec in records)
    blob = "\n".join(values)
    assert any("gen_ai.input" in v or "hello" in v for v in values)  # content capture was on
    for secret in secrets:
        assert secret not in blob
    for header in ("authorization", "x-api-key", "x-goog-api-key"):
        assert f"{header}:" not in blob.lower() and f'"{header}"' not in blob.lower()


def test_openai_never_records_the_api_key_or_auth_header(llmobs_capture):
    from tests.support import openai_wire as ow

    server = ow.MockOpenAI()
    llmobs.instrument(integrations=["openai"], capture_content="SPAN_ONLY")
    try:
        logs = _with_events(llmobs_capture)
        client = ow.client(server, api_key=OPENAI_KEY)
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
        for _ in client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}],
                                                stream=True):
            pass
        client.responses.create(model="gpt-4o", input="hello")
        server.add_error(401, "Incorrect API key provided: " + OPENAI_KEY[:8])
        with pytest.raises(Exception):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
    finally:
        llmobs.uninstrument()
    assert server.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"  # the key was really used
    _assert_no_secret(llmobs_capture, logs, [OPENAI_KEY, f"Bearer {OPENAI_KEY}"])


def test_anthropic_never_records_the_api_key_or_auth_header(llmobs_capture):
    from tests.support import anthropic_wire as aw

    server = aw.MockAnthropic()
    llmobs.instrument(integrations=["anthropic"], capture_content="SPAN_ONLY")
    try:
        logs = _with_events(llmobs_capture)
        client = aw.client(server, api_key=ANTHROPIC_KEY)
        client.messages.create(model="claude-sonnet-4-5", max_tokens=10,
                               messages=[{"role": "user", "content": "hello"}])
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=10,
                                    messages=[{"role": "user", "content": "hello"}]) as stream:
            stream.get_final_message()
        server.add_error(401)
        with pytest.raises(Exception):
            client.messages.create(model="claude-sonnet-4-5", max_tokens=10,
                                   messages=[{"role": "user", "content": "hello"}])
        bearer = aw.client(server, api_key=None, auth_token=ANTHROPIC_KEY + "-tok")
        bearer.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": "hello"}])
    finally:
        llmobs.uninstrument()
    first = server.requests[0].headers  # x-api-key, or "Authorization: Bearer" in newer SDKs
    assert ANTHROPIC_KEY in (first.get("x-api-key") or first.get("authorization") or "")
    assert server.requests[-1].headers["authorization"] == f"Bearer {ANTHROPIC_KEY}-tok"
    _assert_no_secret(llmobs_capture, logs, [ANTHROPIC_KEY])


def test_google_genai_never_records_the_api_key_or_auth_header(llmobs_capture):
    from tests.support import genai_wire as gw

    server = gw.MockGemini()
    llmobs.instrument(integrations=["google_genai"], capture_content="SPAN_ONLY")
    try:
        logs = _with_events(llmobs_capture)
        client = gw.client(server, api_key=GOOGLE_KEY)
        client.models.generate_content(model="gemini-2.5-flash", contents="hello")
        for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hello"):
            pass
        vertex = gw.client(server, vertexai=True)
        vertex.models.generate_content(model="gemini-2.5-flash", contents="hello")
    finally:
        llmobs.uninstrument()
    assert server.requests[0].headers["x-goog-api-key"] == GOOGLE_KEY
    token = server.requests[-1].headers["authorization"]
    assert token.startswith("Bearer ")
    _assert_no_secret(llmobs_capture, logs, [GOOGLE_KEY, token, token.split()[1]])


# --- 5. media become descriptors ---------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PNG_B64 = base64.b64encode(PNG).decode()
WAV = b"RIFF" + bytes(1000)


def _descriptor(modality: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"type": "blob", "modality": modality, "mime_type": mime, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def _parts(cap: Any) -> list[dict[str, Any]]:
    return [p for m in json.loads(_attrs(cap)[sc.GEN_AI_INPUT_MESSAGES]) for p in m["parts"]]


def test_openai_images_and_audio_become_descriptors(llmobs_capture):
    from tests.support import openai_wire as ow

    server = ow.MockOpenAI()
    llmobs.instrument(integrations=["openai"], capture_content="SPAN_ONLY")
    try:
        ow.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
            {"type": "input_audio", "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]}])
    finally:
        llmobs.uninstrument()
    assert _parts(llmobs_capture) == [
        _descriptor("image", "image/png", PNG), _descriptor("audio", "audio/wav", WAV),
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
    ]
    assert PNG_B64[:40] not in _attrs(llmobs_capture)[sc.GEN_AI_INPUT_MESSAGES]


def test_anthropic_images_and_documents_become_descriptors(llmobs_capture):
    from tests.support import anthropic_wire as aw

    pdf = b"%PDF-1.7 " + bytes(500)
    server = aw.MockAnthropic()
    llmobs.instrument(integrations=["anthropic"], capture_content="SPAN_ONLY")
    try:
        aw.client(server).messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=[
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                "data": base64.b64encode(pdf).decode()}},
            ]}])
    finally:
        llmobs.uninstrument()
    assert _parts(llmobs_capture) == [_descriptor("image", "image/png", PNG),
                                      _descriptor("document", "application/pdf", pdf)]


def test_google_genai_inline_data_becomes_a_descriptor(llmobs_capture):
    from google.genai import types

    from tests.support import genai_wire as gw

    server = gw.MockGemini()
    llmobs.instrument(integrations=["google_genai"], capture_content="SPAN_ONLY")
    try:
        gw.client(server).models.generate_content(model="gemini-2.5-flash", contents=[
            types.Part.from_bytes(data=PNG, mime_type="image/png"),
            {"inline_data": {"data": base64.b64encode(WAV).decode(), "mime_type": "audio/wav"}},
        ])
    finally:
        llmobs.uninstrument()
    assert _parts(llmobs_capture) == [_descriptor("image", "image/png", PNG), _descriptor("audio", "audio/wav", WAV)]


def test_langchain_media_blocks_become_descriptors():
    from langchain_core.messages import HumanMessage

    from llmobs.instrumentation.langchain import _message

    parts = _message(HumanMessage(content=[
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
        {"type": "image", "url": "https://example.com/a.png"},
    ]))["parts"]
    assert parts == [_descriptor("image", "image/png", PNG), _descriptor("image", "image/png", PNG),
                     {"type": "uri", "modality": "image", "uri": "https://example.com/a.png"}]


@pytest.mark.llmobs(capture_content=True)
def test_hand_built_blob_parts_and_bytes_become_descriptors(llmobs_capture):
    @llmobs.tool
    def upload(data: bytes):
        return "ok"

    upload(PNG)
    with llmobs.llm_call(provider="openai", model="gpt-4o", input_messages=[
            {"role": "user", "parts": [{"type": "blob", "modality": "image", "mime_type": "image/png",
                                        "content": PNG_B64}]}]):
        pass
    assert _parts(llmobs_capture) == [_descriptor("image", "image/png", PNG)]
    args = json.loads(llmobs_capture.one(kind="tool").attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    assert args == {"data": {"type": "blob", "size": len(PNG), "sha256": hashlib.sha256(PNG).hexdigest()}}


def test_blob_descriptor_edge_cases():
    assert blob_descriptor("image", None, base64.urlsafe_b64encode(b"\xfb\xff" * 9).decode().rstrip("=")) == {
        "type": "blob", "modality": "image", "size": 18, "sha256": hashlib.sha256(b"\xfb\xff" * 9).hexdigest()}
    not_b64 = blob_descriptor("audio", "audio/wav", "not base64!")
    assert not_b64["size"] == len("not base64!") and "content" not in not_b64


def test_no_media_work_when_capture_is_off(llmobs_capture, monkeypatch):
    from llmobs import _content
    from tests.support import openai_wire as ow

    monkeypatch.setattr(_content, "blob_descriptor", lambda *a: pytest.fail("descriptor built with capture off"))
    server = ow.MockOpenAI()
    llmobs.instrument(integrations=["openai"])
    try:
        ow.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}]}])
    finally:
        llmobs.uninstrument()
    assert sc.GEN_AI_INPUT_MESSAGES not in _attrs(llmobs_capture)


# --- 6. size limits ------------------------------------------------------------------------------------

HUGE = "y" * (5 * 1024 * 1024)


@pytest.mark.llmobs(capture_content=True, max_content_length=1000)
def test_a_huge_message_is_bounded_on_every_content_attribute_and_the_span_is_kept(llmobs_capture):
    @llmobs.workflow
    def flow(text):
        return text

    @llmobs.tool
    def tool(text):
        return text

    flow(HUGE)
    tool(HUGE)
    _llm(HUGE, HUGE)
    with llmobs.span("r", kind="retrieval") as s:
        s.set_content(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, HUGE)
        s.set_content(sc.GEN_AI_RETRIEVAL_DOCUMENTS, [{"content": HUGE}])
    assert len(llmobs_capture.spans) == 4
    checked = 0
    for span in llmobs_capture.spans:
        for key, value in span.attributes.items():
            if key in (*CONTENT_FIELDS, sc.LLMOBS_INPUT, sc.LLMOBS_OUTPUT, sc.GEN_AI_TOOL_CALL_ARGUMENTS,
                       sc.GEN_AI_TOOL_CALL_RESULT, sc.GEN_AI_RETRIEVAL_QUERY_TEXT, sc.GEN_AI_RETRIEVAL_DOCUMENTS):
                checked += 1
                head, _, tail = value.partition("…[llmobs: truncated ")
                assert len(head) == 1000, key
                assert tail.endswith(" chars]") and int(tail[:-7]) > 5_000_000, key
    assert checked == 10


def test_sdk_attribute_limits_never_drop_a_big_span():
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmobs._cost import PriceBook
    from llmobs._runtime import Runtime

    spans = InMemorySpanExporter()
    tp = TracerProvider(span_limits=SpanLimits(max_span_attribute_length=64, max_span_attributes=8))
    tp.add_span_processor(SimpleSpanProcessor(spans))
    rt = Runtime(tp.get_tracer("t"), MeterProvider().get_meter("t"), PriceBook(), capture_on_span=True,
                 max_content_length=10_000_000)
    old = _runtime.set_current(rt)
    try:
        _llm(HUGE, HUGE)
    finally:
        _runtime.set_current(old)
        rt.metrics.stop()
    (span,) = spans.get_finished_spans()
    assert span.name == "chat gpt-4o"
    assert len(span.attributes) <= 8
    assert all(len(v) <= 64 for v in span.attributes.values() if isinstance(v, str))


def test_truncation_marker_counts_the_cut():
    out = capture("z" * 150, 100)
    assert out == "z" * 100 + TRUNCATION_MARKER.format(n=50)


# --- performance: nothing runs with capture off -----------------------------------------------------------

def test_no_hook_call_and_no_serialisation_when_capture_is_off(llmobs_capture, monkeypatch):
    from llmobs import _content, _manual, _recorder

    calls = []
    llmobs.set_redactor(lambda t, f: calls.append(f) or t)
    for module in (_content, _manual, _recorder):
        monkeypatch.setattr(module, "capture", lambda *a, **k: pytest.fail("serialised with capture off"))

    @llmobs.tool
    def tool(x):
        return x

    tool("a@b.io")
    _llm("a@b.io")
    with llmobs.capture_content(False):
        llmobs.set_capture_content(True)  # on for the process, off in this context
        _llm("c@d.io")
        tool("c@d.io")
    assert calls == []
    assert "a@b.io" not in " ".join(_all_values(llmobs_capture))


def test_capture_check_costs_one_context_variable_read(llmobs_capture, monkeypatch):
    reads = []

    class Counting:
        def get(self):
            reads.append(1)
            return None

    monkeypatch.setattr(_runtime, "_override_get", Counting().get)
    rt = _runtime.get()
    assert rt.capture is False
    assert len(reads) == 1
