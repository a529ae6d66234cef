"""The generated reference pages of the docs site (an mkdocs hook; also importable by tests/test_docs.py).

Names come from the code, descriptions from the hand-written docs, so neither can drift:

- ``reference/telemetry.md``: every constant of ``llmobs/semconv.py`` (attributes, operations, events,
  metrics, values), with the metrics' instrument, unit, description, buckets, layouts and attributes read off
  ``llmobs._metrics.Metrics`` by running it against a recording meter. Descriptions and types are taken from
  the tables of ``docs/attributes.md`` (first cell: the names; columns ``Type`` and ``When``/``Notes``/...).
  A name without a description there stops the build.
- ``<!-- llmobs:env-vars -->`` in ``docs/configuration.md`` becomes the list of every environment variable
  ``llmobs/_config.py`` reads, found in its source (per-signal ``OTEL_*`` names expanded).

Run ``python docs/hooks/reference.py`` to print the telemetry page.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
if str(ROOT / "src") not in sys.path:  # a build from a checkout without `pip install -e .`
    sys.path.append(str(ROOT / "src"))

from llmobs import _metrics, semconv  # noqa: E402

TELEMETRY_PAGE = "reference/telemetry.md"
GENERATED_PAGES = (TELEMETRY_PAGE,)
ENV_MARKER = "<!-- llmobs:env-vars -->"
LAYOUTS = ("v1.41", "latest")
SIGNALS = ("TRACES", "METRICS", "LOGS")
_NAME = re.compile(r"`([a-z_]+(?:\.[a-z0-9_<>]+)+)`")
_OPERATION = re.compile(r"`([a-z_]+)`")
_DESCRIPTION_COLUMNS = ("when", "notes", "set on", "description", "meaning")

# --- semconv: every constant, by kind ------------------------------------------------------------------------


@dataclass
class Constants:
    attributes: dict[str, str] = field(default_factory=dict)  # value -> constant name
    deprecated: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    operations: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # attribute -> [(value, constant)]
    other: dict[str, str] = field(default_factory=dict)  # constant -> what it is (scope, buckets, ...)


# Value constants: prefix -> the attribute (or setting) whose values they are.
_VALUE_PREFIXES = (
    ("KIND_", semconv.LLMOBS_SPAN_KIND),
    ("FINISH_", semconv.GEN_AI_RESPONSE_FINISH_REASONS),
    ("COST_SOURCE_", semconv.LLMOBS_COST_SOURCE),
    ("COST_", semconv.LLMOBS_COST_STATUS),
    ("ERROR_TYPE_", semconv.ERROR_TYPE),
    ("CAPTURE_", semconv.ENV_CAPTURE_MESSAGE_CONTENT),
)
_OTHER = {
    "SCOPE_NAME": "instrumentation scope name",
    "SCHEMA_URL": "schema URL of the instrumentation scope",
    "LLMOBS_PREFIX": "prefix of llmobs's own names",
    "ENV_CAPTURE_MESSAGE_CONTENT": "content capture environment variable (see Configuration)",
    "INFERENCE_OPERATIONS": "operations recorded as inference",
    "LLM_OPERATIONS": "operations of LLM spans",
}


def constants() -> Constants:
    """Every public constant of semconv, classified; an unknown kind of constant raises (the build fails)."""
    out = Constants()
    for key, value in vars(semconv).items():
        if not key.isupper() or key.startswith("_"):
            continue
        if key in _OTHER:
            out.other[key] = _OTHER[key]
        elif key.startswith("BUCKETS_"):
            out.other[key] = "histogram bucket boundaries"
        elif key.startswith("METRIC_"):
            out.metrics[value] = key
        elif key.startswith("EVENT_"):
            out.events[value] = key
        elif key.startswith("OP_"):
            out.operations[value] = key
        elif key.startswith("DEPRECATED_"):
            out.deprecated[value] = key
        elif key == "LLMOBS_METADATA_PREFIX":
            out.attributes[value + "<key>"] = key
        elif any(key.startswith(prefix) for prefix, _ in _VALUE_PREFIXES):
            attribute = next(attr for prefix, attr in _VALUE_PREFIXES if key.startswith(prefix))
            out.values.setdefault(attribute, []).append((value, key))
        elif isinstance(value, str) and re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)+", value):
            out.attributes[value] = key
        else:
            raise ValueError(f"semconv.{key}: unknown kind of constant; classify it in docs/hooks/reference.py")
    return out


# --- descriptions: the tables of docs/attributes.md -----------------------------------------------------------


@dataclass
class Row:
    section: str
    type: str
    description: str
    columns: dict[str, str]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def described(text: str | None = None) -> dict[str, list[Row]]:
    """Name -> the table rows of docs/attributes.md that name it in their first cell."""
    if text is None:
        text = (DOCS / "attributes.md").read_text()
    rows: dict[str, list[Row]] = defaultdict(list)
    section = ""
    header: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            header = None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [c.lower().strip("`") for c in cells]
            continue
        if set(line) <= set("|-: "):
            continue
        columns = dict(zip(header, cells, strict=False))
        description = next((columns[c] for c in _DESCRIPTION_COLUMNS if columns.get(c)), "")
        row = Row(section, columns.get("type", ""), description, columns)
        pattern = _OPERATION if header[0] == "operation" else _NAME
        for name in pattern.findall(cells[0]):
            rows[name].append(row)
    return rows


def undocumented(text: str | None = None) -> list[str]:
    """The semconv names (attributes, operations, events, metrics, deprecated) with no description."""
    c = constants()
    rows = described(text)
    names = [*c.attributes, *c.operations, *c.events, *c.metrics, *c.deprecated]
    return sorted(n for n in names if not any(r.description for r in rows.get(n, ())))


# --- metrics: run llmobs._metrics.Metrics against a recording meter -------------------------------------------


@dataclass
class Metric:
    name: str
    instrument: str
    unit: str
    description: str
    buckets: tuple[float, ...] | None
    layouts: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)


class _Instrument:
    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def record(self, value: float, attributes: dict[str, Any] | None = None) -> None:
        self.metric.attributes.update(attributes or {})

    add = record


class _Meter:
    def __init__(self, found: dict[str, Metric], layout: str) -> None:
        self.found = found
        self.layout = layout

    def _create(self, instrument: str, name: str, unit: str = "", description: str = "",
                explicit_bucket_boundaries_advisory: Any = None) -> _Instrument:
        buckets = tuple(explicit_bucket_boundaries_advisory) if explicit_bucket_boundaries_advisory else None
        metric = self.found.setdefault(name, Metric(name, instrument, unit, description, buckets))
        if (metric.instrument, metric.unit) != (instrument, unit):
            raise ValueError(f"{name}: created as {metric.instrument} {metric.unit} and {instrument} {unit}")
        metric.layouts.add(self.layout)
        return _Instrument(metric)

    def create_histogram(self, name: str, **kwargs: Any) -> _Instrument:
        return self._create("histogram", name, **kwargs)

    def create_counter(self, name: str, **kwargs: Any) -> _Instrument:
        return self._create("counter", name, **kwargs)

    def create_up_down_counter(self, name: str, **kwargs: Any) -> _Instrument:
        return self._create("up-down counter", name, **kwargs)

    def create_gauge(self, name: str, **kwargs: Any) -> _Instrument:
        return self._create("gauge", name, **kwargs)


def metrics() -> dict[str, Metric]:
    """Every metric llmobs can create, with the attributes it records (all layouts, every kind of call)."""
    from llmobs import _manual

    found: dict[str, Metric] = {}
    for layout in LAYOUTS:
        m = _metrics.Metrics(_Meter(found, layout), layout)
        usage = (100, 20, 10, 5, 3)
        for operation in semconv.LLM_OPERATIONS:
            for ttfc, cost, error in ((0.1, 0.001, None), (None, None, "TimeoutError")):
                m._record_llm(operation, "openai", "model", "model-2025", "api.example.com", 443, usage, 1.0,
                              ttfc, cost, error)
        m._record_llm(semconv.OP_EXECUTE_TOOL, "openai", "model", None, None, None, None, 1.0, None, None, None)
        for kind, (_op, name_attribute) in _manual._OPS.items():
            m._record_op(kind, {name_attribute: "name", semconv.ERROR_TYPE: "E"}, 1.0)
    return found


# --- rendering -------------------------------------------------------------------------------------------------


def _code(values: Any) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _relink(text: str) -> str:
    """Links of docs/attributes.md, made relative to reference/ (where the generated page lives)."""
    return re.sub(r"\]\((?![a-z]+:|#|/)([^)]+)\)", r"](../\1)", text)


def _describe(name: str, rows: dict[str, list[Row]]) -> str:
    seen: list[str] = []
    for row in rows.get(name, ()):
        if row.description and row.description not in seen:
            seen.append(row.description)
    return _relink("; ".join(seen))


def _type(name: str, rows: dict[str, list[Row]]) -> str:
    return next((r.type for r in rows.get(name, ()) if r.type), "")


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |" for row in body]
    return [*lines, ""]


def _namespace(name: str) -> str:
    head = name.split(".")[0]
    if head == "gen_ai":
        return "gen_ai." + name.split(".")[1]
    return head


def render_telemetry(text: str | None = None) -> str:
    c = constants()
    rows = described(text)
    missing = undocumented(text)
    if missing:
        raise ValueError("no description in docs/attributes.md for: " + ", ".join(missing))
    out = [
        "# Attributes and metrics reference",
        "",
        "<!-- Generated by docs/hooks/reference.py from llmobs/semconv.py, llmobs/_metrics.py and the tables",
        "of docs/attributes.md. Edit those, not this page. -->",
        "",
        "Generated from the code when this site is built: every name below is a constant of",
        "`llmobs.semconv` (the *Constant* column), every metric's instrument, unit and buckets are what",
        "`llmobs._metrics` creates. Descriptions come from [Emitted attributes and metrics](../attributes.md),",
        "which explains them in context.",
        "",
        f"Instrumentation scope `{semconv.SCOPE_NAME}`, schema URL `{semconv.SCHEMA_URL}`.",
        "",
        "## Operations and spans",
        "",
    ]
    body = []
    for op, key in c.operations.items():
        row = rows[op][0]
        body.append([f"`{op}`", f"`{key}`", row.columns.get("span name", ""),
                     row.columns.get("llmobs.span.kind", ""), _describe(op, rows)])
    out += _table(["`gen_ai.operation.name`", "Constant", "Span name", "`llmobs.span.kind`", "Description"], body)
    out += [f"Inference operations: {_code(sorted(semconv.INFERENCE_OPERATIONS))}; LLM spans (usage and cost): "
            f"{_code(semconv.LLM_OPERATIONS)}.", "", "## Span attributes", ""]
    groups: dict[str, list[str]] = defaultdict(list)
    for name in c.attributes:
        groups[_namespace(name)].append(name)
    for group in sorted(groups, key=lambda g: (not g.startswith("gen_ai"), g)):
        out += [f"### `{group}`", ""]
        body = []
        for name in sorted(groups[group]):
            values = c.values.get(name)
            desc = _describe(name, rows)
            if values:
                desc += f" Values in `llmobs.semconv`: {_code(v for v, _ in values)}."
            body.append([f"`{name}`", f"`{c.attributes[name]}`", _type(name, rows), desc])
        out += _table(["Attribute", "Constant", "Type", "Description"], body)
    out += ["## Events", ""]
    out += _table(["Event", "Constant", "Description"],
                  [[f"`{e}`", f"`{k}`", _describe(e, rows)] for e, k in c.events.items()])
    out += ["## Metrics", "",
            "Layouts: `v1.41` (the default), `latest`; `both` emits both sets (see",
            "[configuration](../configuration.md#metrics)). Attributes are those recorded when known.", ""]
    found = metrics()
    unknown = sorted(set(found) - set(c.metrics))
    if unknown:
        raise ValueError(f"metrics created under names not in semconv: {unknown}")
    never = sorted(set(c.metrics) - set(found))
    if never:
        raise ValueError(f"semconv metrics that llmobs._metrics never creates: {never}")
    buckets = {v: k for k, v in vars(semconv).items() if k.startswith("BUCKETS_")}
    body = []
    for name, key in c.metrics.items():
        m = found[name]
        layouts = "all" if m.layouts == set(LAYOUTS) else _code(sorted(m.layouts))
        bucket = "" if m.buckets is None else f"`{buckets.get(m.buckets, 'custom')}`"
        desc = m.description + (" When: " + _describe(name, rows) + "." if _describe(name, rows) else "")
        body.append([f"`{name}`", f"`{key}`", m.instrument, f"`{m.unit}`", layouts, _code(sorted(m.attributes)),
                     bucket, desc])
    out += _table(["Metric", "Constant", "Instrument", "Unit", "Layouts", "Attributes", "Buckets", "Description"],
                  body)
    out += ["Bucket boundaries:", ""]
    out += _table(["Constant", "Boundaries"],
                  [[f"`{k}`", ", ".join(f"{b:g}" for b in v)] for v, k in buckets.items()])
    out += ["## Values", ""]
    out += _table(["Attribute or setting", "Values", "Constants"],
                  [[f"`{attr}`", _code(v for v, _ in vals), _code(k for _, k in vals)]
                   for attr, vals in c.values.items()])
    out += ["## Deprecated names (read, never written)", ""]
    out += _table(["Attribute", "Constant", "Description"],
                  [[f"`{n}`", f"`{k}`", _describe(n, rows)] for n, k in c.deprecated.items()])
    return "\n".join(out)


# --- configuration: the environment variables _config.py reads ------------------------------------------------


def env_vars() -> list[str]:
    """Every environment variable named in llmobs/_config.py (constants, literals, per-signal f-strings)."""
    from llmobs import _config

    names = {v for k, v in vars(_config).items() if k.startswith("ENV_") and isinstance(v, str)}
    names.add(semconv.ENV_CAPTURE_MESSAGE_CONTENT)
    tree = ast.parse(Path(_config.__file__).read_text())
    parts = {id(p) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for p in node.values}
    for node in ast.walk(tree):
        if id(node) in parts:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"(OTEL|LLMOBS)_[A-Z0-9_]+", node.value):
                names.add(node.value)
        elif isinstance(node, ast.JoinedStr):
            template = "".join(p.value if isinstance(p, ast.Constant) else "{}" for p in node.values)
            if re.fullmatch(r"OTEL_[A-Z_]*\{\}[A-Z_]*", template):
                names.update(template.format(signal) for signal in SIGNALS)
    return sorted(names)


def _per_signal(name: str) -> str | None:
    """``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` -> ``OTEL_EXPORTER_OTLP_ENDPOINT``; None for other names."""
    match = re.fullmatch(r"OTEL_EXPORTER_OTLP_({})_([A-Z_]+)".format("|".join(SIGNALS)), name)
    return f"OTEL_EXPORTER_OTLP_{match.group(2)}" if match else None


def render_env_vars() -> str:
    names = env_vars()
    signal_forms: dict[str, list[str]] = defaultdict(list)
    for name in names:
        base = _per_signal(name)
        if base is not None:
            signal_forms[base].append(name)
    body = [[f"`{name}`", _code(signal_forms.get(name, ())) or "—"] for name in names if _per_signal(name) is None]
    return "\n".join(_table(["Variable", "Per-signal forms (win over the variable)"], body))


# --- mkdocs hooks ------------------------------------------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, TELEMETRY_PAGE, content=render_telemetry()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == "configuration.md":
        if ENV_MARKER not in markdown:
            raise ValueError(f"docs/configuration.md: the marker {ENV_MARKER} is missing")
        markdown = markdown.replace(ENV_MARKER, render_env_vars())
    return markdown


if __name__ == "__main__":
    print(render_telemetry())
