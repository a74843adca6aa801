"""ORM models, one module per table; importing this package registers them all on ``Base``."""

from churnwatch_alerts.models.alert import AlertRecord, AlertStatus, Outcome
from churnwatch_alerts.models.assignment import Assignment
from churnwatch_alerts.models.audit_log import AuditEntry
from churnwatch_alerts.models.base import Base
from churnwatch_alerts.models.case import AlertVersion, CaseEntry, ScorePoint
from churnwatch_alerts.models.customer_state import CustomerStateRecord
from churnwatch_alerts.models.manager import Manager, Role
from churnwatch_alerts.models.notification import DeliveryAttempt, Notification, NotificationStatus
from churnwatch_alerts.models.privacy import ErasureRecord, ErasureStatus, MarketingObjection
from churnwatch_alerts.models.suggestion_outcome import SuggestionOutcome, SuggestionOutcomeKind
from churnwatch_alerts.models.value_review import ValueReview

__all__ = [
    "AlertRecord",
    "AlertStatus",
    "AlertVersion",
    "Assignment",
    "AuditEntry",
    "Base",
    "CaseEntry",
    "CustomerStateRecord",
    "DeliveryAttempt",
    "ErasureRecord",
    "ErasureStatus",
    "Manager",
    "MarketingObjection",
    "Notification",
    "NotificationStatus",
    "Outcome",
    "Role",
    "ScorePoint",
    "SuggestionOutcome",
    "SuggestionOutcomeKind",
    "ValueReview",
]
