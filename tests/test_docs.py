"""The docs cannot drift from the code: every emitted name is documented, README commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from llmobs import semconv

ROOT = Path(__file__).resolve().parents[1]


def emitted_names() -> set[str]:
    names = set()
    for key, value in vars(semconv).items():
        if not key.isupper() or not isinstance(value, str):
            continue
        if key in ("SCOPE_NAME", "SCHEMA_URL", "LLMOBS_PREFIX", "LLMOBS_METADATA_PREFIX"):
            continue
        if re.fullmatch(r"(gen_ai|llmobs|server|error|user|session|openai)\.[a-z0-9_.]+", value):
            names.add(value)
    return names


def test_every_emitted_name_is_documented():
    doc = (ROOT / "docs" / "attributes.md").read_text()
    missing = sorted(n for n in emitted_names() if f"`{n}`" not in doc)
    assert missing == []
    assert len(emitted_names()) > 60


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in readme and "make test" in readme
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_configuration_env_var_is_documented():
    from llmobs import _config

    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in (_config.ENV_INTEGRATIONS, _config.ENV_PRICES_FILE, _config.ENV_METRICS_LAYOUT,
                 _config.ENV_MAX_CONTENT_LENGTH, semconv.ENV_CAPTURE_MESSAGE_CONTENT, "OTEL_SDK_DISABLED",
                 _config.ENV_REDACT, "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        assert name in doc, name
    tail = [v for k, v in vars(_config).items() if k.startswith("ENV_TAIL_SAMPLING")]
    assert len(tail) == 6
    for name in (*tail, "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"):
        assert name in doc, name
