"""The model card: Markdown for reviewers (SR 11-7 / SS1/23 documentation) and its PNG charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from churnwatch_state_monitor.model.budget import DISTRIBUTION, budget_table, describe
from churnwatch_state_monitor.model.features import REGISTRY
from churnwatch_state_monitor.model.metrics import ECE_BINS


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers
    import matplotlib.pyplot as plt

    return plt


def charts(
    *,
    out: Path,
    p: np.ndarray,
    y: np.ndarray,
    rule: np.ndarray,
    importance: dict[str, float],
) -> list[str]:
    """ROC, calibration, feature importance and score distribution PNGs; returns file names."""
    from sklearn.metrics import roc_curve

    plt = _pyplot()
    names = []

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for scores, label, style in ((p, "model", "-"), (rule / 100.0, "rule score", "--")):
        fpr, tpr, _ = roc_curve(y, scores)
        ax.plot(fpr, tpr, style, label=label)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax.set(
        xlabel="false positive rate (stayers flagged)",
        ylabel="true positive rate (leavers)",
        title="ROC on the held-out validation window",
    )
    ax.legend(loc="lower right")
    names.append(_save(fig, out / "roc.png", plt))

    fig, ax = plt.subplots(figsize=(5.5, 5))
    idx = np.minimum((p * ECE_BINS).astype(int), ECE_BINS - 1)
    mean_p, rate, size = [], [], []
    for b in range(ECE_BINS):
        m = idx == b
        if m.any():
            mean_p.append(p[m].mean())
            rate.append(y[m].mean())
            size.append(m.sum())
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect")
    ax.scatter(mean_p, rate, s=[20 + 200 * s / max(size) for s in size], label="bins (size = rows)")
    ax.plot(mean_p, rate, "-")
    ax.set(
        xlabel="predicted probability",
        ylabel="observed churn rate",
        title="Calibration (held-out validation window)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")
    names.append(_save(fig, out / "calibration.png", plt))

    top = sorted(importance.items(), key=lambda kv: kv[1])[-15:]
    fig, ax = plt.subplots(figsize=(7, 5.5))
    ax.barh([REGISTRY[n].label for n, _ in top], [v for _, v in top])
    ax.set(xlabel="total gain", title="Feature importance (top 15)")
    ax.tick_params(axis="y", labelsize=8)
    names.append(_save(fig, out / "feature_importance.png", plt))

    fig, ax = plt.subplots(figsize=(6, 4.5))
    bins = np.linspace(0, 1, 26)
    ax.hist(p[y == 0], bins=bins, alpha=0.6, label="stayed", log=True)
    ax.hist(p[y == 1], bins=bins, alpha=0.6, label="churned within horizon", log=True)
    ax.set(
        xlabel="churn probability",
        ylabel="rows (log scale)",
        title="Score distribution (held-out validation window)",
    )
    ax.legend()
    names.append(_save(fig, out / "score_distribution.png", plt))
    return names


def _save(fig: Any, path: Path, plt: Any) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def markdown(manifest: dict[str, Any], charts_: list[str]) -> str:
    """The model card text."""
    m = manifest["metrics"]["test"]
    w = manifest["training_window"]
    lines = [
        f"# Churn model {manifest['version']}",
        "",
        "## Purpose and use",
        (
            f"Estimates the probability that a customer churns within {manifest['horizon_days']} days "
            "of the scoring time. It ranks and prioritises relationship managers' follow-up; it does not "
            "decide anything about a customer on its own. Its churn-risk levels use probability "
            f"cut-offs watch/warning/critical = {manifest['cutoffs']}."
        ),
        "",
        "## Data",
        (
            f"- Events: `{manifest['events_file']}` ({manifest['events']} events, "
            f"{manifest['customers']} customers, {w['history_start']} to {w['history_end']})."
        ),
        f"- Labels: {manifest['label_rule']}.",
        f"- Training as-of dates: {', '.join(w['train_as_of'])}.",
        f"- Validation as-of dates: {', '.join(w['validation_as_of'])}"
        + (
            " (training labels end before the validation window starts)."
            if w["embargo"]
            else " (short history: training labels overlap the validation window)."
        ),
        (
            "- Validation customers are split by a hash of their id: one half stopped the boosting "
            "and fitted the calibration, the other half gives every figure below."
        ),
        "- Rows (customer x as-of date): {train:,} training, {calibration:,} calibration, "
        "{test:,} test.".format(**manifest["metrics"]["rows"]),
        "",
        "## Performance (held-out half of the validation window)",
        "| measure | value |",
        "|---|---|",
    ]
    keys = (
        "rows",
        "positives",
        "customers",
        "auc",
        "rule_score_auc",
        "pr_auc",
        "ece",
        "brier",
        "precision_top_10pct",
        "precision_at_warning",
        "recall_at_warning",
        "leavers",
        "leavers_warned",
        "lead_days_median",
        "lead_days_p25",
    )
    lines.extend(f"| {key} | {m.get(key)} |" for key in keys)
    lines += [
        "",
        (
            "AUC of the engine's rule score (the composite churn score) is on the same rows. Lead "
            "time counts from the first as-of date at which a leaver was at warning or above, so its "
            "resolution is the as-of grid (monthly by default)."
        ),
        "",
        *[f"![{c}]({c})" for c in charts_],
        "",
        *_budget_section(manifest),
        "## Model",
        (
            f"- LightGBM {manifest['libraries'].get('lightgbm')}, {manifest['best_iteration']} trees "
            f"(early stopping), parameters in manifest.json; calibration: "
            f"{manifest['calibration_method']}."
        ),
        (
            f"- Features ({len(manifest['features'])}), computed point in time from the state "
            "monitor's five states by the engine code the worker runs:"
        ),
        "",
        "| feature | state | meaning | unit |",
        "|---|---|---|---|",
        *[
            f"| {n} | {REGISTRY[n].state} | {REGISTRY[n].label} | {REGISTRY[n].unit} |"
            for n in manifest["features"]
        ],
        "",
        "## Limits",
        "- Trained on one bank's history: retrain and re-validate before using it on another.",
        (
            "- The validation window is the latest part of the history only; performance on later "
            "periods is watched with drift (PSI, `model report`) and a shadow model before promotion."
        ),
        (
            "- Peer baselines in explanations are medians of segment/tier cohorts in the training "
            "window, not live cohort statistics."
        ),
    ]
    return "\n".join(lines) + "\n"


BUDGET_SHARES = (0.01, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3)


def _budget_section(manifest: dict[str, Any]) -> list[str]:
    """The churn levels against the validation distribution, and the cut-offs of common budgets."""
    found = manifest.get(DISTRIBUTION)
    if not found:
        return []
    levels = describe(cutoffs=manifest["cutoffs"], distribution=found, hysteresis=0.2)
    lines = [
        "## Churn levels and the alert budget",
        (
            f"Validation rows ({found['rows']:,}: every customer at each validation as-of date): the "
            "share at or above each cut-off, and at or above its exit point (hysteresis 0.2: a "
            "level is left below cut-off x 0.8, so the share holding a level lies between the two)."
        ),
        "",
        "| level | cut-off | share at or above | by as-of date | share above exit |",
        "|---|---|---|---|---|",
    ]
    for lv in levels:
        span = lv["validation_share_by_date"]
        lines.append(
            f"| {lv['level']} | {lv['cutoff']:.2%} | {lv['validation_share']:.1%} | "
            + (f"{span[0]:.1%} - {span[1]:.1%}" if span else "-")
            + f" | {lv['validation_share_above_exit']:.1%} |"
        )
    lines += [
        "",
        (
            "Cut-offs for an alert budget (`CHURNWATCH_MONITOR_MODEL_BUDGET`, `backtest "
            "--model-budget`: the share of the book at a level or above; the lowest probability "
            "that keeps the share within it; a dash where a calibration step holding more than "
            "the share sits at the top):"
        ),
        "",
        "| share of the book | cut-off |",
        "|---|---|",
        *[
            f"| {share:.0%} | {'-' if cut is None else f'{cut:.2%}'} |"
            for share, cut in budget_table(found, BUDGET_SHARES)
        ],
        "",
    ]
    return lines
