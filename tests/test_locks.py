"""The lock files in locks/ hold what the project asks for, pinned and hash-checked.

`make test` installs only from them (`uv pip sync`), so a dependency added to pyproject.toml or
tests/requirements-openai2.txt without `make lock` would go untested on a fresh machine, or fail there: it
fails here instead. Nothing here reaches a registry; the files are read as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "locks"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]  # requires-python >= 3.10; the locks are universal


def parse_lock(path: Path) -> dict[str, list[tuple[Requirement, list[str]]]]:
    """Each locked distribution's entries (one per marker fork): the requirement line and its hashes."""
    entries: dict[str, list[tuple[Requirement, list[str]]]] = {}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace():
            assert current is not None, f"{path.name}: an option line before any requirement: {line!r}"
            current.extend(re.findall(r"--hash=(sha256:[0-9a-f]{64})", stripped))
            continue
        requirement = Requirement(stripped.rstrip("\\").strip())
        current = []
        entries.setdefault(canonicalize_name(requirement.name), []).append((requirement, current))
    return entries


def read_requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def project_requirements(*extras: str) -> list[Requirement]:
    """pyproject.toml's dependencies plus the given extras, self-references (``llmobs[openai,docs]``) expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    found = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in optional[extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == project["name"]:
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


# What each lock is made from (the Makefile's `lock` target).
INPUTS = {
    "main.txt": lambda: [*project_requirements("dev"), *read_requirements(LOCKS / "build.in")],
    "openai2.txt": lambda: [*project_requirements("test"), *read_requirements(ROOT / "tests" / "requirements-openai2.txt"),
                            *read_requirements(LOCKS / "build.in")],
    "uv.txt": lambda: read_requirements(LOCKS / "uv.in"),
}


def environment(python: str) -> dict[str, str]:
    env = dict(default_environment())
    env.update(python_version=python, python_full_version=f"{python}.0")
    return env


def applies(requirement: Requirement, env: dict[str, str]) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(env)


@pytest.mark.parametrize("lock", sorted(INPUTS))
def test_every_locked_distribution_is_an_exact_version_with_hashes(lock):
    entries = parse_lock(LOCKS / lock)
    assert len(entries) >= 1
    for name, forks in entries.items():
        for requirement, hashes in forks:
            specifiers = list(requirement.specifier)
            assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{lock}: {requirement} is not pinned"
            assert hashes, f"{lock}: {name} has no hash"
            assert not requirement.url, f"{lock}: {name} comes from a URL"


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("lock", sorted(INPUTS))
def test_the_lock_pins_every_requirement_on_every_supported_python(lock, python):
    """Each direct requirement has exactly one locked release for this Python, and that release satisfies it:
    edit a requirement and forget `make lock`, and this fails."""
    entries = parse_lock(LOCKS / lock)
    env = environment(python)
    for wanted in INPUTS[lock]():
        if not applies(wanted, env):
            continue
        forks = [r for r, _ in entries.get(canonicalize_name(wanted.name), []) if applies(r, env)]
        assert len(forks) == 1, f"{lock}: {wanted.name} on Python {python}: {[str(r) for r in forks]} (run `make lock`)"
        version = next(iter(forks[0].specifier)).version
        assert wanted.specifier.contains(version, prereleases=True), (
            f"{lock}: {wanted.name}=={version} does not satisfy {wanted} (run `make lock`)")


def test_each_environment_gets_its_own_openai():
    """The reason there are two locks: the main environment tests openai 3.x (httpx2), the second 2.x (httpx)."""
    env = environment("3.11")

    def openai_major(lock: str) -> int:
        (requirement,) = [r for r, _ in parse_lock(LOCKS / lock)["openai"] if applies(r, env)]
        return int(next(iter(requirement.specifier)).version.split(".")[0])

    assert openai_major("main.txt") >= 3
    assert openai_major("openai2.txt") == 2


def test_make_installs_the_test_environments_from_the_locks_only():
    """`make test` and `make demo` never install an unpinned package: each install in the Makefile is a
    hash-checked lock, llmobs itself without dependencies, or constrained by the main lock; .ci/run runs
    `make test`."""
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    recipes = [line.strip() for line in makefile.splitlines() if not line.lstrip().startswith("#")]
    installs = [line for line in recipes if re.search(r"\bpip (install|sync)\b", line)]
    assert len(installs) >= 4  # uv itself, sync, llmobs itself, the demo
    for line in installs:
        locked = "--require-hashes" in line and re.search(r"locks/\S+\.txt|\$\(2\)", line)
        itself = "--no-deps" in line and line.endswith("-e .")
        constrained = "--constraint $(LOCK)" in line and "--build-constraint $(LOCK)" in line
        assert locked or itself or constrained, line
    assert "make test" in (ROOT / ".ci" / "run").read_text()
