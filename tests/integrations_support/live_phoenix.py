"""llmobs spans delivered to a real Arize Phoenix (``phoenix serve`` from PyPI) over OTLP/HTTP, read back
through Phoenix's REST API.

Run by ``nox -s integration_phoenix`` (not part of the default ``pytest`` run: the file name does not match
``test_*.py``). Needs ``arize-phoenix`` installed in the running environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import llmobs
from llmobs import semconv as sc
from llmobs.fake_llm import FakeLLMServer
from tests.integrations_support import procs
from tests.integrations_support import workload as w

PROJECT = "llmobs-integration"


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Any:
    binary = shutil.which("phoenix", path=str(Path(sys.executable).parent)) or shutil.which("phoenix")
    assert binary, "arize-phoenix is not installed"
    tmp = tmp_path_factory.mktemp("phoenix")
    port, grpc_port = procs.free_port(), procs.free_port()
    env = {**os.environ, "PHOENIX_WORKING_DIR": str(tmp / "work"), "PHOENIX_HOST": "127.0.0.1",
           "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(grpc_port), "PHOENIX_TELEMETRY_ENABLED": "false"}
    log_path = tmp / "phoenix.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        procs.wait_until(lambda: procs.get_json(f"{url}/v1/projects") is not None, 180, "phoenix ready", proc,
                         str(log_path))
        yield url
    finally:
        procs.stop(proc)


@pytest.fixture(scope="module")
def spans(phoenix: str) -> dict[str, dict[str, Any]]:
    """Send one round of calls inside a workflow; return Phoenix's spans by name once all have arrived."""
    llmobs.instrument(service_name="llmobs-phoenix-test", endpoint=phoenix, metrics_exporter="none",
                      headers={"x-project-name": PROJECT}, integrations=["openai"])
    try:
        with FakeLLMServer(port=0, latency=0.0, chunk_delay=0.0) as server:
            client = w.openai_client(server.url)
            try:
                with llmobs.span("answer", kind="workflow"):
                    w.make_calls(client)
            finally:
                w.forget_provider(server.url)
        assert llmobs.flush(timeout=10)
    finally:
        llmobs.uninstrument()

    def fetch() -> dict[str, dict[str, Any]]:
        query = urllib.parse.urlencode({"limit": 100})
        data = procs.get_json(f"{phoenix}/v1/projects/{PROJECT}/spans?{query}")["data"]
        by_name = {span["name"]: span for span in data}
        return by_name if len(by_name) >= 5 else {}

    return procs.wait_until(fetch, 30, "five spans in Phoenix")


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    return span["attributes"]


def test_llm_spans_arrive_with_model_and_tokens(spans):
    chat = spans[f"chat {w.CHAT_MODEL}"]
    a = _attrs(chat)
    assert a[sc.GEN_AI_REQUEST_MODEL] == w.CHAT_MODEL
    assert a[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0 and a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert a[sc.LLMOBS_COST_TOTAL] > 0
    assert a[sc.USER_ID] == w.USER_ID and a[sc.SESSION_ID] == "session-7"
    # Phoenix's own view of it, translated from the GenAI attributes
    assert chat["span_kind"] == "LLM"
    assert a["llm.model_name"] == w.CHAT_MODEL
    assert a["llm.token_count.prompt"] == a[sc.GEN_AI_USAGE_INPUT_TOKENS]
    assert a["llm.token_count.completion"] == a[sc.GEN_AI_USAGE_OUTPUT_TOKENS]


def test_stream_failure_embedding_and_trace_structure(spans):
    stream = _attrs(spans[f"chat {w.STREAM_MODEL}"])
    assert stream[sc.GEN_AI_REQUEST_STREAM] is True and stream[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    failed = spans[f"chat {w.ERROR_MODEL}"]
    assert failed["status_code"] == "ERROR"
    assert _attrs(failed)[sc.ERROR_TYPE] == "openai.InternalServerError"
    embedding = spans[f"embeddings {w.EMBEDDING_MODEL}"]
    assert embedding["span_kind"] == "EMBEDDING"
    assert _attrs(embedding)["embedding.model_name"] == w.EMBEDDING_MODEL
    root = spans["invoke_workflow answer"]
    assert root["parent_id"] is None
    trace_ids = {span["context"]["trace_id"] for span in spans.values()}
    assert trace_ids == {root["context"]["trace_id"]}
    for name, span in spans.items():
        if span is not root:
            assert span["parent_id"] == root["context"]["span_id"], name
