"""nox sessions: the locked suite, the version matrix, the newest releases (`make test-newest`), lint, typecheck
and the real backends of integrations/. `make test` is what CI runs."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "openai_versions", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
# uv makes the environments when it is on PATH (`make` puts the locked one there), else virtualenv and pip.
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"  # an interpreter that is not installed is skipped, never fetched

# The locks `make test` installs (see the Makefile's `lock` target): exact versions and hashes, transitive
# dependencies included. Sessions start from one, so that what they test is what CI tested.
LOCK = "locks/main.txt"
LOCK_OPENAI2 = "locks/openai2.txt"
OPENAI2_SUITE = [line for line in Path("tests/openai2-suite.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#")]


def _install_locked(session: nox.Session, lock: str = LOCK) -> None:
    """Exactly the lock's packages, then llmobs itself (editable, built by the lock's hatchling)."""
    session.install("--require-hashes", "--no-deps", "-r", lock)
    session.install("--no-deps", "--no-build-isolation", "-e", ".")


def _print_versions(session: nox.Session) -> None:
    """Every installed distribution and its version, for the log (an environment made by uv has no pip)."""
    session.run("python", "-c", "import importlib.metadata as m; print('\\n'.join(sorted("
                "f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions())))", silent=False)


@nox.session
def tests(session: nox.Session) -> None:
    """The main suite in the locked environment (`make test` runs it, and the rest, in .venv)."""
    _install_locked(session)
    session.run("pytest", *session.posargs)


@nox.session(python=["3.10", "3.11", "3.12", "3.13"])
def tests_matrix(session: nox.Session) -> None:
    """The suite on every supported Python that is installed (missing interpreters are skipped); the locks are
    universal, so each one gets the lock's versions for its Python."""
    _install_locked(session)
    session.run("pytest", *session.posargs)


# --- the newest releases, unpinned (`make test-newest`): how upstream breakage is found on purpose ---

@nox.session
def newest(session: nox.Session) -> None:
    """The main suite and the Prometheus check on the newest release of every dependency (no lock). A failure
    here that `make test` does not show is an upstream change: fix it, then `make lock UPGRADE=1`."""
    _install_prometheus(session)
    session.install("--upgrade", "-e", ".[test]")
    _print_versions(session)
    session.run("pytest", *session.posargs)
    session.run("pytest", "tests/integrations_support/live_prometheus.py")


@nox.session
def newest_openai2(session: nox.Session) -> None:
    """The second environment's suite (openai 2.x and the packages that pin it) on the newest releases."""
    session.install("--upgrade", "-e", ".[test]", "-r", "tests/requirements-openai2.txt")
    _print_versions(session)
    session.run("pytest", *OPENAI2_SUITE, *session.posargs)


# The oldest supported release and the newest of each supported major version of each library: the
# integration's tests run on each (the README's supported-libraries table states these ranges).
OPENAI_VERSIONS = ["openai==2.0.*", "openai>=2,<3", "openai>=3,<4"]
ANTHROPIC_VERSIONS = ["anthropic==1.0.*", "anthropic>=1,<2", "anthropic>=2,<3"]
# google-genai before 1.75 fails most of the integration tests (older SDK internals): 1.75 is the oldest supported.
GOOGLE_GENAI_VERSIONS = ["google-genai==1.75.*", "google-genai>=2,<3", "google-genai>=3,<4"]
LLAMA_INDEX_VERSIONS = ["llama-index-core==0.14.5", "llama-index-core>=0.14,<0.15"]
# The oldest and the newest supported LangChain 1.x (with the LangGraph and provider packages of the same line).
LANGCHAIN_VERSIONS = [
    # langgraph-prebuilt releases after 1.0.1 import names that langgraph 1.0.x lacks: pin a set that works
    "langchain-core==1.0.* langgraph==1.0.* langgraph-prebuilt==1.0.1 langgraph-checkpoint==3.0.* "
    "langchain-openai==1.0.* langchain-anthropic==1.0.*",
    "langchain-core>=1,<2 langgraph>=1,<2 langchain-openai>=1,<2 langchain-anthropic>=1,<2",
]


