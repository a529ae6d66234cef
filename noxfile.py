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


@nox.session
@nox.parametrize("openai", OPENAI_VERSIONS)
def openai_versions(session: nox.Session, openai: str) -> None:
    """The openai integration's tests on the newest 2.x (built on httpx) and 3.x (built on httpx2)."""
    session.install("-e", ".[test]")
    session.install(openai)  # after the test extra, whose framework packages may want a newer SDK
    session.run("python", "-c", "import openai; print('openai', openai.__version__)")
    session.run("pytest", "tests/test_openai.py", "tests/test_openai_wire.py", "tests/test_openai_cassettes.py",
                *session.posargs)


@nox.session
@nox.parametrize("anthropic", ANTHROPIC_VERSIONS)
def anthropic_versions(session: nox.Session, anthropic: str) -> None:
    """The anthropic integration's tests on the newest 1.x and 2.x."""
    session.install("-e", ".[test]")
    session.install(anthropic)  # after the test extra, whose framework packages may want a newer SDK
    session.run("python", "-c", "import anthropic; print('anthropic', anthropic.__version__)")
    session.run("pytest", "tests/test_anthropic.py", *session.posargs)


@nox.session
@nox.parametrize("google_genai", GOOGLE_GENAI_VERSIONS)
def google_genai_versions(session: nox.Session, google_genai: str) -> None:
    """The google_genai integration's tests on the newest 1.x, 2.x (built on httpx) and 3.x (built on httpx2)."""
    session.install("-e", ".[test]")
    session.install(google_genai)  # after the test extra, whose framework packages may want a newer SDK
    session.run("python", "-c", "import google.genai as g; print('google-genai', g.__version__)")
    session.run("pytest", "tests/test_google_genai.py", *session.posargs)


@nox.session
@nox.parametrize("langchain", LANGCHAIN_VERSIONS)
def langchain_versions(session: nox.Session, langchain: str) -> None:
    """The langchain integration's tests on the oldest and newest langchain-core 1.x."""
    session.install("-e", ".[test]", *langchain.split())
    session.run("python", "-c", "import langchain_core, langgraph; print('langchain-core', langchain_core.__version__)")
    session.run("pytest", "tests/test_langchain.py", "tests/test_example_langgraph.py", *session.posargs)


@nox.session
@nox.parametrize("llama_index", LLAMA_INDEX_VERSIONS)
def llama_index_versions(session: nox.Session, llama_index: str) -> None:
    """The llama_index integration's tests on the oldest and newest llama-index-core 0.14 (openai 2.x, which
    llama-index-llms-openai needs)."""
    session.install("-e", ".[test]", "-r", "tests/requirements-openai2.txt")
    session.install(llama_index, "llama-index-llms-openai", "llama-index-embeddings-openai", "openai<3")
    session.run("python", "-c", "import llama_index.core as c; print('llama-index-core', c.__version__)")
    session.run("pytest", "tests/test_llama_index.py", *session.posargs)


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
