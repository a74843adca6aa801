"""Which intake failures are poison (dead-lettered) and when an intake counts as stuck (unit)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from churnwatch_alerts.intake.poison import database_detail, refused_by_database
from churnwatch_alerts.intake.progress import Progress


class DriverError(Exception):
    """Stands in for a driver exception: only its SQLSTATE matters here."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str, message: str = "boom") -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError(
        "INSERT ... secret params", {"title": "x"}, DriverError(message, sqlstate)
    )


@pytest.mark.parametrize(
    ("sqlstate", "poison"),
    [
        ("22021", True),  # character_not_in_repertoire: NUL in text
        ("22001", True),  # string_data_right_truncation
        ("23514", True),  # check_violation
        ("08006", False),  # connection_failure
        ("40001", False),  # serialization_failure
        ("55P03", False),  # lock_not_available
        ("57P01", False),  # admin_shutdown
    ],
)
def test_only_data_errors_are_poison(sqlstate: str, poison: bool) -> None:
    assert refused_by_database(_wrapped(sqlstate)) is poison


def test_errors_without_sqlstate_are_transient_unless_unencodable() -> None:
    assert refused_by_database(ConnectionRefusedError()) is False
    assert refused_by_database(TimeoutError()) is False
    assert refused_by_database(sa_exc.DataError("stmt", {}, Exception("x"))) is True
    try:
        "\ud800".encode()
    except UnicodeEncodeError as exc:
        assert refused_by_database(exc) is True


def test_database_detail_leaves_out_the_statement_and_parameters() -> None:
    detail = database_detail(_wrapped("22021", 'invalid byte sequence for encoding "UTF8": 0x00'))
    assert detail["sqlstate"] == "22021"
    assert detail["database_message"] == 'invalid byte sequence for encoding "UTF8": 0x00'
    assert "secret" not in str(detail) and "INSERT" not in str(detail)


def test_progress_is_stuck_only_after_the_threshold_and_clears_on_commit() -> None:
    progress = Progress()
    assert progress.stuck(name="alerts", after=30, now=100.0) is None
    progress.polled(now=100.0)
    progress.polled(now=120.0)  # the same records re-polled after a rewind keep the first time
    assert progress.stuck(name="alerts", after=30, now=129.0) is None
    hung = progress.stuck(name="alerts", after=30, now=131.0)
    assert hung is not None and hung["pending_seconds"] == 31.0
    assert "no attempt has finished" in hung["reason"]
    progress.failed(error=TimeoutError(), sqlstate=None)
    progress.failed(error=TimeoutError(), sqlstate="57014")
    failing = progress.stuck(name="alerts", after=30, now=131.0)
    assert failing is not None and failing["failed_attempts"] == 2
    assert "last error TimeoutError (sqlstate 57014)" in failing["reason"]
    progress.committed()
    assert progress.stuck(name="alerts", after=30, now=1000.0) is None
