// The llmobs collector UI: a hash router over the pages. No build step, no external resources.
import { api, route } from "./util.js";
import { tracesPage } from "./traces.js";
import { tracePage } from "./trace.js";
import { dashboardPage } from "./dashboard.js";
import { usagePage } from "./usage.js";

const PAGES = { traces: tracesPage, trace: tracePage, dashboard: dashboardPage, usage: usagePage };
let cleanup = null;

async function render() {
  if (cleanup) cleanup();
  cleanup = null;
  const { page, arg, params } = route();
  const main = document.getElementById("main");
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", a.dataset.nav === (page === "trace" ? "traces" : page));
  }
  const show = PAGES[page] || tracesPage;
  main.replaceChildren();
  cleanup = (await show(main, arg, params)) || null;
}

async function health() {
  try {
    const h = await api("/api/health");
    document.getElementById("health").textContent =
      `${h.spans.toLocaleString("en-US")} spans stored` + (h.unindexed ? `, ${h.unindexed} indexing` : "") +
      (h.status === "degraded" ? ` (degraded: ${(h.reasons || []).join("; ")})` : "");
  } catch (e) {
    document.getElementById("health").textContent = "collector unreachable";
  }
}

window.addEventListener("hashchange", render);
render();
health();
setInterval(() => { if (!document.hidden) health(); }, 10000);
