// One trace: a waterfall of its spans (bars placed by start and duration) and the selected span's details:
// for LLM calls provider, model, tokens, cost, TTFT, finish reasons, tool calls and the captured messages.
// Scores (spans with llmobs.span.kind=score) are shown on the span they target.
import { api, el, errorBox, fmtCost, fmtInt, fmtSec, fmtTime } from "./util.js";

const LLM_OPS = new Set(["chat", "text_completion", "generate_content", "embeddings"]);
const isScore = (s) => s.attributes && s.attributes["llmobs.span.kind"] === "score";

export async function tracePage(main, traceId) {
  main.append(el("p", {}, el("a", { href: "#/traces" }, "← Traces")));
  let data;
  try {
    data = await api(`/api/traces/${encodeURIComponent(traceId)}`);
  } catch (error) {
    main.append(errorBox(error));
    return;
  }
  const rows = [];
  const walk = (span, depth) => {
    rows.push({ span, depth });
    for (const child of span.children) walk(child, depth + 1);
  };
  for (const root of data.spans) walk(root, 0);
  const scores = new Map();
  for (const { span } of rows) {
    if (!isScore(span)) continue;
    const target = span.attributes["llmobs.score.target.span_id"] || span.parent_span_id;
    if (!scores.has(target)) scores.set(target, []);
    scores.get(target).push(span);
  }
  const shown = rows.filter(({ span }) => !isScore(span));
  const t0 = Math.min(...rows.map((r) => r.span.start_ns));
  const t1 = Math.max(...rows.map((r) => r.span.end_ns || r.span.start_ns));
  const total = Math.max(t1 - t0, 1);
  const llm = shown.filter(({ span }) => LLM_OPS.has(span.operation));
  // Totals over every span, as the trace list (/api/traces) computes them.
  const sum = (key) => rows.reduce((acc, { span }) => (span[key] == null ? acc : (acc ?? 0) + span[key]), null);
  const allScores = [...scores.values()].flat();

  main.append(
    el("h1", {}, rows[0].span.name, " ", el("span", { class: "muted mono small" }, data.trace_id)),
    el("dl", { class: "summary", "data-testid": "trace-summary" },
      stat("Started", fmtTime(t0)), stat("Duration", fmtSec((t1 - t0) / 1e9)),
      stat("Spans", fmtInt(rows.length), "spans"), stat("LLM calls", fmtInt(llm.length), "llm_calls"),
      stat("Tokens in", fmtInt(sum("input_tokens")), "input_tokens"),
      stat("Tokens out", fmtInt(sum("output_tokens")), "output_tokens"),
      stat("Cost", fmtCost(sum("cost_usd")), "cost_usd"),
      stat("Errors", fmtInt(rows.filter((r) => r.span.status_code === 2).length), "errors")),
    allScores.length ? el("div", { class: "scores", "data-testid": "trace-scores" }, "Scores: ",
      allScores.map(scoreBadge)) : null);

  const detail = el("section", { class: "detail", "data-testid": "span-detail" });
  const list = el("div", { class: "waterfall", "data-testid": "waterfall" },
    el("div", { class: "wf-head" }, el("span", {}, "Span"), el("span", { class: "axis" },
      el("span", {}, "0"), el("span", {}, fmtSec(total / 2e9)), el("span", {}, fmtSec(total / 1e9))),
    el("span", { class: "dur" }, "Duration")));
  const select = (span, rowNode) => {
    for (const node of list.querySelectorAll(".wf-row.selected")) node.classList.remove("selected");
    rowNode.classList.add("selected");
    detail.replaceChildren(...spanDetail(span, scores.get(span.span_id) || []));
  };
  let first = null;
  for (const { span, depth } of shown) {
    const bar = el("span", { class: `bar ${kindClass(span)}` });
    bar.style.left = `${((span.start_ns - t0) / total) * 100}%`;
    bar.style.width = `${Math.max(((span.end_ns - span.start_ns) / total) * 100, 0.3)}%`;
    const label = el("span", { class: "wf-name" }, span.name,
      (scores.get(span.span_id) || []).map(scoreBadge));
    label.style.paddingLeft = `${depth * 14 + 4}px`;
    const node = el("div", { class: "wf-row", "data-span-id": span.span_id, "data-testid": "span-row",
      title: `${span.name}: ${fmtSec(span.duration_s)}` }, label,
      el("span", { class: "track" }, bar), el("span", { class: "dur" }, fmtSec(span.duration_s)));
    node.addEventListener("click", () => select(span, node));
    list.append(node);
    if (!first || (!LLM_OPS.has(first.span.operation) && LLM_OPS.has(span.operation))) first = { span, node };
  }
  main.append(el("div", { class: "trace-layout" }, list, detail));
  if (first) select(first.span, first.node);
}

