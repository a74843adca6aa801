"""Berka through the backtest (issue 15, deliverable 3): real account shapes against the engine.

    python bench/berka_bench.py                 (all 1,229 accounts of the shipped prefix, ~20 s)

The Berka loader's events (``churnwatch_berka``, a real Czech bank, 1993-01 to 1994-03) are
replayed through the backtest's ``replay`` (``bench.detection_replay``) and checked against the
facts Berka does have (it has no churn labels):

- per-rule alert shares: customers alerted by each rule / all customers (and per loan group);
- bills are not money leaving (cause 4): account-flow alerts whose evidence includes a household
  bill (SIPO) or insurance premium (POJISTNE) posting; the issue asks for none;
- penalty interest reaches risk (cause 6): of the penalty-interest postings (SANKC. UROK, 64), how
  many are **visible**: in the customer-state snapshot right after the posting, the risk state's
  score is above 0 and a risk metric about penalty interest, overdraft or a negative balance
  (a metric whose name holds ``penalty``, ``overdraft`` or ``negative``) is non-zero;
- pensions are regular income: of the customers with at least 2 pension credits (DUCHOD), how many
  end with a regular-income fact in their account-flow state (``payroll_gap_days`` set, or any
  account-flow metric whose name holds ``payroll`` or ``income`` non-zero);
- loans that went bad rank higher on risk: ROC AUC of the final risk-state score, B/D (bad) as
  positives against A/C (good), over every loan holder and over those whose loan was granted
  inside the replay window; the same for the maximum composite churn score over the replay.

Berka's amounts are in CZK and the packaged rule set reports in CNY: the replay adds CZK/CNY
rates (``churnwatch_berka.fx.CZK_RATES``) to the rule set's ``fx`` section (``berka_ruleset``). Without them every
amount and balance would be left out of the sums (no rate: ``nofx``), so no balance, overdraft
or money-leaving rule would see anything.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import orjson

from bench.detection_metrics import roc_auc
from bench.detection_replay import Recording, record
from churnwatch_berka.fx import CZK_RATES, REPORTING
from churnwatch_berka.loader import Book, events, select
from churnwatch_berka.outcomes import rows
from churnwatch_berka.tables import load
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import RuleSet, load_ruleset

DATA = REPO.parent / "shared" / "data" / "berka"
BILL_PURPOSES = frozenset({"household", "insurance"})
BAD, GOOD = frozenset({"B", "D"}), frozenset({"A", "C"})
PENSION_MIN_CREDITS = 2


def berka_ruleset(rules_path: Path | None = None) -> RuleSet:
    """The rule set (default: the packaged one) with the CZK rates added to its ``fx`` section."""
    rs = load_ruleset(rules_path)
    if rs.fx.reporting != REPORTING:
        raise ValueError(
            f"the Berka rates convert CZK into CNY; the rule set reports in {rs.fx.reporting}"
        )
    fx = rs.fx.model_copy(update={"rates": [*rs.fx.rates, *CZK_RATES]})
    fx.table()  # the same check as the rules file's validator: every rate converts
    return rs.model_copy(update={"fx": fx})


def _nonzero(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str):
        try:
            return float(value) != 0.0
        except ValueError:
            return bool(value)
    return bool(value)


def penalty_visible(snapshot: dict[str, Any]) -> bool:
    """The risk state reflects penalty interest / overdraft (definition in the module docstring)."""
    risk = snapshot["states"]["risk"]
    facts = any(
        _nonzero(v)
        for k, v in risk.get("metrics", {}).items()
        if any(word in k for word in ("penalty", "overdraft", "negative"))
    )
    return (risk.get("score") or 0) > 0 and facts


def regular_income(snapshot: dict[str, Any]) -> bool:
    """The account-flow state holds a regular-income fact."""
    metrics = snapshot["states"]["account_flow"].get("metrics", {})
    return any(_nonzero(v) for k, v in metrics.items() if "payroll" in k or "income" in k)


def book_and_lines(*, accounts: int | None = None) -> tuple[Book, list[bytes]]:
    """The shipped Berka prefix as a book and its events as JSON lines."""
    book = select(data=load(directory=DATA), accounts=accounts)
    return book, [orjson.dumps(e) for e in events(book=book)]


def _rule_shares(rec: Recording, group_of: dict[str, str]) -> dict[str, Any]:
    sizes: dict[str, int] = defaultdict(int)
    for g in group_of.values():
        sizes[g] += 1
    alerted: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for a in rec.alerts:
        alerted[a["rule_id"]].add(a["customer_id"])
        counts[a["rule_id"]] += 1
    n = len(group_of)
    out = {}
    for rule in sorted(alerted):
        who = alerted[rule]
        out[rule] = {
            "alerts": counts[rule],
            "customers": len(who),
            "share": round(len(who) / n, 4),
            "share_by_loan_group": {
                g: round(sum(1 for c in who if group_of.get(c) == g) / size, 4)
                for g, size in sorted(sizes.items())
            },
        }
    return out


def measure(*, book: Book, lines: list[bytes], monitor: Monitor) -> dict[str, Any]:
    """Replay and every Berka check's measured value (see the module docstring)."""
    purpose_of = {f"berka.t{tid}": p.purpose for tid, p in book.postings.items()}
    penalties = [eid for eid, purpose in purpose_of.items() if purpose == "penalty_interest"]
    rec = record(lines=lines, monitor=monitor, watch=penalties)
    if rec.counts.get("invalid"):
        raise RuntimeError(f"the backtest refused Berka events: {rec.errors[:3]}")
    facts = {row["customer_id"]: row for row in rows(book=book)}
    status = {c: r["loan_status"] for c, r in facts.items()}
    group_of = {
        c: "loan_bad" if s in BAD else "loan_ok" if s in GOOD else "no_loan"
        for c, s in status.items()
    }
    final = {c: orjson.loads(monitor.snapshot_bytes(c, st)) for c, st in sorted(rec.states.items())}
    # cause 4: account-flow alerts resting on bills or insurance premiums
    flow = [a for a in rec.alerts if a["rule_id"].startswith("account_flow.")]
    on_bills = [
        a for a in flow if any(purpose_of.get(e) in BILL_PURPOSES for e in a["evidence_event_ids"])
    ]
    evidence: dict[str, int] = defaultdict(int)
    for a in flow:
        for e in a["evidence_event_ids"]:
            evidence[purpose_of.get(e, "not a posting")] += 1
    # cause 6: penalty interest in the risk state right after each posting
    visible = [eid for eid in penalties if penalty_visible(rec.snapshots[eid])]
    # pensions as regular income
    pensioners = [c for c, r in facts.items() if int(r["pension_credits"]) >= PENSION_MIN_CREDITS]
    recognised = [c for c in pensioners if c in final and regular_income(final[c])]
    # B/D above A/C on risk
    max_churn = {c: max((p[1] for p in pts), default=0.0) for c, pts in rec.series.items()}

    def auc(value: dict[str, float], only_in_window: bool) -> float | None:
        keep = [
            c
            for c in status
            if status[c] in BAD | GOOD
            and (not only_in_window or facts[c]["loan_in_window"] == "true")
        ]
        return roc_auc(
            positives=[value.get(c, 0.0) for c in keep if status[c] in BAD],
            negatives=[value.get(c, 0.0) for c in keep if status[c] in GOOD],
        )

    risk = {c: float(s["states"]["risk"]["score"] or 0) for c, s in final.items()}
    return {
        "customers": len(facts),
        "events": len(lines),
        "backtest": {
            "ruleset_version": monitor.rs.version,
            "seconds": round(rec.seconds, 1),
            "alerts": len(rec.alerts),
            # amounts left out of every sum because their currency had no rate (by currency)
            "amounts_without_fx_rate": dict(sorted(monitor.fx.skipped.items())),
        },
        "loan_groups": {
            g: sum(1 for x in group_of.values() if x == g) for g in sorted(set(group_of.values()))
        },
        "rules": _rule_shares(rec, group_of),
        "bills_not_outflow": {
            "account_flow_alerts": len(flow),
            "account_flow_alerts_on_bills_or_insurance": len(on_bills),
            "customers": len({a["customer_id"] for a in on_bills}),
            "evidence_purposes": dict(sorted(evidence.items())),
        },
        "penalty_interest": {
            "postings": len(penalties),
            "visible_in_risk_state": len(visible),
            "customers": len({book_owner(eid, rec) for eid in penalties}),
        },
        "pensions": {
            "customers_with_pension": len(pensioners),
            "recognised_as_regular_income": len(recognised),
        },
        "loan_outcome_ranking": {
            "bad_loans": sum(1 for s in status.values() if s in BAD),
            "good_loans": sum(1 for s in status.values() if s in GOOD),
            "risk_score_auc_bd_vs_ac": auc(risk, False),
            "risk_score_auc_bd_vs_ac_loan_in_window": auc(risk, True),
            "max_churn_score_auc_bd_vs_ac": auc(max_churn, False),
        },
    }


