"""examples/llamaindex_rag.py runs offline (against the bundled fake LLM server) and shows the trace it made."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.subproc import ROOT

pytest.importorskip(
    "llama_index.llms.openai",
    reason="llama-index-llms-openai needs openai<3: runs in the openai-2 test environment (make test runs it)",
)
pytest.importorskip("llama_index.embeddings.openai")


def test_llamaindex_rag_example_runs_offline_and_prints_the_trace():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "LLMOBS_")) and k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "llamaindex_rag.py")], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    answer = out.split("A: ", 1)[1].split("\n", 1)[0]
    assert "canned reply from the llmobs fake LLM server" in answer
    tree = out.split("The trace, as the collector stored it:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    names = [line.lstrip(" │├└─").split("  [", 1)[0] for line in tree]
    assert names == [
        "invoke_workflow RetrieverQueryEngine",
        "retrieval VectorIndexRetriever",
        "embeddings text-embedding-3-small",  # the question's embedding, inside the retrieval
        "CompactAndRefine.synthesize",
        "chat gpt-4o-mini",  # one span per model call: the openai integration's
    ]
    depth = [len(line) - len(line.lstrip(" │├└─")) for line in tree]
    assert depth == [0, 3, 6, 3, 6]
    assert "openai/gpt-4o-mini" in tree[-1] and "tok" in tree[-1] and "$" in tree[-1]
    assert "3 calls, total cost $" in out  # the documents' embedding (its own trace), the question's, the chat
    assert "Traceback" not in proc.stderr
