// The live trace list: filters in the URL, one page at a time from /api/traces, refreshed every 3 s.
import { api, el, errorBox, fmtCost, fmtInt, fmtSec, fmtTime, go, RANGES } from "./util.js";

const PAGE = 50;
const TEXT_FILTERS = [["service", "Service"], ["provider", "Provider"], ["model", "Model"], ["user", "User"],
  ["session", "Session"], ["q", "Search prompts and completions"]];

export async function tracesPage(main, _arg, params) {
  const offset = Number(params.offset || 0);
  const filters = { ...params };
  delete filters.offset;
  const form = el("form", { class: "filters", "data-testid": "filters" },
    TEXT_FILTERS.map(([name, label]) => el("label", {}, label,
      el("input", { name, value: params[name] || "", type: name === "q" ? "search" : "text",
        class: name === "q" ? "wide" : "", "data-testid": `filter-${name}`,
        list: name === "q" ? null : `facet-${name}`, autocomplete: "off" }),
      name === "q" ? null : el("datalist", { id: `facet-${name}`, "data-testid": `facet-${name}` }))),
    el("label", {}, "Status", el("select", { name: "status", "data-testid": "filter-status" },
      [["", "any"], ["ok", "ok"], ["error", "error"]].map(([v, t]) =>
        el("option", { value: v, selected: (params.status || "") === v }, t)))),
    el("label", {}, "Since", el("select", { name: "since", "data-testid": "filter-since" },
      RANGES.map(([v, t]) => el("option", { value: v, selected: (params.since || "") === v }, t)))),
    el("button", { type: "submit" }, "Apply"),
    el("button", { type: "button", class: "secondary", onclick: () => go("traces") }, "Clear"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("traces", Object.fromEntries(new FormData(form)));
  });
  const live = el("input", { type: "checkbox", checked: offset === 0, "data-testid": "live" });
  const status = el("span", { class: "muted", "data-testid": "list-status" });
  const body = el("tbody", { "data-testid": "trace-rows" });
  const table = el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, ["Started", "Root span", "Service", "Models", "User", "Session", "Spans",
      "LLM calls", "Tokens in", "Tokens out", "Cost", "Duration", "Status"].map((h) => el("th", {}, h)))),
    body);
  const pager = el("div", { class: "pager" },
    el("button", { type: "button", class: "secondary", disabled: offset === 0, "data-testid": "prev",
      onclick: () => go("traces", { ...filters, offset: Math.max(0, offset - PAGE) }) }, "← Newer"),
    el("span", { class: "muted" }, `traces ${offset + 1}–${offset + PAGE}`),
    el("button", { type: "button", class: "secondary", "data-testid": "next",
      onclick: () => go("traces", { ...filters, offset: offset + PAGE }) }, "Older →"));
  main.append(el("h1", {}, "Traces"), form,
    el("div", { class: "toolbar" }, el("label", {}, live, " Live (refresh every 3 s)"), status),
    table, pager);

  async function load() {
    try {
      const { traces } = await api("/api/traces", { ...filters, limit: PAGE, offset });
      body.replaceChildren(...traces.map(row));
      if (!traces.length) body.append(el("tr", {}, el("td", { colspan: 13, class: "muted" }, "No traces match.")));
      pager.querySelector("[data-testid=next]").disabled = traces.length < PAGE;
      status.textContent = `${traces.length} shown, updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 13 }, errorBox(error))));
    }
  }
  // What each filter can take (services, providers, models, recent users and sessions in the chosen range):
  // suggestions under the inputs, which still take any text.
  api("/api/facets", { since: params.since }).then((found) => {
    for (const [name, key] of [["service", "services"], ["provider", "providers"], ["model", "models"],
      ["user", "users"], ["session", "sessions"]]) {
      form.querySelector(`#facet-${name}`).replaceChildren(...(found[key] || []).map((v) => el("option", { value: v })));
    }
  }).catch(() => {});
  await load();
  const timer = setInterval(() => { if (live.checked && !document.hidden) load(); }, 3000);
  return () => clearInterval(timer);
}

function row(t) {
  const open = () => go("trace", {}, t.trace_id);
  return el("tr", { class: "link" + (t.error ? " failed" : ""), "data-trace-id": t.trace_id, onclick: open },
    el("td", { class: "nowrap" }, fmtTime(t.start_ns)),
    el("td", {}, el("a", { href: `#/trace/${t.trace_id}` }, t.root || t.trace_id)),
    el("td", {}, t.service || "–"),
    el("td", {}, (t.models || []).join(", ") || "–"),
    el("td", {}, (t.users || []).join(", ") || "–"),
    el("td", {}, (t.sessions || []).join(", ") || "–"),
    el("td", { class: "num" }, fmtInt(t.spans)),
    el("td", { class: "num" }, fmtInt(t.llm_calls)),
    el("td", { class: "num", "data-col": "input_tokens" }, fmtInt(t.input_tokens)),
    el("td", { class: "num", "data-col": "output_tokens" }, fmtInt(t.output_tokens)),
    el("td", { class: "num", "data-col": "cost_usd" }, fmtCost(t.cost_usd)),
    el("td", { class: "num" }, fmtSec(t.duration_s)),
    el("td", {}, t.error ? el("span", { class: "badge err" }, "error") : el("span", { class: "badge ok" }, "ok")));
}
