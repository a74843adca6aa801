// ChurnWatch cases, the lead's Team view: scorecard with value retained, lost and at risk, the
// book at risk per manager, team or branch, charts (precision per rule; retained value against
// value at risk) drawn as inline SVG, and the hand-over. Loaded after cases.js and cases-value.js.
"use strict";

// One bar chart row: an HTML label and value around a small SVG, so text stays readable on a phone.
function barRow(name, bars, text) {
  const chart = svg("svg", { viewBox: `0 0 100 ${10 * bars.length}`, preserveAspectRatio: "none", "aria-hidden": "true",
    class: `bars-${bars.length}` });
  const height = 10;
  bars.forEach((b, i) => {
    chart.append(svg("rect", { x: 0, y: i * height + 0.6, width: Math.max(Math.min(b.share, 1) * 100, b.share > 0 ? 0.8 : 0),
      height: height - 1.2, class: b.cls }));
  });
  return h("div", { class: "bar-row" }, h("span", { class: "bar-name", text: name, title: name }), chart, h("span", { class: "bar-text", text }));
}

function chartFigure(id, title, rows, legend, empty) {
  return h("figure", { class: "chart", id },
    h("figcaption", { text: title }),
    rows.length ? h("div", { class: "bar-rows", role: "img", "aria-label": title }, rows) : h("p", { class: "muted small", text: empty }),
    legend ? h("p", { class: "legend" }, legend.map(([cls, text]) => h("span", {}, h("i", { class: `key ${cls}` }), text))) : null);
}

function precisionChart(rules) {
  const rows = rules.map((r) => {
    const judged = Object.entries(r.outcomes).filter(([k]) => k !== "not_actionable").reduce((n, [, v]) => n + v, 0);
    const text = r.precision === null ? "no judged alerts yet" : `${Math.round(r.precision * 100)}% of ${judged} judged`;
    return barRow(r.rule_name || label(r.rule_id), [{ share: r.precision ?? 0, cls: "precision" }], text);
  });
  return chartFigure("precision-chart", "Precision per rule (alerts not false positives)", rows, null,
    "No resolved alerts yet: precision appears once alerts are resolved with an outcome.");
}

function valueChart(card) {
  const managers = card.managers.filter((m) => Number(m.value_retained) || Number(m.value_at_risk) || Number(m.value_lost));
  const top = Math.max(1, ...managers.flatMap((m) => [Number(m.value_retained), Number(m.value_at_risk), Number(m.value_lost)]));
  const rows = managers.map((m) => barRow(label(m.manager_id),
    [{ share: Number(m.value_retained) / top, cls: "retained" }, { share: Number(m.value_at_risk) / top, cls: "at-risk" },
      { share: Number(m.value_lost) / top, cls: "lost" }],
    `${money(m.value_retained, card.currency)} retained · ${money(m.value_at_risk, card.currency)} at risk · ${money(m.value_lost, card.currency)} lost`));
  return chartFigure("value-chart", "Retained value against value at risk, per manager", rows,
    [["retained", "retained"], ["at-risk", "at risk (open cases)"], ["lost", "lost"]],
    "No value reviews for these customers yet.");
}

async function bookTable(groupBy) {
  const book = await api(`/v1/value/book?group_by=${groupBy}`);
  const cur = book.currency;
  const body = book.groups.map((g) => h("tr", {}, h("td", { text: g.key ? label(g.key) : "unassigned" }),
    h("td", { class: "num", text: g.customers }), h("td", { class: "num opt", text: money(g.current_value, cur) }),
    h("td", { class: "num", text: money(g.value_at_risk, cur) })));
  const table = h("table", { class: "score", id: "book" },
    h("thead", {}, h("tr", {}, h("th", { text: { manager: "Manager", team: "Team", branch: "Branch" }[groupBy] }), h("th", { class: "num", text: "Customers" }),
      h("th", { class: "num opt", text: "Current value" }), h("th", { class: "num", text: "Value at risk" }))),
    h("tbody", {}, body.length ? body : [h("tr", {}, h("td", { colspan: 4, class: "muted", text: "No value reviews yet." }))]));
  return h("div", { id: "book-wrap" },
    h("p", { class: "muted small", text: book.period ? `${book.period_name} · total at risk ${money(book.total_value_at_risk, cur)}` : "No reviewed period yet." }),
    h("div", { class: "table-wrap" }, table));
}

