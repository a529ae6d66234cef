"""The README demo runs offline and prints the trace and the per-model table it received over OTLP."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.subproc import ROOT


def test_demo_prints_what_the_receiver_saw():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    proc = subprocess.run([sys.executable, "-m", "llmobs", "demo"], capture_output=True, text=True, timeout=120,
                          env=env, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    assert "already shutdown" not in proc.stderr + proc.stdout  # shutdown, then the exit hook: quiet
    out = proc.stdout
    assert "invoke_workflow support-bot" in out
    assert "execute_tool get_order_status" in out
    assert "chat claude-sonnet-4-5" in out and "ttft" in out
    assert "ERROR TimeoutError" in out
    assert "unpriced" in out and "-*" in out  # the local model: unpriced, never $0
    assert "score helpfulness" in out
    assert "user=user-42" in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith(("openai ", "anthropic "))}
    assert set(lines) == {"gpt-4o-mini", "claude-sonnet-4-5"}
    assert "gen_ai.client.operation.duration" in out


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
