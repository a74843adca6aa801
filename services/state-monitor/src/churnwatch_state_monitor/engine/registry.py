"""The rule table: event type -> state update -> the rules it triggers, built once at start-up.

``Registry(rules)`` takes the rule set's rule objects (built from the rules file by
``churnwatch_state_monitor.engine_config``) and the state updates (``updates.UPDATES``) and
builds the routes the engine looks up per event: one dict lookup instead of a chain of
comparisons. Within one trigger, rules run in the order given (the catalog's order). Rule ids and
cooldown codes must be unique and triggers known: anything else is refused here, at start-up.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.events import EventType
from churnwatch_state_monitor.engine.rules import LEVEL_RISE, SILENCE, WEEK_CLOSED, Rule
from churnwatch_state_monitor.engine.updates import UPDATES, Update

_EVENT_TYPES: Final = frozenset(t.value for t in EventType)
TRIGGERS: Final = frozenset({WEEK_CLOSED, SILENCE, LEVEL_RISE})


class Route:
    """What one event type does: its state update (None: none) and the rules it triggers."""

    def __init__(self, update: Update | None, rules: tuple[Rule, ...]) -> None:
        self.update = update
        self.rules = rules


class Registry:
    """The rule set's rules, routed by trigger; immutable after start-up."""

    def __init__(self, rules: tuple[Rule, ...], updates: dict[str, Update] | None = None) -> None:
        table = UPDATES if updates is None else updates
        self.rules = rules
        self.by_id: dict[str, Rule] = {}
        self.code_of: dict[str, str] = {}  # rule id -> cooldown code
        owner: dict[str, str] = {}  # cooldown code -> rule id
        by_trigger: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.rule_id in self.by_id:
                raise ValueError(f"rule {rule.rule_id} is registered twice")
            if rule.code in owner:
                raise ValueError(
                    f"rule {rule.rule_id}: cooldown code {rule.code!r} is already "
                    f"{owner[rule.code]}'s (codes are stored: take a new one)"
                )
            if not rule.on:
                raise ValueError(f"rule {rule.rule_id} names no trigger")
            for trigger in rule.on:
                if trigger not in _EVENT_TYPES and trigger not in TRIGGERS:
                    raise ValueError(
                        f"rule {rule.rule_id}: unknown trigger {trigger!r} (accepted: an event "
                        f"type, or one of {', '.join(sorted(TRIGGERS))})"
                    )
                by_trigger.setdefault(trigger, []).append(rule)
            self.by_id[rule.rule_id] = rule
            self.code_of[rule.rule_id] = rule.code
            owner[rule.code] = rule.rule_id
        self.routes: dict[str, Route] = {}
        for kind in sorted(set(table) | (set(by_trigger) & _EVENT_TYPES)):
            self.routes[kind] = Route(table.get(kind), tuple(by_trigger.get(kind, ())))
        self.week_closed: tuple[Rule, ...] = tuple(by_trigger.get(WEEK_CLOSED, ()))
        self.silence: tuple[Rule, ...] = tuple(by_trigger.get(SILENCE, ()))
        self.level_rise: tuple[Rule, ...] = tuple(by_trigger.get(LEVEL_RISE, ()))

    def rule_ids(self) -> tuple[str, ...]:
        """Every rule id, in registration order."""
        return tuple(rule.rule_id for rule in self.rules)

    def table(self) -> dict[str, tuple[str, ...]]:
        """trigger -> rule ids, for documentation and tests."""
        out: dict[str, tuple[str, ...]] = {
            kind: tuple(r.rule_id for r in route.rules) for kind, route in self.routes.items()
        }
        out[WEEK_CLOSED] = tuple(r.rule_id for r in self.week_closed)
        out[SILENCE] = tuple(r.rule_id for r in self.silence)
        out[LEVEL_RISE] = tuple(r.rule_id for r in self.level_rise)
        return out
