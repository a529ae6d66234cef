"""Zero-code instrumentation (issue 7, item 6): ``opentelemetry-instrument`` entry points and ``llmobs run``.

Each test runs a real app (the openai SDK against the offline fake LLM server) in a fresh interpreter, the way a
user would, and counts the LLM spans it produced: on the console exporter's output, or at the bundled collector.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.support.subproc import ROOT

BIN = Path(sys.executable).parent
APP = textwrap.dedent("""
    import sys
    import openai
    from llmobs.fake_llm import FakeLLMServer

    with FakeLLMServer(latency=0, chunk_delay=0) as fake:
        client = openai.OpenAI(base_url=fake.url + "/v1", api_key="test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        if "--instrument-too" in sys.argv:  # the app's own call: must not instrument a second time
            import llmobs
            llmobs.instrument()
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}])
    print("app done")
    sys.exit(int(sys.argv[1]))
""")
NAMES = {"llmobs_openai": "OpenAIInstrumentor", "llmobs_anthropic": "AnthropicInstrumentor",
         "llmobs_google_genai": "GoogleGenAIInstrumentor", "llmobs_langchain": "LangChainInstrumentor",
         "llmobs_llama_index": "LlamaIndexInstrumentor"}


def _run(tmp_path: Path, command: list[str], env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    app = tmp_path / "app.py"
    app.write_text(APP)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    full_env["PATH"] = os.pathsep.join([str(BIN), full_env.get("PATH", "")])
    full_env["PYTHONPATH"] = str(ROOT / "src")
    full_env.update(env)
    return subprocess.run([*command, sys.executable, str(app), *args], capture_output=True, text=True,
                          env=full_env, cwd=str(tmp_path), timeout=60)


def _console_llm_spans(stdout: str) -> int:
    return stdout.count('"gen_ai.operation.name": "chat"')


def _opentelemetry_instrument() -> str:
    exe = shutil.which("opentelemetry-instrument", path=str(BIN))
    if exe is None:
        pytest.skip("opentelemetry-instrumentation is not installed (pip install llmobs[otel-instrument])")
    return exe


def test_entry_points_are_declared_with_prefixed_names():
    found = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")
             if ep.value.startswith("llmobs.")}
    assert found == {name: f"llmobs.instrumentation.otel:{cls}" for name, cls in NAMES.items()}
    pytest.importorskip("opentelemetry.instrumentation.instrumentor")
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

    from llmobs.instrumentation import otel

    for cls in NAMES.values():
        instrumentor = getattr(otel, cls)()
        assert isinstance(instrumentor, BaseInstrumentor)
        (requirement,) = instrumentor.instrumentation_dependencies()
        assert requirement.split()[0] in ("openai", "anthropic", "google-genai", "langchain-core", "llama-index-core")


@pytest.mark.parametrize("configurator", ["distro", "llmobs"])
def test_opentelemetry_instrument_records_the_llm_span_once(tmp_path, configurator):
    """With opentelemetry-distro, its configurator sets the global providers and llmobs uses them; without a
    configurator llmobs builds its own from the same OTEL_* variables. One LLM span per call either way."""
    exe = _opentelemetry_instrument()
    env = {} if configurator == "distro" else {"OTEL_PYTHON_DISTRO": "none", "OTEL_PYTHON_CONFIGURATOR": "none"}
    if configurator == "distro":
        pytest.importorskip("opentelemetry.distro")
    proc = _run(tmp_path, [exe, "--traces_exporter", "console", "--metrics_exporter", "none", "--logs_exporter",
                           "none"], env, "0", "--instrument-too")
    assert proc.returncode == 0, proc.stderr
    assert "app done" in proc.stdout
    assert _console_llm_spans(proc.stdout) == 2, proc.stdout[-3000:]  # two calls, one span each


def test_opentelemetry_disabled_instrumentations_turns_ours_off(tmp_path):
    exe = _opentelemetry_instrument()
    proc = _run(tmp_path, [exe, "--traces_exporter", "console", "--metrics_exporter", "none"],
                {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "requests,llmobs_openai"}, "0")
    assert proc.returncode == 0, proc.stderr
    assert "app done" in proc.stdout
    assert _console_llm_spans(proc.stdout) == 0


def test_opentelemetry_instrument_exports_to_the_collector(tmp_path):
    exe = _opentelemetry_instrument()
    from llmobs.collector import Collector
    from llmobs.pytest_plugin import CollectorHandle

    with Collector(str(tmp_path / "store"), http_port=0, grpc_port=None) as collector:
        proc = _run(tmp_path, [exe], {
            "OTEL_SERVICE_NAME": "zero-code-otel", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none"}, "0")
        assert proc.returncode == 0, proc.stderr
        assert _wait_count(CollectorHandle(collector), "zero-code-otel") == 1


def _wait_count(handle, service: str, want: int = 1) -> int:
    deadline = time.monotonic() + 10
    while (got := handle.count(service=service, provider="openai_compatible")) < want and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def test_llmobs_run_instruments_an_unchanged_app_and_passes_its_exit_code(tmp_path):
    from llmobs.collector import Collector
    from llmobs.pytest_plugin import CollectorHandle

    llmobs_cmd = [sys.executable, "-m", "llmobs", "run", "--"]
    with Collector(str(tmp_path / "store"), http_port=0, grpc_port=None) as collector:
        proc = _run(tmp_path, llmobs_cmd, {
            "OTEL_SERVICE_NAME": "zero-code-run", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.http_endpoint,
            "OTEL_METRICS_EXPORTER": "none"}, "3", "--instrument-too")
        assert proc.returncode == 3, proc.stderr  # the app's sys.exit(3)
        assert "app done" in proc.stdout
        handle = CollectorHandle(collector)
        assert _wait_count(handle, "zero-code-run", 2) == 2  # two calls; the app's instrument() added nothing
        time.sleep(0.3)
        assert handle.count(service="zero-code-run") == 2


def test_llmobs_run_keeps_an_existing_sitecustomize_and_reports_a_bad_setting(tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import os\nos.environ['OWN_SITECUSTOMIZE'] = 'ran'\n")
    app = tmp_path / "check.py"
    app.write_text("import os, llmobs\nprint(os.environ.get('OWN_SITECUSTOMIZE'), llmobs._setup.is_instrumented())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(own)]), OTEL_TRACES_EXPORTER="none",
               OTEL_METRICS_EXPORTER="none")
    cmd = [sys.executable, "-m", "llmobs", "run", sys.executable, str(app)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ran", "True"]

    env["OTEL_TRACES_EXPORTER"] = "carrier-pigeon"  # a ConfigError: said on stderr, the app still runs
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.split() == ["ran", "False"]
    assert "llmobs run: not instrumented" in proc.stderr and "OTEL_TRACES_EXPORTER" in proc.stderr


def test_llmobs_run_usage_and_a_missing_command():
    from llmobs.__main__ import main

    assert main(["run"]) == 2
    assert main(["run", "--", "no-such-command-llmobs-test"]) == 127


def test_enable_and_disable_one_integration_on_a_running_instrumentation(llmobs_capture):
    """What the entry points share: the first one instruments with no integration, each adds its own."""
    import openai

    from llmobs import _setup
    from tests.support import openai_wire as w

    create = openai.resources.chat.completions.Completions.create
    _setup.enable_integration("openai")
    assert _setup.instrumented_integrations() == ["openai"]
    _setup.enable_integration("openai")  # twice: no second patch
    server = w.MockOpenAI()
    w.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert len(llmobs_capture.llm_calls()) == 1
    _setup.disable_integration("openai")
    assert openai.resources.chat.completions.Completions.create is create
    assert _setup.is_instrumented() and _setup.instrumented_integrations() == []
    w.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert len(llmobs_capture.llm_calls()) == 1
    _setup.enable_integration("openai")
    w.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert len(llmobs_capture.llm_calls()) == 2
    _setup.uninstrument()


def test_disabled_instrumentations_accepts_the_entry_point_names():
    from llmobs._config import load_config

    config = load_config(known_integrations=["openai", "anthropic"],
                         environ={"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "llmobs_openai, requests"})
    assert "openai" in config.disabled_integrations and "anthropic" not in config.disabled_integrations
