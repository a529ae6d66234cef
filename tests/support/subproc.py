"""Run a snippet in a fresh interpreter: OpenTelemetry globals can be set only once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_py(code: str, env: dict[str, str] | None = None, timeout: float = 60.0) -> dict:
    """Runs ``code``; its last stdout line must be a JSON object, which is returned."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
        env=full_env, cwd=str(ROOT),
    )
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    assert lines, f"no output; stderr:\n{proc.stderr}"
    return json.loads(lines[-1])
