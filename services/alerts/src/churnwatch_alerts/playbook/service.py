"""Suggestions per customer, their recorded outcomes, and the effect report (all audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from churnwatch_alerts.access import visible_customers
from churnwatch_alerts.assignments import repository as assignments_repo
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.customers import repository as customers_repo
from churnwatch_alerts.models import AlertRecord, Assignment, Role, SuggestionOutcome
from churnwatch_alerts.playbook import repository
from churnwatch_alerts.playbook.config import Playbook
from churnwatch_alerts.playbook.eligibility import (
    CustomerContext,
    OpenAlert,
    evaluate,
    in_control_group,
)
from churnwatch_alerts.playbook.marketing import MarketingObjections
from churnwatch_alerts.playbook.schemas import (
    EffectArm,
    EffectReport,
    HeldBackOut,
    OutcomeIn,
    OutcomeOut,
    SuggestionOut,
    SuggestionsOut,
)
from churnwatch_alerts.value import repository as value_repo

METHOD = (
    "intention to treat: every customer with a closed alert (outcome retained or lost, resolved "
    "in the window) counts in the arm the control-group hash puts them in, whether or not an "
    "action was suggested; a customer's newest such outcome counts"
)


@dataclass(frozen=True, slots=True)
class ControlGroup:
    share: float
    salt: str

    def holds(self, customer_id: str) -> bool:
        """Whether the customer is in the control group."""
        return in_control_group(customer_id=customer_id, share=self.share, salt=self.salt)


class UnknownAction(ValueError):
    """The action code is not in the playbook."""


class ControlCustomer(ValueError):
    """The customer is in the control group: no suggestion, so no outcome to record."""


def _scope(principal: Principal, column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    if principal.role is Role.ADMIN:
        return true()
    return column.in_(select(Assignment.customer_id).where(visible_customers(principal)))


async def _context(
    session: AsyncSession, *, customer_id: str, marketing: MarketingObjections
) -> CustomerContext:
    state = await customers_repo.get_state(session, customer_id=customer_id)
    alerts = await repository.open_alerts(session, customer_id=customer_id)
    reviews = await value_repo.of_customer(session, customer_id=customer_id, limit=1)
    assignment = await assignments_repo.get(session, customer_id=customer_id)
    snapshot = state.snapshot if state is not None else None
    tier = (assignment.tier if assignment is not None else None) or (snapshot or {}).get("tier")
    objects = await marketing.objects(session, customer_id=customer_id)
    if objects:
        # an objection to profiling for marketing: the value profile picks no action either
        reviews = []
    return CustomerContext(
        snapshot=snapshot,
        open_alerts=tuple(
            OpenAlert(
                rule_id=a.rule_id,
                kind=a.kind,
                severity=a.severity,
                title=a.title,
                reason_codes=tuple(str(r.get("code", "")) for r in a.payload.get("reasons", [])),
                reason_texts=tuple(str(r.get("text", "")) for r in a.payload.get("reasons", [])),
            )
            for a in alerts
        ),
        strategy=reviews[0].strategy if reviews else None,
        lifecycle=reviews[0].lifecycle if reviews else None,
        tier=tier,
        objects_to_marketing=objects,
    )


async def suggestions(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: str,
    playbook: Playbook,
    control: ControlGroup,
    marketing: MarketingObjections,
    now: datetime,
) -> SuggestionsOut:
    """The actions suggested for the customer now (none for the control group)."""
    context = await _context(session, customer_id=customer_id, marketing=marketing)
    in_control = control.holds(customer_id)
    out: list[SuggestionOut] = []
    withheld: dict[str, str] = {}
    if not in_control:
        evaluation = evaluate(playbook=playbook, context=context)
        latest = await repository.latest_outcomes(session, customer_id=customer_id)
        withheld = evaluation.withheld
        for s in evaluation.suggestions:
            done = latest.get(s.code)
            out.append(
                SuggestionOut(
                    code=s.code,
                    title=s.action.title,
                    kind=s.action.kind.value,
                    priority=s.action.priority,
                    due_within_hours=s.action.due_within_hours,
                    because=s.because,
                    latest_outcome=OutcomeOut.model_validate(done) if done else None,
                )
            )
    record(
        session,
        actor=principal.id,
        action="customer.suggestions_read",
        customer_id=customer_id,
        at=now,
        detail={"control_group": in_control, "suggested": [s.code for s in out]},
    )
    return SuggestionsOut(
        customer_id=customer_id,
        playbook_version=playbook.version,
        control_group=in_control,
        marketing_objection=context.objects_to_marketing,
        suggestions=out,
        withheld=withheld,
        held_back=[
            HeldBackOut(code=code, title=playbook.actions[code].title, why=why)
            for code, why in withheld.items()
        ],
    )


async def record_outcome(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: str,
    body: OutcomeIn,
    playbook: Playbook,
    control: ControlGroup,
    now: datetime,
) -> OutcomeOut:
    """Record accepted / declined / done for one of the customer's suggested actions."""
    if body.action not in playbook.actions:
        raise UnknownAction(
            f"action {body.action!r} is not in playbook {playbook.version}; accepted: "
            + ", ".join(sorted(playbook.actions))
        )
    if control.holds(customer_id):
        raise ControlCustomer(
            f"customer {customer_id} is in the control group and gets no suggestions"
        )
    row = SuggestionOutcome(
        customer_id=customer_id,
        action_code=body.action,
        playbook_version=playbook.version,
        outcome=body.outcome.value,
        note=body.note,
        recorded_by=principal.id,
        recorded_at=now,
    )
    repository.add_outcome(session, outcome=row)
    await session.flush()
    record(
        session,
        actor=principal.id,
        action="suggestion.outcome_recorded",
        customer_id=customer_id,
        at=now,
        detail={"action": body.action, "outcome": body.outcome.value, "id": row.id},
    )
    return OutcomeOut.model_validate(row)


def _arm(name: str, outcomes: list[str]) -> EffectArm:
    retained = sum(1 for o in outcomes if o == "retained")
    lost = len(outcomes) - retained
    rate = round(retained / len(outcomes), 4) if outcomes else None
    return EffectArm(
        arm=name, customers=len(outcomes), retained=retained, lost=lost, retained_rate=rate
    )


async def effect_report(
    session: AsyncSession,
    *,
    principal: Principal,
    playbook: Playbook,
    control: ControlGroup,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> EffectReport:
    """Retained rate of customers with suggestions against the control group, over the caller's."""
    closed = await repository.closed_outcomes(
        session, scope=_scope(principal, AlertRecord.customer_id), since=since, until=until
    )
    treated = [o for c, o in closed.items() if not control.holds(c)]
    held_out = [o for c, o in closed.items() if control.holds(c)]
    arms = [_arm("with_suggestions", treated), _arm("control", held_out)]
    with_rate, without_rate = arms[0].retained_rate, arms[1].retained_rate
    difference = (
        round(with_rate - without_rate, 4)
        if with_rate is not None and without_rate is not None
        else None
    )
    counts = await repository.outcome_counts(
        session, scope=_scope(principal, SuggestionOutcome.customer_id)
    )
    record(
        session,
        actor=principal.id,
        action="playbook.report_read",
        at=now,
        detail={"customers": len(closed)},
    )
    return EffectReport(
        playbook_version=playbook.version,
        control_share=control.share,
        since=since,
        until=until,
        arms=arms,
        difference=difference,
        outcomes=counts,
        method=METHOD,
    )
