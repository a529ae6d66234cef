"""What the examples share: run against the real API when a key is set, else offline against llmobs's fake LLM
server, with the bundled collector receiving the telemetry and printing the trace it stored.

    with local_stack("my-example", "OPENAI_API_KEY") as stack:
        client = SomeClient(base_url=stack.openai_base_url or default, ...)
        ...                      # the instrumented app
    # on exit: flush, then print the stored trace and the per-model report
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import llmobs


@dataclass
class Stack:
    service: str
    fake_url: str | None  # the fake LLM server's root URL when running offline, else None

    @property
    def openai_base_url(self) -> str | None:
        return f"{self.fake_url}/v1" if self.fake_url else None


@contextmanager
def local_stack(service: str, key_env: str = "OPENAI_API_KEY") -> Iterator[Stack]:
    """Instrument, run the body, then show what llmobs recorded. With ``key_env`` set in the environment the
    example talks to the real API and exports wherever ``OTEL_EXPORTER_OTLP_ENDPOINT`` points (nothing is
    printed); without it, everything runs on this machine."""
    if os.environ.get(key_env):
        llmobs.instrument(service_name=service)
        try:
            yield Stack(service, None)
        finally:
            llmobs.shutdown(timeout=5)
        return
    from llmobs.collector import Collector, queries
    from llmobs.collector.cli import report_table, tree_text
    from llmobs.fake_llm import FakeLLMServer

    with ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"llmobs-{service}-"))
        collector = stack.enter_context(Collector(data_dir, http_port=0, grpc_port=None))
        fake = stack.enter_context(FakeLLMServer(latency=0.02, chunk_delay=0.002))
        from llmobs.instrumentation.openai import PROVIDER_HOSTS

        PROVIDER_HOSTS[f"127.0.0.1:{fake.port}"] = "openai"  # the fake server plays OpenAI: price it so
        llmobs.instrument(service_name=service, endpoint=collector.http_endpoint)
        try:
            yield Stack(service, fake.url)
            llmobs.flush(timeout=10)
            conn = collector.store.reader()
            collector.store.sync()
            traces = queries.list_traces(conn, queries.Filters(service=service), limit=1)
            print("\nThe trace, as the collector stored it:")
            print(tree_text(queries.get_trace(conn, traces[0]["trace_id"]) or []) if traces else "(no trace)")
            print("\nPer provider and model:")
            print(report_table(queries.report(conn, queries.Filters(service=service)), ("provider", "model")))
        finally:
            llmobs.shutdown(timeout=5)
