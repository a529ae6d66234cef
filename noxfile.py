"""nox sessions: tests, lint (ruff), typecheck (mypy). ``nox -s tests`` runs what CI runs."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "openai_versions", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=["3.10", "3.11", "3.12", "3.13"])
def tests_matrix(session: nox.Session) -> None:
    """The suite on every supported Python that is installed (missing interpreters are skipped)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


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
              extra_requirements: tuple[str, ...] = (), with_extra: bool = False) -> None:
    """Install llmobs's test extra and then ``pins`` (after it, since the extra's framework packages may want
    a newer SDK than an old pin; ``with_extra`` resolves them together instead), print the installed version
    of ``distribution``, and run ``tests``."""
    if with_extra:
        session.install("-e", ".[test]", *extra_requirements, *pins)
    else:
        session.install("-e", ".[test]", *extra_requirements)
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
    """The langchain integration's tests on the oldest and newest langchain-core 1.x (the LangGraph packages
    resolved together with the test extra: their releases must match each other)."""
    _tests_on(session, langchain.split(), "langchain-core",
              ["tests/test_langchain.py", "tests/test_example_langgraph.py"], with_extra=True)


@nox.session
@nox.parametrize("llama_index", LLAMA_INDEX_VERSIONS)
def llama_index_versions(session: nox.Session, llama_index: str) -> None:
    """The llama_index integration's tests on llama-index-core 0.14.5 and the newest 0.14 (openai 2.x, which
    llama-index-llms-openai needs)."""
    _tests_on(session, [llama_index, "llama-index-llms-openai", "llama-index-embeddings-openai", "openai<3"],
              "llama-index-core", ["tests/test_llama_index.py"],
              extra_requirements=("-r", "tests/requirements-openai2.txt"))


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]")
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
    session.install("-e", ".[openai]", "pytest>=8", "opentelemetry-exporter-prometheus")
    session.run("pytest", "tests/integrations_support/live_prometheus.py", *session.posargs)


@nox.session
def integration_phoenix(session: nox.Session) -> None:
    """llmobs spans sent to a real Arize Phoenix (`phoenix serve`) and read back through its REST API."""
    session.install("-e", ".[openai]", "pytest>=8", "arize-phoenix")
    session.run("pytest", "tests/integrations_support/live_phoenix.py", *session.posargs)
