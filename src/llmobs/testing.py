"""Test helpers: capture every span and metric llmobs emits, and assert on LLM calls with readable diffs.

Used through the pytest plugin's ``llmobs_capture`` fixture, or directly::

    with llmobs.testing.capture() as cap:
        run_my_app()
    cap.assert_llm_call(model="gpt-4o-mini", input_tokens=12)

While a capture is active, every ``llmobs.instrument()`` call (including one made by the code under test)
records into the capture's in-memory providers instead of exporting.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from . import _runtime, _setup
from . import semconv as sc
from ._context import ContextSpanProcessor
from ._cost import PriceBook
from ._runtime import Runtime
from .version import __version__

__all__ = ["Capture", "RecordedCall", "capture", "vcr_config"]

_SECRET_HEADERS = (
    "authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "openai-organization",
    "openai-project", "anthropic-api-key", "cookie", "set-cookie", "x-stainless-api-key",
)
_SECRET_QUERY = ("key", "api_key", "apikey", "access_token", "token")


def _first(attrs: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in attrs:
            return attrs[name]
    return None


@dataclass
class RecordedCall:
    """One LLM span as a test sees it. Reads the current names and the deprecated ones."""

    span: ReadableSpan
    operation: str | None
    provider: str | None
    model: str | None
    response_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_input_tokens: int | None
    cache_write_input_tokens: int | None
    reasoning_output_tokens: int | None
    cost: float | None
    cost_status: str | None
    time_to_first_chunk: float | None
    finish_reasons: tuple[str, ...] | None
    error_type: str | None
    stream: bool
    incomplete: bool
    attributes: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_span(cls, span: ReadableSpan) -> RecordedCall:
        a: dict[str, Any] = dict(span.attributes or {})
        reasons = a.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
        return cls(
            span=span,
            operation=a.get(sc.GEN_AI_OPERATION_NAME),
            provider=_first(a, sc.GEN_AI_PROVIDER_NAME, sc.DEPRECATED_GEN_AI_SYSTEM),
            model=a.get(sc.GEN_AI_REQUEST_MODEL),
            response_model=a.get(sc.GEN_AI_RESPONSE_MODEL),
            input_tokens=_first(a, sc.GEN_AI_USAGE_INPUT_TOKENS, sc.DEPRECATED_USAGE_PROMPT_TOKENS),
            output_tokens=_first(a, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.DEPRECATED_USAGE_COMPLETION_TOKENS),
            cache_read_input_tokens=a.get(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
            cache_write_input_tokens=_first(
                a, sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, sc.DEPRECATED_USAGE_CACHE_CREATION_INPUT_TOKENS
            ),
            reasoning_output_tokens=a.get(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
            cost=a.get(sc.LLMOBS_COST_TOTAL),
            cost_status=a.get(sc.LLMOBS_COST_STATUS),
            time_to_first_chunk=a.get(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK),
            finish_reasons=tuple(reasons) if reasons is not None else None,
            error_type=a.get(sc.ERROR_TYPE),
            stream=bool(a.get(sc.GEN_AI_REQUEST_STREAM, False)),
            incomplete=bool(a.get(sc.LLMOBS_STREAM_INCOMPLETE, False)),
            attributes=a,
        )




class Capture:
    """Everything emitted while the capture is active. Methods drain llmobs's metric queue first."""

    def __init__(self, capture_content: bool | str | None = None, max_content_length: int | None = None) -> None:
        """``capture_content`` / ``max_content_length``: what to record of prompts and completions. When given,
        they also apply to an ``llmobs.instrument()`` made by the code under test, whatever it passes; when
        not, content is off unless that call turns it on."""
        from ._config import DEFAULT_MAX_CONTENT_LENGTH, parse_capture_mode

        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer_provider.add_span_processor(ContextSpanProcessor())  # type: ignore[arg-type]
        self.tracer_provider._llmobs_context_processor = True  # type: ignore[attr-defined]
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])
        mode = parse_capture_mode("capture_content", False if capture_content is None else capture_content)
        self.overrides: dict[str, Any] = {}
        if capture_content is not None:
            self.overrides["capture_on_span"] = mode in (sc.CAPTURE_SPAN_ONLY, sc.CAPTURE_SPAN_AND_EVENT)
            self.overrides["capture_in_event"] = False
        if max_content_length is not None:
            self.overrides["max_content_length"] = max_content_length
        self.runtime = Runtime(
            self.tracer_provider.get_tracer(sc.SCOPE_NAME, __version__),
            self.meter_provider.get_meter(sc.SCOPE_NAME, __version__),
            PriceBook(),
            capture_on_span=mode in (sc.CAPTURE_SPAN_ONLY, sc.CAPTURE_SPAN_AND_EVENT),
            capture_in_event=False,
            max_content_length=max_content_length or DEFAULT_MAX_CONTENT_LENGTH,
        )
        self._saved: tuple[Any, ...] | None = None
        self._metric_cache: list[Any] = []

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Capture:
        self._saved = (_setup._test_providers, _runtime.peek(), _setup._state, _setup._test_overrides)
        _setup._test_providers = (self.tracer_provider, self.meter_provider)
        _setup._test_overrides = self.overrides
        # An app-level instrument() may already be active: its integrations now record into this capture.
        _runtime.set_current(self.runtime)
        return self

    def stop(self) -> None:
        self._drain()  # calls still waiting for the price table end in this capture, not after it
        saved, self._saved = self._saved, None
        prior_state = saved[2] if saved is not None else None
        if _setup._state is not prior_state:
            _setup.uninstrument()  # what the code under test instrumented
        self.runtime.metrics.stop()
        if saved is not None:
            _setup._test_providers = saved[0]
            _setup._test_overrides = saved[3]
            _runtime.set_current(saved[1])
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the spans captured so far. Metrics are cumulative for the whole capture."""
        self._drain()
        self.exporter.clear()

    def _drain(self) -> None:
        from . import _cost

        _cost.wait_ready(30.0)  # calls that ended while the price table was loading end on its thread
        current = _runtime.peek()
        for runtime in {id(self.runtime): self.runtime, id(current): current}.values():
            if runtime is not None:
                runtime.metrics.drain()

    # --- spans -----------------------------------------------------------------------------------------
    @property
    def spans(self) -> list[ReadableSpan]:
        self._drain()
        return list(self.exporter.get_finished_spans())

    def find(self, name: str | None = None, kind: str | None = None, **attributes: Any) -> list[ReadableSpan]:
        """Spans by name, ``llmobs.span.kind`` (llm, embedding, workflow, task, agent, tool, retrieval, score)
        and attribute values (``find(**{"gen_ai.request.model": "gpt-4o"})``)."""
        out = []
        for s in self.spans:
            attrs = s.attributes or {}
            if name is not None and s.name != name:
                continue
            if kind is not None and attrs.get(sc.LLMOBS_SPAN_KIND) != kind:
                continue
            if any(attrs.get(k) != v for k, v in attributes.items()):
                continue
            out.append(s)
        return out

    def one(self, name: str | None = None, kind: str | None = None, **attributes: Any) -> ReadableSpan:
        found = self.find(name, kind, **attributes)
        if len(found) != 1:
            listing = "\n".join(f"  - {s.name} {dict(s.attributes or {})}" for s in self.spans) or "  (none)"
            raise AssertionError(
                f"expected exactly one span matching name={name!r} kind={kind!r} {attributes}, "
                f"found {len(found)}. Spans captured:\n{listing}"
            )
        return found[0]

    def llm_calls(self) -> list[RecordedCall]:
        """Every LLM span (chat, text_completion, generate_content, embeddings), in the order they ended."""
        calls = []
        for s in self.spans:
            attrs = s.attributes or {}
            if attrs.get(sc.GEN_AI_OPERATION_NAME) in sc.LLM_OPERATIONS:
                calls.append(RecordedCall.from_span(s))
        return calls

    def assert_llm_call(self, index: int | None = None, **expected: Any) -> RecordedCall:
        """Assert that an LLM call has the ``expected`` field values (names of ``RecordedCall``, or full
        attribute names through ``attributes={...}``). With ``index``, checks that call; else the only call
        matching all fields. Fails with a per-field diff of the closest call."""
        calls = self.llm_calls()
        if not calls:
            raise AssertionError("no LLM call was captured")
        attr_expect: Mapping[str, Any] = expected.pop("attributes", {}) or {}
        unknown = [k for k in expected if k not in RecordedCall.__dataclass_fields__]
        if unknown:
            raise TypeError(f"unknown RecordedCall field(s): {unknown}")

        def diff(call: RecordedCall) -> list[str]:
            lines = []
            for key, want in expected.items():
                got = getattr(call, key)
                if isinstance(want, (list, tuple)) and got is not None:
                    got_cmp: Any = tuple(got)
                    want = tuple(want)
                else:
                    got_cmp = got
                if not _equal(got_cmp, want):
                    lines.append(f"  {key}: expected {want!r}, got {got!r}")
            for key, want in attr_expect.items():
                got = call.attributes.get(key)
                if isinstance(got, tuple) and isinstance(want, list):
                    want = tuple(want)
                if not _equal(got, want):
                    lines.append(f"  attributes[{key!r}]: expected {want!r}, got {got!r}")
            return lines

        if index is not None:
            candidates = [calls[index]]
        else:
            matching = [c for c in calls if not diff(c)]
            if len(matching) == 1:
                return matching[0]
            if len(matching) > 1:
                raise AssertionError(f"{len(matching)} LLM calls match {expected}; pass index= to pick one")
            candidates = calls
        best = min(candidates, key=lambda c: len(diff(c)))
        problems = diff(best)
        if problems:
            raise AssertionError(
                f"LLM call {best.span.name!r} (closest of {len(calls)}) differs:\n" + "\n".join(problems)
            )
        return best

    # --- metrics ---------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, list[Any]]:
        """Metric name -> data points (cumulative since the capture started)."""
        self._drain()
        data = self.metric_reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out

    def metric_points(self, name: str, **attributes: Any) -> list[Any]:
        points = self.metrics().get(name, [])
        return [p for p in points if all((p.attributes or {}).get(k) == v for k, v in attributes.items())]

    def total_cost(self) -> float:
        return sum(c.cost or 0.0 for c in self.llm_calls())


def _equal(got: Any, want: Any) -> bool:
    if isinstance(want, float) and isinstance(got, (int, float)):
        return abs(got - want) <= 1e-9 * max(1.0, abs(want))
    return bool(got == want)


@contextmanager
def capture(capture_content: bool | str | None = None, max_content_length: int | None = None) -> Iterator[Capture]:
    cap = Capture(capture_content, max_content_length)
    cap.start()
    try:
        yield cap
    finally:
        cap.stop()


# --- cassettes ---------------------------------------------------------------------------------------------

def _scrub_request(request: Any) -> Any:
    for header in list(getattr(request, "headers", {}) or {}):
        if header.lower() in _SECRET_HEADERS:
            request.headers[header] = "REDACTED"
    return request


def _scrub_response(response: Any) -> Any:
    headers = response.get("headers") if isinstance(response, dict) else None
    if isinstance(headers, dict):
        for header in list(headers):
            if header.lower() in _SECRET_HEADERS:
                headers[header] = ["REDACTED"]
    return response


def vcr_config(**overrides: Any) -> dict[str, Any]:
    """A vcrpy / pytest-recording configuration that never writes secrets into a cassette.

    API keys and auth headers (Authorization, x-api-key, api-key, x-goog-api-key, cookies, OpenAI
    organization and project) are replaced by ``REDACTED`` in requests and responses, ``key=`` style query
    parameters are dropped, and requests are matched without their headers so replay needs no key.
    Use it from a conftest.py::

        @pytest.fixture(scope="module")
        def vcr_config():
            return llmobs.testing.vcr_config()
    """
    config: dict[str, Any] = {
        "filter_headers": [(h, "REDACTED") for h in _SECRET_HEADERS],
        "filter_query_parameters": list(_SECRET_QUERY),
        "before_record_request": _scrub_request,
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    }
    config.update(overrides)
    return config
