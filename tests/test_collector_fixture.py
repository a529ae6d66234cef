"""The ``llmobs_collector`` pytest fixture, used as a user would (a test file run by pytest in a subprocess),
and the collector's durability: a kill -9 during ingest loses no acknowledged span."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fixture_end_to_end_with_the_real_openai_sdk_and_fake_server(pytester):
    pytester.makepyfile(test_app="""
        import openai
        from llmobs.fake_llm import FakeLLMServer

        def test_calls_reach_the_collector(llmobs_collector):
            llmobs_collector.instrument(service_name="fixture-app", metrics_exporter="none",
                                        prices={"gpt-4o-mini*": {"input": 0.15, "output": 0.6}})
            with FakeLLMServer(latency=0, chunk_delay=0) as fake:
                client = openai.OpenAI(base_url=fake.url + "/v1", api_key="test", max_retries=0)
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                for _ in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                        messages=[{"role": "user", "content": "hi"}], stream_options={"include_usage": True}):
                    pass
            assert llmobs_collector.wait_for_spans(2, service="fixture-app") == 2
            (row,) = llmobs_collector.report(("model",), service="fixture-app")
            assert row["calls"] == 2 and row["input_tokens"] > 0 and row["cost_usd"] > 0
            assert row["ttfc_p50_s"] is not None
            traces = llmobs_collector.traces(service="fixture-app")
            assert len(traces) == 2
            spans = llmobs_collector.trace(traces[0]["trace_id"])
            assert spans[0]["attributes"]["gen_ai.provider.name"] == "openai_compatible"

        def test_env_points_at_the_collector(llmobs_collector):
            import os
            assert os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] == llmobs_collector.endpoint
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def _post(port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_kill_9_during_ingest_loses_no_acknowledged_span(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks" / "collector"))
    import bench_ingest

    code = (
        f"import sys, threading; sys.path.insert(0, {str(ROOT / 'src')!r})\n"
        "from llmobs.collector import Collector\n"
        f"c = Collector({str(tmp_path)!r}, http_port=0, grpc_port=None).start()\n"
        "print(c.http_port, flush=True)\n"
        "threading.Event().wait()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    bodies = [bench_ingest.batch(i, 256) for i in range(400)]
    acked: list[int] = []
    lock = threading.Lock()

    def sender(part: list[tuple[int, bytes]]) -> None:
        for i, body in part:
            try:
                if _post(port, body) == 200:
                    with lock:
                        acked.append(i)
            except OSError:
                return  # the collector is gone

    items = list(enumerate(bodies))
    threads = [threading.Thread(target=sender, args=(items[k::3],)) for k in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-ingest: requests are in flight
    proc.wait()
    for t in threads:
        t.join()
    assert 20 <= len(acked) < len(bodies)
    # What a collector started again on the same directory serves: acknowledged requests it had not indexed
    # yet when it was killed are indexed first.
    from llmobs.collector.store import Store

    store = Store(tmp_path)
    assert store.sync()
    stored = {row[0] for row in store.reader().execute("SELECT trace_id FROM spans")}
    store.close()
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    for i in acked:
        req = ExportTraceServiceRequest()
        req.ParseFromString(bodies[i])
        ids = {s.trace_id.hex() for s in req.resource_spans[0].scope_spans[0].spans}
        assert ids <= stored, f"batch {i} was acknowledged but {len(ids - stored)} of its spans are missing"