function scoreRows(card) {
  return card.managers.concat([card.team]).map((m) => h("tr", {},
    h("td", { text: m.manager_id === "team" ? "Team total" : label(m.manager_id) }), h("td", { class: "num", text: m.open_cases }),
    h("td", { class: "num", text: m.median_response_minutes != null ? `${m.median_response_minutes} min` : "none yet" }),
    h("td", { class: "num", text: `${m.sla_kept} kept / ${m.sla_breached} breached` }),
    h("td", { class: "opt", text: Object.entries(m.resolved_by_outcome).map(([k, v]) => `${label(k)} ${v}`).join(", ") || "none" }),
    h("td", { class: "num opt", text: money(m.value_retained, card.currency) })));
}

function handOver() {
  const customer = h("input", { id: "ho-customer", placeholder: "Customer id" });
  const from = h("input", { id: "ho-from", placeholder: "or all customers of manager" });
  const successor = h("input", { id: "ho-successor", placeholder: "Successor manager id" });
  const result = h("p", { id: "ho-result", class: "result", role: "status" });
  return [h("h3", { text: "Hand over" }),
    h("div", { class: "action" }, customer, from, successor,
      h("button", { type: "button", class: "btn btn-primary", onclick: async () => {
        const body = { successor_id: successor.value.trim() };
        if (customer.value.trim()) body.customer_id = customer.value.trim(); else body.from_manager_id = from.value.trim();
        try { const r = await api("/v1/handovers", { method: "POST", body: JSON.stringify(body) });
          await loadCases(); await showTeam();
          $("ho-result").className = "result ok"; $("ho-result").textContent = `Handed over ${r.customers.length} customer(s), ${r.alerts_moved} open alert(s) moved.`;
        } catch (e) { result.className = "result error"; result.textContent = e.message; } } }, "Hand over")),
    result];
}

// How well last periods' value predictions held, one worded line per period (value/wording.py).
function accuracyList(report) {
  return h("div", { id: "accuracy" },
    h("h3", { text: "Value review accuracy" }),
    report.periods.length
      ? h("ul", { class: "reason-list" }, report.periods.map((p) => h("li", { text: p.text })))
      : h("p", { class: "muted small", text: "No period has been followed by a review yet: accuracy appears once two periods are reviewed." }));
}

async function showTeam() {
  selected = null;
  const pane = $("detail");
  const [card, rules, accuracy] = await Promise.all([api("/v1/cases/scorecard"), api("/v1/alerts/precision"),
    api("/v1/value/accuracy?periods=6")]);
  const groupBy = h("select", { id: "book-group", "aria-label": "Book at risk by" },
    [["manager", "by manager"], ["team", "by team"], ["branch", "by branch"]].map(([v, t]) => h("option", { value: v, text: t })));
  const book = h("div", {}, await bookTable("manager"));
  groupBy.addEventListener("change", async () => {
    try { book.replaceChildren(await bookTable(groupBy.value)); } catch (e) { book.replaceChildren(h("p", { class: "error", text: e.message })); }
  });
  pane.replaceChildren(
    h("button", { type: "button", class: "btn back", onclick: () => $("app").classList.remove("showing-detail") }, "Back to cases"),
    h("h2", { text: "Team" }),
    h("div", { class: "section-head" }, h("h3", { text: "Book at risk" }), groupBy), book,
    h("div", { class: "charts" }, valueChart(card), precisionChart(rules)),
    accuracyList(accuracy),
    h("h3", { text: "Scorecard" }),
    h("div", { class: "table-wrap" }, h("table", { class: "score", id: "scorecard" },
      h("thead", {}, h("tr", {}, h("th", { text: "Manager or queue" }), h("th", { class: "num", text: "Open cases" }),
        h("th", { class: "num", text: "Median response" }), h("th", { class: "num", text: "SLA" }),
        h("th", { class: "opt", text: "Resolved by outcome" }), h("th", { class: "num opt", text: "Value retained" }))),
      h("tbody", {}, scoreRows(card)))),
    ...handOver());
  $("app").classList.add("showing-detail");
}
