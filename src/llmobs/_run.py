"""``llmobs run [--] COMMAND [ARGS...]``: run a program with llmobs instrumentation on, without code changes.

The command is exec'd (it replaces this process, so signals and the exit code are its own) with the folder
of llmobs's ``sitecustomize`` first on ``PYTHONPATH``: every Python interpreter it starts, and the Python
programs those start, call ``llmobs.instrument()`` at start-up. Configure with the usual ``OTEL_*`` and
``LLMOBS_*`` environment variables (docs/zero-code.md).
"""

from __future__ import annotations

import os
import subprocess
import sys

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")
USAGE = """usage: llmobs run [--] COMMAND [ARGS...]

Run COMMAND (e.g. `python app.py`, `gunicorn app:app`) with llmobs instrumentation on in every Python
process it starts. Configure with OTEL_* / LLMOBS_* environment variables, e.g.
  OTEL_SERVICE_NAME=my-app OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 llmobs run -- python app.py
"""


def command_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the command runs with: ``environ`` with the bootstrap folder first on PYTHONPATH."""
    env = dict(os.environ if environ is None else environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != BOOTSTRAP_DIR]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *parts])
    return env


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        (sys.stdout if argv else sys.stderr).write(USAGE)
        return 0 if argv else 2
    env = command_env()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":  # no exec there that keeps the exit code: wait for the child instead
        return subprocess.call(argv, env=env)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        sys.stderr.write(f"llmobs run: cannot run {argv[0]!r}: {exc.strerror or exc}\n")
        return 127 if isinstance(exc, FileNotFoundError) else 126
    return 0  # pragma: no cover - exec does not return
