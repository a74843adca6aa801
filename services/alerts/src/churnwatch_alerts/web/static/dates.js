// How the inbox and the cases pages write a moment: "20 Nov 2026" and "20 Nov 2026, 10:30".
// The same day-month-year the service's reasons use (cases/wording.py: "Transaction on
// 20 Nov 2026"), written out here rather than by the browser's locale, which turned one alert
// into "11/20/2026, 10:30:00 AM" beside reasons saying "20 Nov 2026"; a numeric date reads
// differently in different countries. The time is the manager's own (the browser's time zone),
// on a 24-hour clock, to the minute.
"use strict";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function cwDay(iso) {
  const d = new Date(iso);
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
}

function cwDateTime(iso) {
  const d = new Date(iso);
  const hh = String(d.getHours()).padStart(2, "0");
  const mm = String(d.getMinutes()).padStart(2, "0");
  return `${cwDay(iso)}, ${hh}:${mm}`;
}
