// ChurnWatch manager inbox: sign in, alerts by priority, detail with five states, ack/snooze/resolve.
// All text goes into the DOM through textContent (no HTML from data); no external assets.
"use strict";

const STATES = [
  ["scale", "Scale"], ["stability", "Stability"], ["risk", "Risk"],
  ["account_flow", "Account flow"], ["product_usage", "Product usage"],
];
const OUTCOMES = [
  ["retained", "Retained"], ["lost", "Lost"],
  ["false_positive", "False positive"], ["not_actionable", "Not actionable"],
];
const TOKEN_KEY = "cw-token";
const REFRESH_MS = 30000;

let token = sessionStorage.getItem(TOKEN_KEY);
let selectedId = null;
let refreshTimer = null;

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

const label = (value) => String(value ?? "").replaceAll("_", " ");
const fmtTime = (iso) => (iso ? cwDateTime(iso) : "—"); // dates.js

function ago(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.round(hours / 24)} d ago`;
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
  });
  if (response.status === 401) { signOut(); throw new Unauthorized("Please sign in again."); }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && body.detail;
    throw new Error(typeof detail === "string" ? detail : `Request failed (${response.status})`);
  }
  return body;
}

// ---- list ---------------------------------------------------------------------------------------

function statusQuery() {
  const value = $("status-filter").value;
  return value ? value.split(",").map((s) => `&status=${encodeURIComponent(s)}`).join("") : "";
}

function alertRow(a) {
  const button = h("button", {
    type: "button", class: "alert-row", "data-id": a.id,
    "aria-current": a.id === selectedId ? "true" : "false",
    onclick: () => showAlert(a.id),
  },
  h("span", { class: `prio ${a.severity}`, title: "priority", text: a.priority }),
  h("span", { class: "row-main" },
    h("span", { class: "row-title", text: a.title }),
    h("span", { class: "row-meta" },
      h("span", { class: `badge ${a.severity}`, text: a.severity }),
      h("span", { class: `chip ${a.status}`, text: label(a.status) }),
      h("span", { class: "row-where", text: `${a.customer_id} · ${label(a.state)} · ${ago(a.detected_at)}` }))));
  return h("li", {}, button);
}

// Offset pages of PAGE; "Load more" grows how many are shown. Every load (refresh included)
// reads from the top again, so alerts that moved up or down while paging are neither skipped
// nor shown twice.
const PAGE = 100;
let shown = 0;

async function loadAlerts({ more = false } = {}) {
  try {
    const want = more ? shown + PAGE : Math.max(shown, PAGE);
    const items = [];
    let total = 0;
    for (let offset = 0; offset < want; offset += PAGE) {
      const page = await api(`/v1/alerts?limit=${PAGE}&offset=${offset}${statusQuery()}`);
      items.push(...page.items);
      total = page.total;
      if (page.items.length < PAGE) break;
    }
    shown = items.length;
    const list = $("alerts");
    list.replaceChildren(...(items.length ? items.map(alertRow)
      : [h("li", { class: "empty-list", text: "No alerts here. Nice." })]));
    $("alert-count").textContent = `(${total})`;
    $("more-alerts").hidden = shown >= total;
    $("more-alerts").textContent = `Load more (showing ${shown} of ${total})`;
    $("list-error").textContent = "";
  } catch (error) {
    if (!(error instanceof Unauthorized)) $("list-error").textContent = error.message;
  }
}

// ---- detail -------------------------------------------------------------------------------------

function stateChart(snapshot, focus) {
  if (!snapshot || !snapshot.states) {
    return h("p", { class: "muted", text: "No state snapshot received for this customer yet." });
  }
  const rows = STATES.map(([key, name]) => {
    const view = snapshot.states[key] || { score: 0, level: "normal" };
    const score = Math.max(0, Math.min(100, Number(view.score) || 0));
    const bar = h("span", { class: `bar ${view.level}` });
    bar.style.width = `${Math.max(1, score)}%`;
    return h("li", {
      class: key === focus ? "state focus" : "state", "data-state": key, role: "meter",
      "aria-label": name, "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(score),
      "aria-valuetext": `${Math.round(score)}, ${view.level}`,
    },
    h("span", { class: "state-name", text: name }),
    h("span", { class: "track" }, bar),
    h("span", { class: "state-value" }, h("b", { text: Math.round(score) }), ` · ${view.level}`));
  });
  const scale = h("li", { class: "state scale", "aria-hidden": "true" }, h("span"),
    h("span", { class: "ticks" }, [0, 25, 50, 75, 100].map((t) => h("span", { text: t }))), h("span"));
  const legend = h("p", { class: "legend" },
    ["normal", "watch", "warning", "critical"].map((lvl) => h("span", {}, h("i", { class: lvl }), lvl)));
  const meta = h("p", { class: "muted small",
    text: `Churn score ${Math.round(snapshot.churn_score)} (${snapshot.churn_level}) · as of ${fmtTime(snapshot.as_of)}` });
  return h("div", { class: "chart", "data-testid": "state-chart" },
    meta, h("ul", { class: "states", "aria-label": "Concern score per state, 0 healthy to 100 worst" }, scale, rows), legend);
}

function evidence(a) {
  const e = a.evidence || {};
  // The service words reasons and evidence (amounts with separators and currency, dates,
  // counterparties): the inbox never shows a raw code or an event id.
  const lines = (items, id, empty) => (items.length
    ? h("ul", { class: "plain-list", id }, items.map((text) => h("li", { text })))
    : h("p", { class: "muted", id, text: empty }));
  return h("div", {},
    h("dl", { class: "facts" },
      e.churn_score != null && fact("Churn score", `${Math.round(e.churn_score)} of 100`),
      fact("Occurred", fmtTime(a.occurred_at)), fact("Ruleset", e.ruleset_version || "—")),
    h("h3", { text: "Why" }), lines(a.reason_lines || [], "reasons", "No reasons sent."),
    h("h3", { text: "What happened" }),
    lines(a.evidence_lines || [], "evidence", "No events recorded for this alert."));
}

function fact(name, value) {
  return h("div", {}, h("dt", { text: name }), h("dd", { text: value }));
}

function inTomorrow() {
  const d = new Date(Date.now() + 24 * 3600 * 1000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

function actions(a) {
  const closed = a.status === "resolved";
  const act = async (verb, body, done) => {
    const result = $("action-result");
    result.className = "result";
    result.textContent = "Saving…";
    try {
      await api(`/v1/alerts/${encodeURIComponent(a.id)}/${verb}`, { method: "POST", body: JSON.stringify(body) });
      await Promise.all([loadAlerts(), showAlert(a.id, { keepScroll: true })]);
      $("action-result").className = "result ok";
      $("action-result").textContent = done;
    } catch (error) {
      result.className = "result error";
      result.textContent = error.message;
    }
  };
  const ackNote = h("input", { id: "ack-note", placeholder: "Optional note", maxlength: 2000 });
  const until = h("input", { id: "snooze-until", type: "datetime-local", value: inTomorrow() });
  // The date picker shows the browser's locale ("12/07/2026, 12:29 AM"); the line under it says
  // the chosen moment the way the rest of the page does.
  const untilWords = h("small", { id: "snooze-when", class: "muted small" });
  const sayUntil = () => { untilWords.textContent = until.value ? `Until ${cwDateTime(until.value)}` : "Choose a date and time"; };
  until.addEventListener("input", sayUntil);
  sayUntil();
  // No default outcome: a guessed "Retained" would corrupt the precision figures.
  const outcome = h("select", { id: "outcome" }, h("option", { value: "", text: "Choose an outcome" }),
    OUTCOMES.map(([v, t]) => h("option", { value: v, text: t })));
  const note = h("textarea", { id: "resolve-note", placeholder: "What happened with the customer?", maxlength: 2000 });
  return h("div", {},
    h("div", { class: "actions" },
      h("div", { class: "action" }, h("label", { for: "ack-note", text: "Acknowledge" }), ackNote,
        h("button", { type: "button", class: "btn btn-primary", id: "ack",
          disabled: closed || a.status === "acknowledged",
          onclick: () => act("ack", { note: ackNote.value || null }, "Acknowledged.") }, "Acknowledge")),
      h("div", { class: "action" }, h("label", { for: "snooze-until", text: "Snooze until" }), until, untilWords,
        h("button", { type: "button", class: "btn", id: "snooze", disabled: closed,
          onclick: () => act("snooze", { until: new Date(until.value).toISOString() }, "Snoozed.") }, "Snooze")),
      h("div", { class: "action" }, h("label", { for: "outcome", text: "Resolve with outcome" }), outcome, note,
        h("button", { type: "button", class: "btn", id: "resolve", disabled: closed,
          onclick: () => (outcome.value ? act("resolve", { outcome: outcome.value, note: note.value || null }, "Resolved.")
            : outcome.setCustomValidity("Choose an outcome") || outcome.reportValidity()) }, "Resolve"))),
    h("p", { id: "action-result", class: "result", role: "status" }));
}

async function showAlert(id, { keepScroll = false } = {}) {
  selectedId = id;
  document.querySelectorAll(".alert-row").forEach((row) =>
    row.setAttribute("aria-current", row.dataset.id === id ? "true" : "false"));
  const pane = $("detail");
  let a;
  try {
    a = await api(`/v1/alerts/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof Unauthorized)) pane.replaceChildren(h("p", { class: "error", text: error.message }));
    return;
  }
  const resolvedLine = a.status === "resolved"
    ? h("p", { class: "muted", text: `Resolved ${fmtTime(a.resolved_at)} by ${a.resolved_by} · ${label(a.outcome)}${a.note ? ` · “${a.note}”` : ""}` })
    : null;
  pane.replaceChildren(...[
    h("button", { type: "button", class: "btn back", onclick: closeDetail }, "← All alerts"),
    h("div", { class: "detail-head" },
      h("span", { class: `badge ${a.severity}`, text: a.severity }),
      h("span", { class: `chip ${a.status}`, id: "detail-status", text: label(a.status) }),
      h("span", { class: "muted small", text: `priority ${a.priority}` })),
    h("h2", { id: "detail-title", text: a.title }),
    h("dl", { class: "facts" },
      fact("Customer", a.customer_id), fact("Rule", a.rule_name || label(a.rule_id)), fact("State", label(a.state)),
      fact("Detected", fmtTime(a.detected_at)), fact("Assigned to", a.assigned_to),
      fact("Escalation", a.escalation_level ? `level ${a.escalation_level} → ${a.escalated_to}` : "none")),
    resolvedLine,
    h("h3", { text: "Customer's five states" }), stateChart(a.customer_state, a.state),
    evidence(a),
    h("h3", { text: "Actions" }), actions(a)].filter(Boolean));
  $("app").classList.add("showing-detail");
  if (!keepScroll) window.scrollTo({ top: 0 });
}

