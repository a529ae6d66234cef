"""The ``llmobs`` command line."""

from __future__ import annotations

import argparse
import sys

from .version import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmobs", description="LLM observability on OpenTelemetry.")
    parser.add_argument("--version", action="version", version=f"llmobs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run an instrumented demo app against a local OTLP receiver and print what it saw")
    from .collector.cli import add_commands

    add_commands(sub)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import main as demo_main

        demo_main()
        return 0
    from .collector.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
