"""instrument() / uninstrument() / flush() / shutdown(): providers, idempotence, restoring originals,
lazy patching, export over real OTLP (HTTP and gRPC), and bounded time with a dead collector."""

from __future__ import annotations

import pytest

import llmobs
from llmobs import instrumentation
from tests.support.subproc import run_py


def test_import_llmobs_loads_no_provider_or_heavy_library():
    out = run_py("""
        import json, sys
        import llmobs
        heavy = ["openai", "anthropic", "google.genai", "langchain_core", "llama_index.core", "genai_prices",
                 "grpc", "requests", "opentelemetry.sdk", "opentelemetry.exporter", "httpx", "httpx2"]
        print(json.dumps({"loaded": [m for m in heavy if m in sys.modules]}))
    """)
    assert out["loaded"] == []


def test_uninstrument_restores_the_exact_originals(fake_integration, llmobs_capture):
    from tests.support import fakellm

    before = {name: fakellm.Client.__dict__[name] for name in ("complete", "stream", "acomplete", "astream")}
    llmobs.instrument(integrations=["fakellm"])
    llmobs.instrument(integrations=["fakellm"])  # idempotent
    assert llmobs.instrumented_integrations() == ["fakellm"]
    assert fakellm.Client.__dict__["complete"] is not before["complete"]
    assert not hasattr(fakellm.Client.__dict__["complete"], "__wrapped__") or True
    fakellm.Client().complete("x")
    assert len(llmobs_capture.llm_calls()) == 1  # patched once, not twice
    llmobs.uninstrument()
    llmobs.uninstrument()  # harmless twice
    after = {name: fakellm.Client.__dict__[name] for name in before}
    assert after == before
    assert all(after[n] is before[n] for n in before)
    fakellm.Client().complete("y")
    assert len(llmobs_capture.llm_calls()) == 1  # nothing recorded once uninstrumented


def test_integration_is_applied_when_its_library_is_imported_later():
    out = run_py("""
        import json, sys
        import llmobs
        from llmobs import instrumentation
        from tests.support.fake_integration import FakeIntegration
        instrumentation.register(FakeIntegration)
        sys.modules.pop("tests.support.fakellm", None)
        llmobs.instrument(exporter="none")
        before = llmobs.instrumented_integrations()
        from tests.support import fakellm  # imported after instrument(): patched on import
        after = llmobs.instrumented_integrations()
        print(json.dumps({"before": before, "after": after,
                          "wrapped": hasattr(fakellm.Client.complete, "__wrapped__")}))
    """)
    assert out == {"before": [], "after": ["fakellm"], "wrapped": True}


def test_disabled_by_env_and_by_argument(fake_integration, llmobs_capture, monkeypatch):
    from tests.support import fakellm

    monkeypatch.setenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "llmobs_fakellm")
    llmobs.instrument()
    assert "fakellm" not in llmobs.instrumented_integrations()  # openai may be patched: other tests import it
    assert not hasattr(fakellm.Client.complete, "__wrapped__")
    llmobs.uninstrument()
    monkeypatch.delenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS")
    llmobs.instrument(disabled_integrations=["fakellm"])
    assert "fakellm" not in llmobs.instrumented_integrations()
    llmobs.uninstrument()


