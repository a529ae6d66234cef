"""The reference collector: an OTLP receiver (HTTP and gRPC) with an embedded store, a query API and reports.

Run it with ``llmobs collector``; query it with ``llmobs traces``, ``llmobs trace ID`` and ``llmobs report``.
In tests, the ``llmobs_collector`` pytest fixture starts one on free ports. See docs/collector.md.
"""

from __future__ import annotations

from .server import Collector
from .store import Overloaded, Store

__all__ = ["Collector", "Overloaded", "Store"]
