// Model comparison: /api/report per provider and model (the same rows as `llmobs report`) and the cost over
// time from /api/timeseries, both aggregated by the collector, for the chosen time range.
import { api, el, errorBox, fmtCost, fmtInt, fmtPct, fmtRate, fmtSec, fmtTime, go, rangePicker, svg } from "./util.js";

// whole minutes, hours or days: the collector answers these from its rollups of that size
const BUCKETS = { "15m": "1m", "1h": "2m", "6h": "10m", "24h": "1h", "7d": "6h", "30d": "1d", "": "1d" };
const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac"];

export async function dashboardPage(main, _arg, params) {
  const since = params.since ?? "24h";
  main.append(el("h1", {}, "Models"),
    el("div", { class: "toolbar" }, rangePicker(since, (v) => go("dashboard", { since: v }))));
  let report, series;
  try {
    [report, series] = await Promise.all([
      api("/api/report", { group_by: "provider,model", since }),
      api("/api/timeseries", { bucket: BUCKETS[since] || "1h", since }),
    ]);
  } catch (error) {
    main.append(errorBox(error));
    return;
  }
  const rows = report.rows;
  const color = new Map();
  rows.forEach((r, i) => color.set(r.model, COLORS[i % COLORS.length]));
  const cols = [["Provider", (r) => r.provider ?? "–"], ["Model", (r) => r.model ?? "–"],
    ["Calls", (r) => fmtInt(r.calls), "calls"], ["Errors", (r) => fmtInt(r.errors), "errors"],
    ["Error rate", (r) => fmtPct(r.error_rate), "error_rate"],
    ["p50 latency", (r) => fmtSec(r.latency_p50_s), "latency_p50_s"],
    ["p95 latency", (r) => fmtSec(r.latency_p95_s), "latency_p95_s"],
    ["TTFT p50", (r) => fmtSec(r.ttfc_p50_s), "ttfc_p50_s"],
    ["Tokens in", (r) => fmtInt(r.input_tokens), "input_tokens"],
    ["Tokens out", (r) => fmtInt(r.output_tokens), "output_tokens"],
    ["Output tokens/s", (r) => fmtRate(r.output_tokens_per_s), "output_tokens_per_s"],
    ["Cost", (r) => fmtCost(r.cost_usd), "cost_usd"]];
  const table = el("table", { class: "grid", "data-testid": "report" },
    el("thead", {}, el("tr", {}, cols.map(([h]) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", { "data-model": r.model ?? "", "data-provider": r.provider ?? "" },
      cols.map(([, f, key], i) => el("td", { class: i > 1 ? "num" : "", "data-col": key,
        "data-value": key ? JSON.stringify(r[key] ?? null) : undefined },
        i === 1 ? el("span", { class: "swatch", "data-color": color.get(r.model) }) : null, f(r)))))));
  for (const sw of table.querySelectorAll(".swatch")) sw.style.background = sw.dataset.color;
  const totalCost = rows.reduce((a, r) => a + (r.cost_usd || 0), 0);
  const totalCalls = rows.reduce((a, r) => a + r.calls, 0);
  main.append(
    el("dl", { class: "summary" },
      el("div", {}, el("dt", {}, "Calls"), el("dd", { "data-stat": "calls" }, fmtInt(totalCalls))),
      el("div", {}, el("dt", {}, "Cost"), el("dd", { "data-stat": "cost_usd" }, fmtCost(totalCost))),
      el("div", {}, el("dt", {}, "Models"), el("dd", {}, fmtInt(rows.length)))),
    el("div", { class: "charts" },
      chartBox("Cost over time", costOverTime(series.rows, color)),
      chartBox("Cost by model", hbars(rows, (r) => r.cost_usd, fmtCost, color)),
      chartBox("Latency p50 / p95 by model", hbars(rows, (r) => r.latency_p95_s, fmtSec, color,
        (r) => r.latency_p50_s)),
      chartBox("p95 latency over time", latencyOverTime(series.rows, color))),
    rows.length ? table : el("p", { class: "muted" }, "No LLM calls in this range."));
}

function chartBox(title, chart) {
  return el("figure", { class: "chart" }, el("figcaption", {}, title), chart);
}

