// ChurnWatch cases: one case per customer, customer 360, reasons, timeline, contact, resolve;
// leads: escalations, SLA breaches, manager filter, hand-over and scorecard.
// All text goes into the DOM through textContent (no HTML from data); no external assets.
"use strict";

const OUTCOMES = [["retained", "Retained"], ["lost", "Lost"],
  ["false_positive", "False positive"], ["not_actionable", "Not actionable"]];
const CONTACTS = [["call", "Call"], ["visit", "Visit"], ["meeting", "Meeting"], ["message", "Message"]];
const LEADS = ["team_lead", "branch_head", "admin"];
const TOKEN_KEY = "cw-token";
let token = sessionStorage.getItem(TOKEN_KEY);
let me = null;
let cursor = null;
let selected = null;
const picked = new Set();
const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
const svg = (tag, attrs) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
};
const label = (v) => String(v ?? "").replaceAll("_", " ");
const day = (iso) => (iso ? cwDay(iso) : "not yet"); // dates.js
const when = (iso) => cwDateTime(iso);

async function api(path, options = {}) {
  const response = await fetch(path, { ...options,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` } });
  if (response.status === 401) { signOut(); throw new Error("Please sign in again."); }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const d = body && body.detail;
    throw new Error(typeof d === "string" ? d : Array.isArray(d) ? d.map((e) => e.msg).join("; ") : `Request failed (${response.status})`);
  }
  return body;
}

function sla(c) {
  if (c.sla_breached) return h("span", { class: "sla late", text: "SLA breached" });
  if (!c.sla_due_at) return null;
  const minutes = Math.round((new Date(c.sla_due_at) - Date.now()) / 60000);
  const left = minutes < 60 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
  return h("span", { class: "sla", text: `SLA in ${left}` });
}

function caseRow(c) {
  const box = h("input", { type: "checkbox", "aria-label": `Select ${c.customer_id}`, checked: picked.has(c.customer_id),
    onchange: (e) => { e.target.checked ? picked.add(c.customer_id) : picked.delete(c.customer_id); $("bulk-ack").disabled = !picked.size; } });
  const row = h("button", { type: "button", class: "alert-row", "data-id": c.customer_id,
    "aria-current": c.customer_id === selected ? "true" : "false", onclick: () => showCase(c.customer_id) },
  h("span", { class: `prio ${c.status === "closed" ? "" : c.top_priority >= 80 ? "critical" : "warning"}`, title: "highest priority of the open alerts", text: c.top_priority }),
  h("span", { class: "row-main" },
    h("span", { class: "row-title", text: c.display_name || c.customer_id }),
    h("span", { class: "row-meta" },
      h("span", { class: `chip ${c.status === "open" ? "open" : c.status === "closed" ? "" : "acknowledged"}`, text: label(c.status) }),
      c.escalated ? h("span", { class: "flag", text: "Escalated" }) : null, sla(c),
      h("span", { class: "row-where", text: `${c.customer_id} · ${c.open_alerts}/${c.alerts} open · ${label(c.assignee)}` }),
      h("span", { class: "row-where var", text: c.value_at_risk != null ? `${money(c.value_at_risk, c.value_currency)} at risk` : "value not reviewed" }))));
  return h("li", { class: "case-item" }, box, row);
}

function query() {
  const p = new URLSearchParams({ limit: "25" });
  const status = $("f-status").value;
  if (status === "") { p.append("status", "open"); p.append("status", "in_progress"); } else if (status !== "all") p.append("status", status);
  if ($("f-severity").value) p.append("severity", $("f-severity").value);
  if ($("f-manager").value.trim()) p.append("manager", $("f-manager").value.trim());
  if ($("q").value.trim()) p.append("q", $("q").value.trim());
  if ($("f-escalated").checked) p.append("escalated", "true");
  if ($("f-breached").checked) p.append("sla_breached", "true");
  p.append("order", $("f-order").value);
  return p;
}

async function loadCases(append = false) {
  try {
    const p = query();
    if (append && cursor) p.append("cursor", cursor);
    const page = await api(`/v1/cases?${p}`);
    cursor = page.next_cursor;
    const rows = page.items.map(caseRow);
    if (append) $("cases").append(...rows);
    else $("cases").replaceChildren(...(rows.length ? rows : [h("li", { class: "empty-list", text: "No cases match." })]));
    $("more").hidden = !cursor;
    $("list-error").textContent = "";
  } catch (error) { $("list-error").textContent = error.message; }
}

function trend(points) {
  if (points.length < 2) return h("p", { class: "muted small", text: "Trend appears after two days of scores." });
  const w = 240, hgt = 72;
  const xy = points.map((p, i) => `${(i / (points.length - 1)) * w},${hgt - (p.churn_score / 100) * hgt}`).join(" ");
  const chart = svg("svg", { viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": `Churn score over ${points.length} days` });
  chart.append(svg("line", { x1: 0, x2: w, y1: hgt * 0.65, y2: hgt * 0.65 }), svg("polyline", { points: xy }));
  return chart;
}

function fact(name, value) { return h("div", {}, h("dt", { text: name }), h("dd", { text: value ?? "not known" })); }

function header(c, summary) {
  const years = c.tenure_days != null ? `${(c.tenure_days / 365).toFixed(1)} years` : null;
  const score = c.churn_score != null ? `${Math.round(c.churn_score)} of 100 (${label(c.churn_level)})` : "no score yet";
  const prob = c.churn_probability != null ? `${Math.round(c.churn_probability * 100)}% (model ${c.model_version})` : "no model loaded";
  const team = [c.relationship_manager_id && `RM ${c.relationship_manager_id}`, c.wealth_advisor_id && `advisor ${c.wealth_advisor_id}`,
    c.service_team_id && `team ${c.service_team_id}`].filter(Boolean).join(", ") || "unassigned";
  return h("div", { class: "header360" },
    h("div", {},
      h("h2", { text: c.display_name || c.customer_id }),
      h("p", { class: "muted small", text: `${c.customer_id} · ${label(c.segment)} · ${label(c.tier)} tier · ${label(summary.status)}${summary.escalated ? " · escalated" : ""}` }),
      h("dl", { class: "facts" }, fact("Financial assets", c.financial_assets), fact("Products held", c.products_held),
        fact("1+1+N team", team), fact("Customer for", years), fact("Last contact", c.last_contact_at ? `${label(c.last_contact_kind)}, ${day(c.last_contact_at)}` : "none logged"),
        fact("Churn score", score), fact("Churn probability", prob))),
    h("div", { class: "trend" }, h("h3", { text: "Churn score, 90 days" }), trend(c.score_trend)));
}

function actions(customerId) {
  const kind = h("select", { id: "contact-kind" }, CONTACTS.map(([v, t]) => h("option", { value: v, text: t })));
  const contactNote = h("textarea", { id: "contact-note", placeholder: "What was said" });
  const outcome = h("select", { id: "case-outcome" }, h("option", { value: "", text: "Choose an outcome" }), OUTCOMES.map(([v, t]) => h("option", { value: v, text: t })));
  const resolveNote = h("textarea", { id: "resolve-note", placeholder: "Note (optional)" });
  const result = h("p", { id: "case-result", class: "result", role: "status" });
  // The case is redrawn after a change, so the message goes on the redrawn page.
  const say = (cls, text) => { const r = $("case-result"); r.className = cls; r.textContent = text; };
  const run = async (fn, done) => {
    try { await fn(); } catch (e) { say("result error", e.message); return; }
    await loadCases(); await showCase(customerId); say("result ok", done);
  };
  return h("div", {},
    h("div", { class: "actions two" },
      h("div", { class: "action" }, h("label", { for: "contact-kind", text: "Log a contact" }), kind, contactNote,
        h("button", { type: "button", class: "btn btn-primary", onclick: () => run(() => api(`/v1/cases/${encodeURIComponent(customerId)}/contacts`, { method: "POST", body: JSON.stringify({ kind: kind.value, note: contactNote.value || null }) }), "Contact logged.") }, "Log contact")),
      h("div", { class: "action" }, h("label", { for: "case-outcome", text: "Resolve the case" }), outcome, resolveNote,
        h("button", { type: "button", class: "btn", onclick: () => (outcome.value ? run(() => api(`/v1/cases/${encodeURIComponent(customerId)}/resolve`, { method: "POST", body: JSON.stringify({ outcome: outcome.value, note: resolveNote.value || null }) }), "Case resolved.")
          : say("result error", "Choose an outcome first.")) }, "Resolve"))),
    result);
}

async function showCase(customerId) {
  selected = customerId;
  document.querySelectorAll(".alert-row").forEach((b) => b.setAttribute("aria-current", b.dataset.id === customerId ? "true" : "false"));
  const pane = $("detail");
  try {
    const c = await api(`/v1/cases/${encodeURIComponent(customerId)}`);
    pane.replaceChildren(
      h("button", { type: "button", class: "btn back", onclick: () => $("app").classList.remove("showing-detail") }, "Back to cases"),
      header(c.customer, c.summary),
      h("h3", { text: "Why this customer may leave" }),
      h("ul", { class: "reason-list", id: "reasons" }, c.reasons.map((r) => h("li", { text: r.text }))),
      c.evidence.length ? h("h3", { text: "Evidence" }) : null,
      h("ul", { class: "evidence-list", id: "evidence" }, c.evidence.map((e) => h("li", { text: e }))),
      h("h3", { text: "Value", id: "value-title" }), valuePanel(c.value),
      h("h3", { text: "Next best action" }), nextBestAction(customerId, c.next_best_action),
      h("h3", { text: "Act" }), actions(customerId),
      h("h3", { text: "Timeline" }),
      h("ol", { class: "timeline", id: "timeline" }, c.timeline.map((t) => h("li", { class: t.kind },
        h("time", { text: `${when(t.at)}${t.actor ? ` · ${t.actor}` : ""}` }), t.text))));
    $("app").classList.add("showing-detail");
  } catch (error) { pane.replaceChildren(h("p", { class: "error", text: error.message })); }
}

function signOut() {
  token = null; sessionStorage.removeItem(TOKEN_KEY);
  $("app").hidden = true; $("session").hidden = true; $("login").hidden = false;
}

async function start() {
  if (!token) { signOut(); return; }
  try { me = await api("/v1/auth/me"); } catch { return; }
  $("who").textContent = `${me.id} · ${label(me.role)}`;
  $("lead-tab").hidden = !LEADS.includes(me.role);
  // Leads work the book by value at risk; a manager starts from the most urgent alert.
  $("f-order").value = LEADS.includes(me.role) ? "value_at_risk" : "priority";
  $("login").hidden = true; $("session").hidden = false; $("app").hidden = false;
  await loadCases();
  const wanted = new URLSearchParams(location.search).get("customer");
  if (wanted) await showCase(wanted);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch("/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value.trim(), password: $("password").value }) }).catch(() => null);
    if (!response || !response.ok) { $("login-error").textContent = "Wrong username or password."; return; }
    token = (await response.json()).access_token; sessionStorage.setItem(TOKEN_KEY, token);
    $("password").value = ""; await start();
  });
  $("logout").addEventListener("click", signOut);
  $("lead-tab").addEventListener("click", () => showTeam().catch((e) => { $("list-error").textContent = e.message; }));
  $("filters").addEventListener("input", () => loadCases());
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); loadCases(); });
  $("more").addEventListener("click", () => loadCases(true));
  $("bulk-ack").addEventListener("click", async () => {
    try { const r = await api("/v1/cases/acknowledge", { method: "POST", body: JSON.stringify({ customer_ids: [...picked] }) });
      $("bulk-result").textContent = `${r.acknowledged} alert(s) acknowledged.`; picked.clear(); $("bulk-ack").disabled = true; await loadCases();
    } catch (e) { $("bulk-result").textContent = e.message; }
  });
  start();
});
