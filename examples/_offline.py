"""What the examples share: run against the real API when a key is set, else offline against llmobs's fake LLM
server, with the bundled collector receiving the telemetry and printing the trace it stored.

    with local_stack("my-example", "OPENAI_API_KEY") as stack:
        client = SomeClient(base_url=stack.openai_base_url or default, ...)
        ...                      # the instrumented app
    # on exit: flush, then print the stored trace and the per-model report

Options: ``key_env`` may name several variables (online when any is set); ``traces=N`` prints the N latest
traces instead of one (``traces=None``: every trace of the service); ``details=("user.id", ...)`` prints those
span attributes, as stored, under each tree; ``report_by=("user",)`` groups the report (default: provider and
model, like ``llmobs report``); any other keyword goes to ``llmobs.instrument()`` (online too).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import llmobs


@dataclass
class Stack:
    service: str
    fake_url: str | None  # the fake LLM server's root URL when running offline, else None
    collector: Any = None  # the bundled collector when running offline, else None

    @property
    def offline(self) -> bool:
        return self.fake_url is not None

    @property
    def openai_base_url(self) -> str | None:
        return f"{self.fake_url}/v1" if self.fake_url else None

    @property
    def fake_port(self) -> int | None:
        return int(self.fake_url.rsplit(":", 1)[1]) if self.fake_url else None


def online_key(key_env: str | Sequence[str]) -> str | None:
    """The first of the ``key_env`` variables that is set (its name), or None: then the example runs offline."""
    names = (key_env,) if isinstance(key_env, str) else tuple(key_env)
    return next((name for name in names if os.environ.get(name)), None)


@contextmanager
def local_stack(service: str, key_env: str | Sequence[str] = "OPENAI_API_KEY", *, traces: int | None = 1,
                details: Sequence[str] = (), report_by: tuple[str, ...] = ("provider", "model"),
                **instrument_kwargs: Any) -> Iterator[Stack]:
    """Instrument, run the body, then show what llmobs recorded. With ``key_env`` set in the environment the
    example talks to the real API and exports wherever ``OTEL_EXPORTER_OTLP_ENDPOINT`` points (nothing is
    printed); without it, everything runs on this machine."""
    if online_key(key_env):
        llmobs.instrument(service_name=service, **instrument_kwargs)
        try:
            yield Stack(service, None)
        finally:
            llmobs.shutdown(timeout=5)
        return
    from llmobs.collector import Collector, queries
    from llmobs.collector.text import report_table, tree_text
    from llmobs.fake_llm import FakeLLMServer

    with ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"llmobs-{service}-"))
        collector = stack.enter_context(Collector(data_dir, http_port=0, grpc_port=None))
        fake = stack.enter_context(FakeLLMServer(latency=0.02, chunk_delay=0.002))
        from llmobs.instrumentation.openai import PROVIDER_HOSTS

        PROVIDER_HOSTS[f"127.0.0.1:{fake.port}"] = "openai"  # the fake server plays OpenAI: price it so
        llmobs.instrument(service_name=service, endpoint=collector.http_endpoint, **instrument_kwargs)
        try:
            yield Stack(service, fake.url, collector)
            llmobs.flush(timeout=10)
            conn = collector.store.reader()
            collector.store.sync()
            found = queries.list_traces(conn, queries.Filters(service=service), limit=traces or 10_000)
            found = sorted(found, key=lambda t: t.get("start_ns") or 0)  # oldest first
            if traces == 1:
                print("\nThe trace, as the collector stored it:")
            else:
                print(f"\nThe collector stored {len(found)} trace(s) of {service}, oldest first:")
            if not found:
                print("(no trace)")
            for i, listed in enumerate(found):
                roots = queries.get_trace(conn, listed["trace_id"]) or []
                print(("" if i == 0 else "\n") + tree_text(roots))
                if details:
                    _print_details(roots, details)
            print(f"\nPer {' and '.join(report_by)}:")
            print(report_table(queries.report(conn, queries.Filters(service=service), report_by), report_by))
        finally:
            llmobs.shutdown(timeout=5)


def _print_details(roots: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """``  <span name>: key=value, ...`` for every span of the tree that has one of ``keys``."""
    def walk(span: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield span
        for child in span.get("children", []):
            yield from walk(child)

    for span in (s for root in roots for s in walk(root)):
        attrs = span.get("attributes") or {}
        shown = [f"{key}={_show(attrs[key])}" for key in keys if key in attrs]
        if shown:
            print(f"  · {span['name']}: {', '.join(shown)}")


def _show(value: Any) -> str:
    """A stored attribute as text: strings as they are (captured content is already JSON), the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)