def _tests_on(session: nox.Session, pins: list[str], distribution: str, tests: list[str], *,
              lock: str = LOCK) -> None:
    """Install the locked environment, then ``pins`` over it (the library under test at the release asked
    for, with what that release needs moved to match), print the installed version of ``distribution``, and
    run ``tests``."""
    _install_locked(session, lock)
    session.install(*pins)
    session.run("python", "-c", f"import importlib.metadata as m; print({distribution!r}, m.version({distribution!r}))")
    session.run("pytest", *tests, *session.posargs)


@nox.session
@nox.parametrize("openai", OPENAI_VERSIONS)
def openai_versions(session: nox.Session, openai: str) -> None:
    """The openai integration's tests on openai 2.0, the newest 2.x (httpx) and the newest 3.x (httpx2)."""
    _tests_on(session, [openai], "openai",
              ["tests/test_openai.py", "tests/test_openai_wire.py", "tests/test_openai_cassettes.py"])


@nox.session
@nox.parametrize("anthropic", ANTHROPIC_VERSIONS)
def anthropic_versions(session: nox.Session, anthropic: str) -> None:
    """The anthropic integration's tests on anthropic 1.0, the newest 1.x and the newest 2.x."""
    _tests_on(session, [anthropic], "anthropic", ["tests/test_anthropic.py"])


@nox.session
@nox.parametrize("google_genai", GOOGLE_GENAI_VERSIONS)
def google_genai_versions(session: nox.Session, google_genai: str) -> None:
    """The google_genai integration's tests on google-genai 1.75, the newest 2.x and the newest 3.x."""
    _tests_on(session, [google_genai], "google-genai", ["tests/test_google_genai.py"])


@nox.session
@nox.parametrize("langchain", LANGCHAIN_VERSIONS)
def langchain_versions(session: nox.Session, langchain: str) -> None:
    """The langchain integration's tests on the oldest and newest langchain-core 1.x (the LangGraph and provider
    packages of the same line installed together: their releases must match each other)."""
    _tests_on(session, langchain.split(), "langchain-core",
              ["tests/test_langchain.py", "tests/test_example_langgraph.py"])


@nox.session
@nox.parametrize("llama_index", LLAMA_INDEX_VERSIONS)
def llama_index_versions(session: nox.Session, llama_index: str) -> None:
    """The llama_index integration's tests on llama-index-core 0.14.5 and the newest 0.14 (openai 2.x, which
    llama-index-llms-openai needs)."""
    _tests_on(session, [llama_index, "llama-index-llms-openai", "llama-index-embeddings-openai", "openai<3"],
              "llama-index-core", ["tests/test_llama_index.py"], lock=LOCK_OPENAI2)


@nox.session
def lint(session: nox.Session) -> None:
    _install_locked(session)
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    _install_locked(session)
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    _install_locked(session)
    session.run("python", "benchmarks/run.py")
    session.run("python", "benchmarks/bench_openai.py")


# --- integrations/: real backends (outside the default sessions: they install servers and take a minute) ---

def _install_prometheus(session: nox.Session) -> None:
    """Debian's prometheus package (2.42 on bookworm) when it is missing; installing needs root."""
    import os
    import shutil

    if shutil.which("prometheus"):
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        session.error("prometheus is not on PATH: install it (Debian: apt-get install -y prometheus)")
    session.run("apt-get", "update", "-q", external=True)
    session.run("apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus", external=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session
def integration_prometheus(session: nox.Session) -> None:
    """integrations/grafana's dashboard queries against a real Prometheus scraping an instrumented app."""
    _install_prometheus(session)
    _install_locked(session)
    session.run("pytest", "tests/integrations_support/live_prometheus.py", *session.posargs)


@nox.session
def integration_phoenix(session: nox.Session) -> None:
    """llmobs spans sent to a real Arize Phoenix (`phoenix serve`) and read back through its REST API. Not
    locked: Phoenix is a third-party server at its newest release, installed with what it needs."""
    session.install("-e", ".[openai]", "pytest>=8", "arize-phoenix")
    session.run("pytest", "tests/integrations_support/live_phoenix.py", *session.posargs)
