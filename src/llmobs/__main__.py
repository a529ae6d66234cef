"""The ``llmobs`` command line."""

from __future__ import annotations

import argparse
import sys

from .version import __version__


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["fake-llm"]:  # its own options: see `llmobs fake-llm --help`
        from .fake_llm import main as fake_llm_main

        return fake_llm_main(args_list[1:])
    if args_list[:1] == ["run"]:  # the rest is the command: `llmobs run -- python app.py`
        from ._run import main as run_main

        return run_main(args_list[1:])
    parser = argparse.ArgumentParser(prog="llmobs", description="LLM observability on OpenTelemetry.")
    parser.add_argument("--version", action="version", version=f"llmobs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run an instrumented demo app against a local OTLP receiver and print what it saw")
    sub.add_parser("fake-llm", help="run the offline fake LLM server (OpenAI, Anthropic, Gemini wire formats)")
    sub.add_parser("run", help="run a command with llmobs instrumentation on, no code changes: llmobs run -- python app.py")
    from .collector.cli import add_commands

    add_commands(sub)
    args = parser.parse_args(args_list)
    if args.command == "demo":
        from .demo import main as demo_main

        demo_main()
        return 0
    from .collector.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
