"""Config of the account-flow rules (``rules.account_flow.*``): validated, then built into the
engine's records (``engine.account_flow``; money in cents, days in seconds)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from churnwatch_shared.alerts import Severity
from churnwatch_state_monitor.engine import account_flow as engine
from churnwatch_state_monitor.engine.facts import cents
from churnwatch_state_monitor.engine_config.base import Money, RuleConfig, RuleEntry, Share

if TYPE_CHECKING:
    from churnwatch_state_monitor.ruleset import RuleSet


class LargeInterbankOutflow(RuleConfig):
    min_share: Share = 0.5
    min_amount: Money = Decimal(1000)
    critical_share: Share = 0.9


def _large(cfg: LargeInterbankOutflow, rs: RuleSet) -> engine.LargeInterbankOutflow:
    return engine.LargeInterbankOutflow(
        enabled=cfg.enabled,
        severity=cfg.severity,
        min_share=cfg.min_share,
        min_amount=cents(cfg.min_amount),
        critical_share=cfg.critical_share,
    )


class InterbankOutflowShare(RuleConfig):
    min_share_7d: Share = 0.5
    min_share_30d: Share = 0.5
    min_amount: Money = Decimal(10000)
    # separate debits to other banks within the 30-day window: one large purchase is not a pattern
    min_transfers_30d: Annotated[int, Field(ge=1, le=50)] = 3
    # the account-flow score counts the share in full only for money steadily moving away: the
    # transfers without the largest one still this share of the funds (one big purchase is not
    # that) and the 30-day net outflow this share of them (a busy business account is not that)
    pattern_rest_share: Share = 0.35
    pattern_net_share: Share = 0.35


def _share(cfg: InterbankOutflowShare, rs: RuleSet) -> engine.InterbankOutflowShare:
    return engine.InterbankOutflowShare(
        enabled=cfg.enabled,
        severity=cfg.severity,
        min_share_7d=cfg.min_share_7d,
        min_share_30d=cfg.min_share_30d,
        min_amount=cents(cfg.min_amount),
        min_transfers=cfg.min_transfers_30d,
        rest_share=cfg.pattern_rest_share,
        net_share=cfg.pattern_net_share,
    )


class PayrollMissing(RuleConfig):
    severity: Severity = Severity.WARNING
    min_payrolls_seen: Annotated[int, Field(ge=1, le=24)] = 2
    grace_days: Annotated[int, Field(ge=0, le=60)] = 10


def _payroll(cfg: PayrollMissing, rs: RuleSet) -> engine.PayrollMissing:
    return engine.PayrollMissing(
        enabled=cfg.enabled,
        severity=cfg.severity,
        min_payrolls=cfg.min_payrolls_seen,
        grace_days=cfg.grace_days,
        step=rs.silence_step_hours * 3600,
    )


ENTRIES = (
    RuleEntry(engine.LARGE_INTERBANK_OUTFLOW, LargeInterbankOutflow, _large),
    RuleEntry(engine.INTERBANK_OUTFLOW_SHARE, InterbankOutflowShare, _share),
    RuleEntry(engine.PAYROLL_MISSING, PayrollMissing, _payroll),
)
