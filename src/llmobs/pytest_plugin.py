"""pytest plugin (registered through the ``pytest11`` entry point, active once llmobs is installed).

Fixtures: ``llmobs_collector`` (session-scoped: a reference collector on free ports, see below) and
``llmobs_capture``: a ``llmobs.testing.Capture`` isolated to one test. Everything llmobs emits during
the test, including through an ``llmobs.instrument()`` call made by the code under test, lands in it, and
llmobs's global state is restored afterwards. Configure it per test with a marker::

    @pytest.mark.llmobs(capture_content=True)
    def test_prompt_is_recorded(llmobs_capture): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .testing import Capture


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "llmobs(capture_content=False, max_content_length=None): configure the llmobs_capture fixture",
    )


@pytest.fixture
def llmobs_capture(request: Any) -> Iterator[Capture]:
    marker = request.node.get_closest_marker("llmobs")
    options = dict(marker.kwargs) if marker is not None else {}
    cap = Capture(
        capture_content=options.get("capture_content"),
        max_content_length=options.get("max_content_length"),
    )
    cap.start()
    try:
        yield cap
    finally:
        cap.stop()


class CollectorHandle:
    """What the ``llmobs_collector`` fixture gives a test: the running collector and helpers around it."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector
        self.endpoint: str = collector.http_endpoint
        self.grpc_endpoint: str | None = collector.grpc_endpoint

    def instrument(self, **kwargs: Any) -> None:
        """``llmobs.instrument()`` exporting to this collector (OTLP/HTTP unless ``protocol="grpc"``)."""
        import llmobs

        grpc = kwargs.get("protocol") == "grpc"
        kwargs.setdefault("endpoint", self.grpc_endpoint if grpc else self.endpoint)
        llmobs.instrument(**kwargs)

    def _filters(self, filters: dict[str, Any]) -> Any:
        from .collector.queries import Filters

        return Filters(**filters)

    def _synced(self) -> Any:
        """A read connection that sees every span the collector has acknowledged so far."""
        self.collector.store.sync()
        return self.collector.store.reader()

    def count(self, **filters: Any) -> int:
        """Spans stored that match ``filters`` (service, provider, model, status, user, session, since_ns...)."""
        where, args = self._filters(filters).where()
        conn = self._synced()
        return int(conn.execute(f"SELECT COUNT(*) FROM spans WHERE {where}", args).fetchone()[0])

    def wait_for_spans(self, n: int, timeout: float = 15.0, **filters: Any) -> int:
        """Flush llmobs, then wait until at least ``n`` matching spans are stored; returns the count.
        Raises AssertionError on timeout, saying how many arrived."""
        import time

        import llmobs

        llmobs.flush(timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            got = self.count(**filters)
            if got >= n or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if got < n:
            raise AssertionError(f"expected {n} spans at the collector, {got} arrived within {timeout}s")
        return got

    def traces(self, limit: int = 50, **filters: Any) -> list[dict[str, Any]]:
        from .collector.queries import list_traces

        return list_traces(self._synced(), self._filters(filters), limit)

    def trace(self, trace_id: str) -> list[dict[str, Any]] | None:
        from .collector.queries import get_trace

        return get_trace(self._synced(), trace_id)

    def report(self, group_by: tuple[str, ...] = ("provider", "model"), **filters: Any) -> list[dict[str, Any]]:
        from .collector.queries import report

        return report(self._synced(), self._filters(filters), group_by)


@pytest.fixture(scope="session")
def llmobs_collector(tmp_path_factory: Any) -> Iterator[CollectorHandle]:
    """A reference collector on free loopback ports for the whole test session (OTLP/HTTP and gRPC).

    While it runs, ``OTEL_EXPORTER_OTLP_ENDPOINT`` points at it, so code under test that calls
    ``llmobs.instrument()`` exports there; ``llmobs_collector.instrument()`` does it explicitly. Use
    ``wait_for_spans(n, service=...)`` before asserting, and filter by a service name or time per test.
    """
    import os

    from .collector import Collector

    collector = Collector(str(tmp_path_factory.mktemp("llmobs-collector")), http_port=0, grpc_port=0).start()
    saved = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.http_endpoint
    try:
        yield CollectorHandle(collector)
    finally:
        if saved is None:
            os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        else:
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = saved
        collector.stop()
