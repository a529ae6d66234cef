// Users and sessions: LLM calls, traces, tokens and cost per user and per session (/api/usage, aggregated and
// paged by the collector), for the chosen time range. A row opens the traces of that user or session.
import { api, el, errorBox, fmtCost, fmtInt, fmtTime, go, rangePicker } from "./util.js";

const PAGE = 50;

export async function usagePage(main, _arg, params) {
  const since = params.since ?? "24h";
  main.append(el("h1", {}, "Users & sessions"),
    el("div", { class: "toolbar" }, rangePicker(since, (v) => go("usage", { since: v }))));
  const sections = el("div", { class: "two-col" });
  main.append(sections);
  for (const by of ["user", "session"]) {
    const offset = Number(params[`${by}_offset`] || 0);
    const section = el("section", { "data-testid": `usage-${by}` }, el("h2", {}, by === "user" ? "Users" : "Sessions"));
    sections.append(section);
    try {
      const { rows } = await api("/api/usage", { by, since, limit: PAGE, offset });
      const head = [by === "user" ? "User" : "Session", ...(by === "session" ? ["User"] : []), "Calls", "Errors",
        "Traces", "Tokens in", "Tokens out", "Cost", "Last call"];
      section.append(el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
        el("tbody", {}, rows.map((r) => el("tr", { class: "link", "data-key": r[by] ?? "",
          onclick: () => go("traces", { [by]: r[by] ?? "", since }) },
          el("td", {}, r[by] ?? el("span", { class: "muted" }, "(none)")),
          by === "session" ? el("td", {}, r.user ?? "–") : null,
          el("td", { class: "num", "data-col": "calls" }, fmtInt(r.calls)),
          el("td", { class: "num", "data-col": "errors" }, fmtInt(r.errors)),
          el("td", { class: "num", "data-col": "traces" }, fmtInt(r.traces)),
          el("td", { class: "num", "data-col": "input_tokens" }, fmtInt(r.input_tokens)),
          el("td", { class: "num", "data-col": "output_tokens" }, fmtInt(r.output_tokens)),
          el("td", { class: "num", "data-col": "cost_usd" }, fmtCost(r.cost_usd)),
          el("td", { class: "nowrap" }, fmtTime(r.last_ns)))))),
      el("div", { class: "pager" },
        el("button", { type: "button", class: "secondary", disabled: offset === 0,
          onclick: () => go("usage", { ...params, since, [`${by}_offset`]: Math.max(0, offset - PAGE) }) }, "← Previous"),
        el("button", { type: "button", class: "secondary", disabled: rows.length < PAGE,
          onclick: () => go("usage", { ...params, since, [`${by}_offset`]: offset + PAGE }) }, "Next →")));
    } catch (error) {
      section.append(errorBox(error));
    }
  }
}
