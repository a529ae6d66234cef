"""The docs cannot drift from the code: every emitted name is documented, README commands exist."""

from __future__ import annotations

import os
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


# --- the docs site (mkdocs.yml, docs/hooks/reference.py) ------------------------------------------------------


def reference_hook():
    """docs/hooks/reference.py, the generator of the reference pages (an mkdocs hook, not a package)."""
    import importlib.util
    import sys

    name = "llmobs_docs_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "hooks" / "reference.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_generated_reference_covers_every_constant():
    ref = reference_hook()
    c = ref.constants()  # raises on a constant of a kind the generator does not know
    assert ref.undocumented() == [], "describe these in a table of docs/attributes.md"
    page = ref.render_telemetry()
    public = [k for k in vars(semconv) if k.isupper() and not k.startswith("_")]
    missing = [k for k in public if f"`{k}`" not in page and k not in c.other]
    assert missing == []
    for name in emitted_names():
        assert f"`{name}`" in page, name
    assert set(ref.metrics()) == set(c.metrics)
    assert len(c.attributes) > 50 and len(c.metrics) >= 17 and len(c.operations) == 8


def test_attribute_tables_match_the_metrics_code():
    """The hand-written metric tables of docs/attributes.md state what llmobs._metrics creates."""
    ref = reference_hook()
    found = ref.metrics()
    checked = set()
    for name, rows in ref.described().items():
        for row in rows:
            if "instrument" not in row.columns:
                continue
            assert name in found, name
            assert row.columns["instrument"] == found[name].instrument, name
            assert row.columns["unit"] == found[name].unit, name
            checked.add(name)
    assert checked == set(found)


def test_operations_table_matches_the_span_names():
    from llmobs import _manual

    ref = reference_hook()
    rows = ref.described()
    for kind, (op, _attribute) in _manual._OPS.items():
        row = rows[op][0]
        assert row.columns["span name"] == f"`{_manual._kind_attributes('{name}', kind)[0]}`", op
        assert row.columns["llmobs.span.kind"] == f"`{kind}`", op
    for op in semconv.LLM_OPERATIONS:
        assert rows[op][0].columns["span name"] == f"`{op} {{gen_ai.request.model}}`", op


def _nav_pages(items) -> list[str]:
    pages = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_docs_page_is_in_the_nav():
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True
    assert config["validation"]["nav"]["omitted_files"] == "warn"  # `strict` turns warnings into errors
    assert config["validation"]["links"]["anchors"] == "warn"
    nav = _nav_pages(config["nav"])
    assert len(nav) == len(set(nav))
    docs = ROOT / "docs"
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md") if "hooks" not in p.parts}
    generated = set(reference_hook().GENERATED_PAGES)
    assert sorted(pages | generated) == sorted(nav)
    assert not pages & generated, "generated pages are not committed"


def test_configuration_page_lists_every_option():
    import inspect

    import llmobs
    from llmobs import _config

    ref = reference_hook()
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in inspect.signature(llmobs.instrument).parameters:
        assert f"`{name}`" in doc, name
    for name in inspect.signature(_config.load_config).parameters:
        if name not in ("environ", "known_integrations"):
            assert f"`{name}`" in doc, name
    env = ref.env_vars()
    assert len(env) > 25
    for name in env:
        base = ref._per_signal(name)
        if base is None:
            assert f"`{name}`" in doc, name
        else:  # documented as "`OTEL_EXPORTER_OTLP_X`, and per signal"
            line = next(line for line in doc.splitlines() if f"`{base}`" in line)
            assert "per signal" in line or name in doc, name

    def row(env_name: str) -> str:
        return next(line for line in doc.splitlines() if line.startswith("|") and f"`{env_name}`" in line)

    defaults = _config.TailSampling()
    for env_name, value in (
        (_config.ENV_TAIL_SAMPLING_RATIO, defaults.ratio), (_config.ENV_TAIL_SAMPLING_LATENCY, defaults.latency_s),
        (_config.ENV_TAIL_SAMPLING_COST, defaults.cost_usd), (_config.ENV_TAIL_SAMPLING_MAX_SPANS, defaults.max_spans),
        (_config.ENV_TAIL_SAMPLING_MAX_AGE, defaults.max_age_s),
        (_config.ENV_MAX_CONTENT_LENGTH, _config.DEFAULT_MAX_CONTENT_LENGTH),
        (_config.ENV_METRICS_LAYOUT, _config.METRICS_LAYOUTS[0]),
    ):
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert row(env_name).rstrip(" |").endswith(f"`{shown}`"), env_name
    assert _config.load_config(environ={}).metrics_layout == _config.METRICS_LAYOUTS[0]
    assert _config.load_config(environ={}).max_content_length == _config.DEFAULT_MAX_CONTENT_LENGTH
    assert ref.ENV_MARKER in doc


def test_docs_site_builds_strictly(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "site" / "reference" / "telemetry" / "index.html").read_text()
    assert semconv.METRIC_LLMOBS_COST in page and "BUCKETS_COST_USD" in page