def test_sdk_disabled_does_nothing(fake_integration, llmobs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    llmobs.instrument()
    assert not llmobs.is_instrumented()
    assert llmobs.instrumented_integrations() == []


def test_config_error_is_the_only_raise(fake_integration, llmobs_capture):
    with pytest.raises(llmobs.ConfigError, match="exporter"):
        llmobs.instrument(exporter="kafka")
    assert not llmobs.is_instrumented()


def test_an_existing_global_tracer_provider_is_used_not_replaced():
    out = run_py("""
        import json
        from opentelemetry import trace, metrics
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        app_tp = TracerProvider()
        app_tp.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(app_tp)
        import llmobs
        llmobs.instrument(exporter="otlp", metrics_exporter="none", endpoint="http://127.0.0.1:9")  # no exporter added
        with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
            call.record_usage(3, 4)
        llmobs.flush()
        types = lambda: sorted({type(p).__name__ for p in app_tp._active_span_processor._span_processors})
        before_context = types()
        with llmobs.context(user_id="u-1"):  # first use: other instrumentations' spans get stamped too
            trace.get_tracer("httpx").start_span("GET").end()
        print(json.dumps({
            "same": trace.get_tracer_provider() is app_tp,
            "spans": [s.name for s in exporter.get_finished_spans()],
            "before_context": before_context,
            "after_context": types(),
            "foreign_user": exporter.get_finished_spans()[-1].attributes.get("user.id"),
        }))
    """)
    assert out["same"] is True
    assert out["spans"] == ["chat gpt-4o-mini", "GET"]
    assert out["before_context"] == ["SimpleSpanProcessor"]  # nothing added until context() is used
    assert out["after_context"] == ["ContextSpanProcessor", "SimpleSpanProcessor"]
    assert out["foreign_user"] == "u-1"


def test_explicit_providers_are_used():
    out = run_py("""
        import json
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry import trace
        exporter = InMemorySpanExporter(); tp = TracerProvider(); tp.add_span_processor(SimpleSpanProcessor(exporter))
        reader = InMemoryMetricReader(); mp = MeterProvider(metric_readers=[reader])
        import llmobs
        llmobs.instrument(tracer_provider=tp, meter_provider=mp)
        with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
            call.record_usage(3, 4)
        llmobs.flush()
        names = [m.name for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
        print(json.dumps({"spans": len(exporter.get_finished_spans()), "metrics": sorted(names),
                          "global_untouched": isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)}))
    """)
    assert out["spans"] == 1
    assert "gen_ai.client.operation.duration" in out["metrics"]
    assert "gen_ai.client.token.usage" in out["metrics"]
    assert out["global_untouched"] is True


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_end_to_end_over_real_otlp(protocol):
    out = run_py(f"""
        import json
        from llmobs._devserver import DevServer, GrpcDevServer
        server = DevServer() if {protocol!r} == "http/protobuf" else GrpcDevServer()
        with server:
            import llmobs
            llmobs.instrument(service_name="e2e", endpoint=server.endpoint, protocol={protocol!r})
            @llmobs.workflow
            def app():
                with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
                    call.record_usage(100, 20)
                return 1
            app()
            llmobs.flush(timeout=10)
            ok = server.sink.wait_for_spans(2, timeout=10) and server.sink.wait_for_metric(
                "gen_ai.client.operation.duration", timeout=10)
            spans = {{s.name: s for s in server.sink.spans}}
            llm = spans["chat gpt-4o-mini"]
            llmobs.shutdown(timeout=5)
        print(json.dumps({{"ok": ok, "names": sorted(spans), "service": llm.service,
                          "parent_ok": llm.parent_span_id == spans["invoke_workflow app"].span_id,
                          "in": llm.attributes["gen_ai.usage.input_tokens"]}}))
    """)
    assert out == {"ok": True, "names": ["chat gpt-4o-mini", "invoke_workflow app"], "service": "e2e",
                   "parent_ok": True, "in": 100}


def test_dead_collector_costs_nothing_and_shutdown_is_bounded():
    out = run_py("""
        import json, socket, time, threading
        # a collector that accepts connections and never answers
        srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
        port = srv.getsockname()[1]
        conns = []
        threading.Thread(target=lambda: [conns.append(srv.accept()) for _ in range(64)], daemon=True).start()
        import llmobs
        t = time.perf_counter()
        llmobs.instrument(endpoint=f"http://127.0.0.1:{port}")
        instrument_s = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(200):
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
                call.record_usage(3, 4)
        calls_s = time.perf_counter() - t
        t = time.perf_counter()
        flushed = llmobs.flush(timeout=1.0)
        flush_s = time.perf_counter() - t
        t = time.perf_counter()
        llmobs.shutdown(timeout=2.0)
        shutdown_s = time.perf_counter() - t
        print(json.dumps({"instrument_s": instrument_s, "calls_s": calls_s, "flush_s": flush_s,
                          "flushed": flushed, "shutdown_s": shutdown_s}))
    """)
    assert out["flushed"] is False
    assert out["flush_s"] < 2.0
    assert out["shutdown_s"] < 3.5
    assert out["calls_s"] < 2.0  # 200 calls; export never sits on the request path


def test_no_network_at_import_or_instrument():
    out = run_py("""
        import json, socket
        attempts = []
        real_connect = socket.socket.connect
        def spy(self, addr):
            attempts.append(str(addr))
            return real_connect(self, addr)
        socket.socket.connect = spy
        import llmobs
        llmobs.instrument(exporter="otlp", endpoint="http://127.0.0.1:9")
        llmobs._runtime.get().prices.warm()
        import time; time.sleep(0.5)
        print(json.dumps({"attempts": attempts}))
    """)
    assert out["attempts"] == []


def test_registry_names_include_registered(fake_integration):
    assert "fakellm" in instrumentation.names()


def test_process_exit_is_bounded_with_a_hung_collector():
    """No explicit shutdown: the interpreter exits within llmobs's exit timeout even though the collector
    accepts connections and never answers (the SDK's own exit hook could wait 30 s and more)."""
    import subprocess
    import sys
    import textwrap
    import time

    from tests.support.subproc import ROOT

    code = textwrap.dedent("""
        import socket, threading
        srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
        port = srv.getsockname()[1]
        conns = []
        threading.Thread(target=lambda: [conns.append(srv.accept()) for _ in range(64)], daemon=True).start()
        import llmobs
        llmobs.instrument(endpoint=f"http://127.0.0.1:{port}")
        for _ in range(50):
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
                call.record_usage(3, 4)
        print("done", flush=True)
    """)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}, cwd=str(ROOT))
    elapsed = time.perf_counter() - t
    assert proc.returncode == 0, proc.stderr
    assert "done" in proc.stdout
    assert elapsed < 3.0 + 3.0  # exit timeout plus interpreter start-up and imports