// A time chart's frame: the buckets on x, a value scale to `max` on y (labelled with `fmtMax`), the axis;
// null when there are no buckets (the svg then says "no data").
function timeFrame(root, points, max, fmtMax) {
  const W = 560, H = 200, P = 64;
  const buckets = [...new Set(points.map((p) => p.start_ns))].sort((a, b) => a - b);
  if (!buckets.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "muted", text: "no data" }));
    return null;
  }
  const slot = (W - P - 8) / buckets.length;
  const y = (v) => H - 20 - (v / max) * (H - 30);
  root.append(svg("line", { x1: P, x2: W, y1: H - 20, y2: H - 20, class: "axis-line" }),
    svg("text", { x: P - 4, y: y(max) + 4, "text-anchor": "end", class: "tick", text: fmtMax(max) }),
    svg("text", { x: P, y: H - 4, class: "tick", text: fmtTime(buckets[0]) }));
  return { buckets, slot, y, left: (b) => P + buckets.indexOf(b) * slot };
}

function timeChart(testid) {
  return svg("svg", { viewBox: "0 0 560 200", role: "img", "data-testid": testid });
}

function costOverTime(points, color) {
  const root = timeChart("cost-chart");
  const totals = new Map();
  for (const p of points) totals.set(p.start_ns, (totals.get(p.start_ns) || 0) + (p.cost_usd || 0));
  const frame = timeFrame(root, points, Math.max(0, ...totals.values()) || 1, (v) => `$${v.toPrecision(2)}`);
  if (!frame) return root;
  const { buckets, slot, y, left } = frame;
  const bw = Math.max(Math.min(slot * 0.8, 40), 1);
  for (const b of buckets) {
    let base = 0;
    const x = left(b) + (slot - bw) / 2;
    for (const p of points.filter((q) => q.start_ns === b)) {
      const v = p.cost_usd || 0;
      if (!v) continue;
      root.append(svg("rect", { x, y: y(base + v), width: bw, height: y(base) - y(base + v),
        fill: color.get(p.model) || "#888" }, svg("title", { text: `${fmtTime(b)} ${p.model}: ${fmtCost(v)}` })));
      base += v;
    }
  }
  return root;
}

function latencyOverTime(points, color) {
  // one line per model through its buckets' p95 latency (the collector's time series), on a shared time axis
  const root = timeChart("latency-chart");
  const drawn = points.filter((p) => p.latency_p95_s !== null && p.latency_p95_s !== undefined);
  const frame = timeFrame(root, drawn, Math.max(0, ...drawn.map((p) => p.latency_p95_s)) || 1, fmtSec);
  if (!frame) return root;
  const { slot, y, left } = frame;
  const x = (b) => left(b) + slot / 2;
  const byModel = new Map();
  for (const p of drawn) {
    if (!byModel.has(p.model)) byModel.set(p.model, []);
    byModel.get(p.model).push(p);
  }
  for (const [model, mine] of byModel) {
    const stroke = color.get(model) || "#888";
    root.append(svg("polyline", { points: mine.map((p) => `${x(p.start_ns)},${y(p.latency_p95_s)}`).join(" "),
      fill: "none", stroke, "stroke-width": 2, "data-model": model ?? "",
      "data-values": JSON.stringify(mine.map((p) => p.latency_p95_s)) }),
    ...mine.map((p) => svg("circle", { cx: x(p.start_ns), cy: y(p.latency_p95_s), r: 2.5, fill: stroke },
      svg("title", { text: `${fmtTime(p.start_ns)} ${model}: p95 ${fmtSec(p.latency_p95_s)}` }))));
  }
  return root;
}

function hbars(rows, raw, fmt, color, innerRaw) {
  // raw/innerRaw may be null (an unpriced model): drawn as 0, labelled as the table says
  const value = (r) => raw(r) || 0;
  const inner = innerRaw && ((r) => innerRaw(r) || 0);
  const W = 560, rowH = 22, L = 170;
  const H = Math.max(rows.length * rowH + 8, 40);
  const max = Math.max(...rows.map(value), 0) || 1;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const w = (value(r) / max) * (W - L - 150);
    root.append(svg("text", { x: L - 6, y: y + 14, "text-anchor": "end", class: "tick", text: r.model ?? "–" }),
      svg("rect", { x: L, y: y + 3, width: Math.max(w, 0.5), height: rowH - 8, fill: color.get(r.model) || "#888",
        opacity: inner ? 0.45 : 1 }));
    if (inner) root.append(svg("rect", { x: L, y: y + 3, width: Math.max((inner(r) / max) * (W - L - 150), 0.5),
      height: rowH - 8, fill: color.get(r.model) || "#888" }));
    const label = inner ? `${fmt(innerRaw(r))} / ${fmt(raw(r))}` : fmt(raw(r));
    root.append(svg("text", { x: L + w + 6, y: y + 14, class: "tick", text: label }));
  });
  return root;
}
