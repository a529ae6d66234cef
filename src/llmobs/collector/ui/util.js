// Small helpers shared by the pages: DOM building, the API client, number and time formats.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

export class ApiError extends Error {}

export async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.error || `${response.status} ${response.statusText}`);
  return body;
}

// Formats. Costs are US dollars with 6 decimals (llmobs report's precision); null cost is "unpriced".
export const fmtCost = (v) => (v === null || v === undefined ? "unpriced" : `$${Number(v).toFixed(6)}`);
export const fmtInt = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US"));
export const fmtPct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
export function fmtSec(v) {
  if (v === null || v === undefined) return "–";
  if (v < 1) return `${(v * 1000).toFixed(1)} ms`;
  return `${v.toFixed(2)} s`;
}
export const fmtRate = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)}/s`);
export function fmtTime(ns) {
  if (!ns) return "–";
  const d = new Date(Number(BigInt(ns) / 1000000n));
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// Hash routes: "#/page/arg?key=value".
export function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  const [page, ...rest] = path.split("/");
  return { page: page || "traces", arg: rest.join("/"), params: Object.fromEntries(new URLSearchParams(query)) };
}

export function go(page, params = {}, arg = "") {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  const target = `#/${page}${arg ? "/" + arg : ""}${query.toString() ? "?" + query : ""}`;
  if (location.hash !== target) location.hash = target;
}

export const RANGES = [["15m", "15 min"], ["1h", "1 hour"], ["6h", "6 hours"], ["24h", "24 hours"],
  ["7d", "7 days"], ["30d", "30 days"], ["", "all time"]];

export function rangePicker(value, onChange) {
  return el("label", { class: "range" }, "Time range ",
    el("select", { name: "since", "data-testid": "range", onchange: (e) => onChange(e.target.value) },
      RANGES.map(([v, label]) => el("option", { value: v, selected: v === value }, label))));
}

export function errorBox(error) {
  return el("p", { class: "error-box", role: "alert" }, `Could not load: ${error.message || error}`);
}