def book_owner(event_id: str, rec: Recording) -> str:
    """The customer a watched posting belongs to (from its kept snapshot)."""
    return str(rec.snapshots[event_id]["customer_id"])


def run(*, mode: str = "short", rules_path: Path | None = None) -> dict[str, Any]:
    """The whole data set in either mode (it is small); the machine-readable results."""
    t0 = time.perf_counter()
    book, lines = book_and_lines()
    loaded = time.perf_counter() - t0
    result = measure(book=book, lines=lines, monitor=Monitor(ruleset=berka_ruleset(rules_path)))
    result["load_seconds"] = round(loaded, 1)
    return result


def print_table(result: dict[str, Any]) -> None:
    """The Berka checks, then the per-rule shares."""
    bills, pen = result["bills_not_outflow"], result["penalty_interest"]
    pens, rank = result["pensions"], result["loan_outcome_ranking"]
    print(
        f"\nBerka: {result['customers']:,} customers, {result['events']:,} events, rules "
        f"{result['backtest']['ruleset_version']}, {result['backtest']['alerts']:,} alerts"
    )
    print(
        f"  account-flow alerts on bills/insurance: {bills['account_flow_alerts_on_bills_or_insurance']}"
        f" of {bills['account_flow_alerts']} (target 0)"
    )
    print(
        f"  penalty-interest postings visible in risk: {pen['visible_in_risk_state']} of "
        f"{pen['postings']} (target all)"
    )
    print(
        f"  pensioners with regular income: {pens['recognised_as_regular_income']} of "
        f"{pens['customers_with_pension']}"
    )
    print(
        f"  risk AUC B/D vs A/C: {rank['risk_score_auc_bd_vs_ac']} (loan in window "
        f"{rank['risk_score_auc_bd_vs_ac_loan_in_window']}); max churn score AUC "
        f"{rank['max_churn_score_auc_bd_vs_ac']} ({rank['bad_loans']} B/D, {rank['good_loans']} A/C)"
    )
    print(f"  {'rule':42s} {'share':>7s} {'loan_bad':>8s} {'loan_ok':>8s} {'no_loan':>8s}")
    for rule, row in result["rules"].items():
        g = row["share_by_loan_group"]
        print(
            f"  {rule:42s} {row['share']:7.3f} {g.get('loan_bad', 0):8.3f} "
            f"{g.get('loan_ok', 0):8.3f} {g.get('no_loan', 0):8.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print the table and write JSON under bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, help="rules YAML (default: the packaged one)")
    args = parser.parse_args(argv)
    from bench.run import machine  # lazy: keeps this module importable without the harness

    started = time.monotonic()
    results = run(rules_path=args.rules)
    report = {
        "benchmark": "berka",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "rules_file": str(args.rules) if args.rules else "(packaged)",
        "results": results,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    print_table(results)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-berka-short.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written: {out.relative_to(REPO)}  ({report['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
