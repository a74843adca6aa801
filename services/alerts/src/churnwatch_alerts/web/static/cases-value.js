// ChurnWatch cases: the case page's value analysis and next best action (loaded after cases.js,
// whose h, svg, api, label, day and showCase it uses). Text goes in through textContent only.
"use strict";

const SUGGESTION_OUTCOMES = [["accepted", "Accepted"], ["declined", "Declined"], ["done", "Done"]];

// Money arrives as decimal strings; shown rounded with separators (display only, never summed).
function money(value, currency) {
  if (value === null || value === undefined) return "not known";
  const n = Number(value);
  const digits = Math.abs(n) >= 100 || n === 0 ? 0 : 2;
  return `${n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

function valueHistory(history) {
  // Oldest to newest, left to right; one bar per review.
  const rows = history.slice().reverse();
  if (rows.length < 2) return null;
  const top = Math.max(...rows.map((r) => Math.abs(Number(r.current_value))), 1);
  const w = 240, hgt = 56, gap = 6, bw = (w - gap * (rows.length - 1)) / rows.length;
  const chart = svg("svg", { viewBox: `0 0 ${w} ${hgt}`, role: "img", class: "value-bars",
    "aria-label": `Current value of the last ${rows.length} reviews` });
  rows.forEach((r, i) => {
    const v = Number(r.current_value), bh = Math.max((Math.abs(v) / top) * (hgt - 4), 1);
    const bar = svg("rect", { x: i * (bw + gap), y: hgt - bh, width: bw, height: bh, class: v < 0 ? "neg" : "pos" });
    const tip = svg("title", {}); tip.textContent = `${r.words.period}: ${money(r.current_value, r.currency)}`;
    bar.append(tip); chart.append(bar);
  });
  return h("figure", { class: "mini" }, chart,
    h("figcaption", { class: "muted small", text: `Current value per period, ${rows[0].words.period} to ${rows[rows.length - 1].words.period}` }));
}

function valuePanel(value) {
  const latest = value && value.latest;
  if (!latest) {
    return h("p", { class: "placeholder", id: "value",
      text: "No value review yet for this customer: reviews are written once a period has closed and a state snapshot exists." });
  }
  // The service words every figure (value/wording.py): separators, currency, named periods.
  const w = latest.words;
  return h("div", { class: "value", id: "value" },
    h("dl", { class: "facts" },
      fact("Current value", w.current_value),
      fact("Trend vs expected", w.trend),
      fact("Potential value (next period)", w.potential_value),
      fact("Value at risk", w.value_at_risk),
      fact("Lifecycle", w.lifecycle)),
    h("p", { class: "strategy" }, h("span", { class: `chip strategy-${latest.strategy}`, text: `Strategy: ${w.strategy}` })),
    h("ul", { class: "reason-list", id: "value-reasons" }, latest.reasons.map((r) => h("li", { text: r.text }))),
    valueHistory(value.history));
}

function suggestionCard(customerId, s) {
  const last = s.latest_outcome;
  const record = async (outcome) => {
    try {
      await api(`/v1/customers/${encodeURIComponent(customerId)}/suggestions/outcomes`,
        { method: "POST", body: JSON.stringify({ action: s.code, outcome }) });
    } catch (e) { const r = $("nba-result"); r.className = "result error"; r.textContent = e.message; return; }
    await showCase(customerId);
    const r = $("nba-result"); r.className = "result ok"; r.textContent = `Recorded: ${s.title}, ${outcome}.`;
  };
  return h("li", { class: "suggestion", "data-code": s.code },
    h("div", { class: "suggestion-head" },
      h("strong", { text: s.title }),
      h("span", { class: "chip", text: s.kind }),
      s.due_within_hours ? h("span", { class: "sla", text: `within ${s.due_within_hours} h` }) : null),
    h("ul", { class: "because" }, s.because.map((b) => h("li", { text: b }))),
    last ? h("p", { class: "muted small", text: `Last recorded: ${label(last.outcome)} by ${last.recorded_by}, ${day(last.recorded_at)}` }) : null,
    h("div", { class: "outcome-buttons" }, SUGGESTION_OUTCOMES.map(([v, t]) =>
      h("button", { type: "button", class: last && last.outcome === v ? "btn btn-chosen" : "btn", "aria-pressed": last && last.outcome === v ? "true" : "false",
        "aria-label": `${t}: ${s.title}`, onclick: () => record(v) }, t))));
}

function nextBestAction(customerId, nba) {
  const result = h("p", { id: "nba-result", class: "result", role: "status" });
  if (!nba) return h("div", { id: "nba" }, h("p", { class: "placeholder", text: "Suggested actions could not be read." }), result);
  if (nba.control_group) {
    return h("div", { id: "nba" }, h("p", { class: "note", id: "nba-control",
      text: "No suggestion for this customer: they are in the control group that shows what happens without suggested actions. Work the case as you judge best." }), result);
  }
  const held = nba.held_back || [];
  return h("div", { id: "nba" },
    nba.suggestions.length
      ? h("ul", { class: "suggestions" }, nba.suggestions.map((s) => suggestionCard(customerId, s)))
      : h("p", { class: "placeholder", text: "No action in the playbook fits this customer right now." }),
    held.length ? h("p", { class: "muted small", text: `Held back: ${held.map((a) => `${a.title} (${a.why})`).join("; ")}` }) : null,
    h("p", { class: "muted small", text: `Playbook ${nba.playbook_version}` }),
    result);
}
