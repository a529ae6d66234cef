"""examples/langgraph_agent.py runs offline: a LangGraph agent on langchain-openai against the fake LLM server,
its trace stored by the bundled collector and printed."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.subproc import ROOT


def test_langgraph_agent_example_runs_offline():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_", "OPENAI_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "langgraph_agent.py")], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert 'agent answered: The tool says: "Sunny and 21 degrees in Paris"' in out
    lines = [line.strip(" │├└─") for line in out.splitlines()]
    assert sum(line.startswith("execute_tool get_weather") for line in lines) == 1
    assert any(line.startswith("invoke_agent weather-agent") for line in lines)
    chats = [line for line in lines if line.startswith("chat gpt-4o-mini")]
    assert len(chats) == 2 and all("openai/gpt-4o-mini" in c and "$" in c for c in chats)  # one span per call
    assert "2 calls, total cost $" in out