function closeDetail() {
  selectedId = null;
  $("app").classList.remove("showing-detail");
  document.querySelectorAll(".alert-row").forEach((row) => row.setAttribute("aria-current", "false"));
}

// ---- session ------------------------------------------------------------------------------------

function signOut() {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(refreshTimer);
  $("app").hidden = true; $("session").hidden = true; $("login").hidden = false;
}

async function start() {
  if (!token) { signOut(); return; }
  try {
    const me = await api("/v1/auth/me");
    $("who").replaceChildren(h("b", { text: me.id }), h("span", { class: "role", text: ` · ${label(me.role)}` }));
  } catch { return; }
  $("login").hidden = true; $("session").hidden = false; $("app").hidden = false;
  await loadAlerts();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(loadAlerts, REFRESH_MS);
}

// Single sign-on: the button when the service has a provider; the token comes back in the
// URL fragment (never sent to a server), which is cleared at once.
async function offerSso() {
  const response = await fetch("/v1/auth/oidc/config").catch(() => null);
  if (!response || !response.ok) return;
  const sso = await response.json();
  if (!sso.enabled) return;
  $("sso-login").textContent = `Sign in with ${sso.provider_name}`;
  $("sso-login").href = sso.login_url;
  $("sso").hidden = false;
  if (!sso.password_logins) { $("login-form").hidden = true; $("sso-or").hidden = true; }
}

function takeSsoToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromSso = fragment.get("access_token");
  if (!fromSso) return;
  history.replaceState(null, "", location.pathname);
  token = fromSso;
  sessionStorage.setItem(TOKEN_KEY, token);
}

document.addEventListener("DOMContentLoaded", () => {
  takeSsoToken();
  offerSso();
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    const response = await fetch("/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value.trim(), password: $("password").value }),
    }).catch(() => null);
    if (!response || !response.ok) {
      $("login-error").textContent = response && response.status === 401
        ? "Wrong username or password." : "Sign-in failed; try again.";
      return;
    }
    token = (await response.json()).access_token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("password").value = "";
    await start();
  });
  $("logout").addEventListener("click", signOut);
  $("status-filter").addEventListener("change", () => { shown = 0; loadAlerts(); });
  $("more-alerts").addEventListener("click", () => loadAlerts({ more: true }));
  start();
});
