"""An instrumented app exposing llmobs's metrics for Prometheus to scrape (opentelemetry-exporter-prometheus),
making LLM calls against llmobs's fake LLM server until it is stopped.

    python -m tests.integrations_support.prom_app --port 9464

Prints ``ready`` once the first round of calls is recorded and the /metrics endpoint is up.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args()

    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client import start_http_server

    import llmobs
    from llmobs.fake_llm import FakeLLMServer
    from tests.integrations_support import workload

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    llmobs.instrument(service_name="llmobs-prometheus-test", integrations=["openai"],
                      meter_provider=MeterProvider(metric_readers=[PrometheusMetricReader()]),
                      tracer_provider=TracerProvider())  # traces are not under test here
    start_http_server(args.port, addr="127.0.0.1")
    with FakeLLMServer(port=0, latency=0.02, chunk_delay=0.005) as server:
        client = workload.openai_client(server.url)
        workload.make_calls(client)
        llmobs.flush()
        print("ready", flush=True)
        while not stop.wait(args.interval):
            workload.make_calls(client)
    llmobs.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