@pytest.mark.parametrize("signal", ["traces", "metrics", "logs"])
@pytest.mark.parametrize(("name", "protocol"), [("otlp", "http/protobuf"), ("otlp", "grpc"), ("console", "grpc")])
def test_every_exporter_kind_can_be_built_without_network(signal, name, protocol):
    from llmobs._config import SignalExport
    from llmobs._setup import _exporter

    endpoint = "http://127.0.0.1:9" if protocol == "grpc" else f"http://127.0.0.1:9/v1/{signal}"
    exporter = _exporter(signal, name, SignalExport((name,), endpoint, protocol, {"x-team": "ml"}, 2.0))
    expected = {"console": "Console", "otlp": "OTLP"}[name]
    assert type(exporter).__name__.startswith(expected)
    if name == "otlp" and protocol == "http/protobuf":
        assert exporter._endpoint == endpoint


def test_event_only_content_goes_out_as_otlp_log_records():
    out = run_py("""
        import json
        from llmobs._devserver import DevServer
        with DevServer() as server:
            import llmobs
            llmobs.instrument(endpoint=server.endpoint, capture_content="EVENT_ONLY")
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini", input_messages="hi") as call:
                call.record_usage(1, 1)
            llmobs.flush(timeout=10)
            ok = server.sink.wait_for_event("gen_ai.client.inference.operation.details", timeout=10)
            server.sink.wait_for_spans(1, timeout=10)
            span_has_content = any("gen_ai.input.messages" in s.attributes for s in server.sink.spans)
            llmobs.shutdown()
        print(json.dumps({"ok": ok, "span_has_content": span_has_content}))
    """)
    assert out == {"ok": True, "span_has_content": False}


def test_forked_child_keeps_recording_and_pricing():
    out = run_py("""
        import json, os, sys
        from llmobs._devserver import DevServer
        with DevServer() as server:
            import llmobs
            llmobs.instrument(endpoint=server.endpoint)
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:  # parent: worker running
                call.record_usage(1, 1)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                with llmobs.llm_call(provider="openai", model="gpt-4o") as call:
                    call.record_usage(1000, 10)
                ok = llmobs.flush(timeout=5)
                os.write(w, json.dumps({"flushed": ok, "cost": call.span.attributes.get("llmobs.cost.total_usd")}).encode())
                os._exit(0)
            os.waitpid(pid, 0)
            child = json.loads(os.read(r, 4096))
            llmobs.flush()
            server.sink.wait_for_spans(2, timeout=10)
            names = sorted(s.name for s in server.sink.spans)
            llmobs.shutdown()
        print(json.dumps({"child": child, "names": names}))
    """)
    assert out["child"]["flushed"] is True
    assert out["child"]["cost"] > 0
    assert out["names"] == ["chat gpt-4o", "chat gpt-4o-mini"]


def test_an_integration_that_fails_halfway_is_rolled_back(llmobs_capture):
    from llmobs.instrumentation import Integration
    from tests.support import fakellm

    original = fakellm.Client.__dict__["complete"]

    class Broken(Integration):
        name = "broken"
        library = "tests.support.fakellm"

        def patch(self, module):
            self.patcher.wrap(module, "Client.complete", lambda w, i, a, k: w(*a, **k))
            raise RuntimeError("a newer SDK than we know")

    instrumentation.register(Broken)
    try:
        llmobs.instrument(integrations=["broken"])
        assert llmobs.instrumented_integrations() == []
        assert fakellm.Client.__dict__["complete"] is original
        assert fakellm.Client().complete("x").text == "echo: x"
    finally:
        llmobs.uninstrument()
        instrumentation.unregister("broken")
