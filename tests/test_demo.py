"""The README demo runs offline: the real openai and anthropic SDKs against the fake LLM server, exported over OTLP to the\nreference collector, which prints the stored trace and the per-model report."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.subproc import ROOT


def test_demo_prints_what_the_collector_stored():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    proc = subprocess.run([sys.executable, "-m", "llmobs", "demo"], capture_output=True, text=True, timeout=120,
                          env=env, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    assert "already shutdown" not in proc.stderr + proc.stdout  # shutdown, then the exit hook: quiet
    out = proc.stdout
    assert "invoke_workflow support-bot" in out
    assert "invoke_agent order-agent" in out and "execute_tool get_order_status" in out
    assert "chat gpt-4.1" in out and "ttft" in out  # the real openai SDK, streamed, through the fake server
    assert "embeddings text-embedding-3-small" in out
    assert "ERROR openai.RateLimitError" in out  # the 429, as the SDK raised it
    assert "score helpfulness" in out
    rows = {tuple(line.split()[:2]): line for line in out.splitlines()
            if line.split()[:1] in (["openai"], ["anthropic"], ["ollama"], ["x_ai"])}
    assert set(rows) == {("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("openai", "text-embedding-3-small"),
                         ("anthropic", "claude-sonnet-4-6"), ("ollama", "llama3.2"), ("x_ai", "grok-4-error-429")}
    assert rows[("openai", "gpt-4o-mini")].split()[2] == "3"  # calls
    assert rows[("x_ai", "grok-4-error-429")].split()[3] == "100.0%"  # error rate
    assert rows[("ollama", "llama3.2")].rstrip().endswith("-")  # unpriced: no cost, never $0
    assert rows[("anthropic", "claude-sonnet-4-6")].split()[2] == "2"  # the real anthropic SDK, twice
    costs = [float(line.rsplit("$", 1)[1].rstrip("]")) for line in out.splitlines() if "chat claude-sonnet-4-6" in line]
    assert len(costs) == 2 and costs[1] < costs[0] / 3  # the cached system prompt: written once, then read
    assert "9 calls, total cost $" in out


def test_cli_version_and_usage():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    import llmobs

    out = subprocess.run([sys.executable, "-m", "llmobs", "--version"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"llmobs {llmobs.__version__}"
    bad = subprocess.run([sys.executable, "-m", "llmobs", "nonsense"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
