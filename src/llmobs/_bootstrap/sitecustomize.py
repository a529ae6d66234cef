"""Run at interpreter start-up in every Python process ``llmobs run`` starts (this folder is put first on
PYTHONPATH). It runs the ``sitecustomize`` module it hides, if there is one (so a setup that configures
OpenTelemetry there is in place first), then ``llmobs.instrument()``, configured by the ``OTEL_*`` and
``LLMOBS_*`` environment variables. It never stops the program: on a failure it says why on stderr and the
program runs uninstrumented.
"""

import os
import sys


def _run_hidden_sitecustomize() -> None:
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _start() -> None:
    try:
        _run_hidden_sitecustomize()
    except Exception as exc:
        sys.stderr.write(f"llmobs run: the program's own sitecustomize failed: {exc!r}\n")
    try:
        import llmobs

        llmobs.instrument()
    except Exception as exc:
        sys.stderr.write(f"llmobs run: not instrumented: {exc}\n")


_start()