function stat(label, value, key) {
  return el("div", {}, el("dt", {}, label), el("dd", { "data-stat": key }, value));
}

function kindClass(span) {
  if (span.status_code === 2) return "k-error";
  if (LLM_OPS.has(span.operation)) return "k-llm";
  if (span.operation === "execute_tool") return "k-tool";
  return "k-other";
}

function scoreBadge(s) {
  const a = s.attributes;
  const value = a["gen_ai.evaluation.score.value"] ?? a["gen_ai.evaluation.score.label"] ?? "";
  return el("span", { class: "badge score", "data-testid": "score", title: a["gen_ai.evaluation.explanation"] || "" },
    `${a["gen_ai.evaluation.name"]}: ${value}`);
}

function parseMessages(value) {
  if (!value) return null;
  try {
    const parsed = typeof value === "string" ? JSON.parse(value) : value;
    return Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

function toolCalls(messages) {
  const calls = [];
  for (const m of messages || []) {
    for (const p of m.parts || []) if (p.type === "tool_call") calls.push(p);
  }
  return calls;
}

function partText(p) {
  if (p.type === "text" || p.type === "reasoning") return p.content ?? "";
  if (p.type === "tool_call") return `→ ${p.name}(${typeof p.arguments === "string" ? p.arguments : JSON.stringify(p.arguments)})`;
  if (p.type === "tool_call_response") return `← ${typeof p.response === "string" ? p.response : JSON.stringify(p.response)}`;
  return JSON.stringify(p);
}

function messagesBlock(title, messages, testid) {
  return el("div", { class: "messages", "data-testid": testid }, el("h3", {}, title),
    messages.map((m) => el("div", { class: `msg role-${m.role}` }, el("div", { class: "role" }, m.role),
      (m.parts || []).map((p) => el("pre", {}, partText(p))))));
}

function spanDetail(span, spanScores) {
  const a = span.attributes || {};
  const rows = [
    ["Kind", a["llmobs.span.kind"] || span.operation || "–"], ["Service", span.service],
    ["Duration", fmtSec(span.duration_s)], ["Status", span.status_code === 2 ? `error ${span.error_type || ""} ${span.status_message || ""}` : "ok"],
  ];
  const out = [el("h2", {}, span.name)];
  if (LLM_OPS.has(span.operation)) {
    const finish = a["gen_ai.response.finish_reasons"];
    rows.push(["Provider", span.provider], ["Model", span.model], ["Response model", span.response_model],
      ["Tokens in", fmtInt(span.input_tokens), "input_tokens"], ["Tokens out", fmtInt(span.output_tokens), "output_tokens"],
      ["Cache read", fmtInt(span.cache_read_tokens)], ["Reasoning tokens", fmtInt(span.reasoning_tokens)],
      ["Cost", fmtCost(span.cost_usd), "cost_usd"], ["TTFT", fmtSec(span.ttfc_s), "ttfc_s"],
      ["Finish reasons", Array.isArray(finish) ? finish.join(", ") : finish || "–", "finish_reasons"]);
  }
  if (span.user_id || span.session_id) rows.push(["User", span.user_id || "–"], ["Session", span.session_id || "–"]);
  out.push(el("table", { class: "kv" }, rows.map(([k, v, key]) =>
    el("tr", {}, el("th", {}, k), el("td", { "data-field": key }, v ?? "–")))));
  if (spanScores.length) out.push(el("div", { class: "scores" }, el("h3", {}, "Scores"), spanScores.map((s) =>
    el("p", {}, scoreBadge(s), " ", s.attributes["gen_ai.evaluation.explanation"] || ""))));
  const input = parseMessages(a["gen_ai.input.messages"]);
  const output = parseMessages(a["gen_ai.output.messages"]);
  const calls = toolCalls(output);
  if (calls.length) out.push(el("div", { "data-testid": "tool-calls" }, el("h3", {}, "Tool calls"),
    calls.map((c) => el("pre", {}, `${c.name}(${typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments)})`))));
  if (input) out.push(messagesBlock("Input messages", input, "input-messages"));
  if (output) out.push(messagesBlock("Output messages", output, "output-messages"));
  if (LLM_OPS.has(span.operation) && !input && !output) {
    out.push(el("p", { class: "muted" }, "Messages not captured (content capture is off)."));
  }
  out.push(el("details", {}, el("summary", {}, `All attributes (${Object.keys(a).length})`),
    el("pre", { class: "attrs" }, JSON.stringify(a, null, 2))));
  if (span.events && span.events.length) {
    out.push(el("details", {}, el("summary", {}, `Events (${span.events.length})`),
      el("pre", { class: "attrs" }, JSON.stringify(span.events, null, 2))));
  }
  return out;
}
