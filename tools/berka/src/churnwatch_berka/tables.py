"""Reading the Berka tables (``*.asc`` or ``*.asc.gz``: ``;``-separated, quoted text, YYMMDD dates).

Each table becomes a list of small frozen rows. A malformed file stops the load with the file, the
line number, the column and what is accepted; nothing is skipped silently.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

TRANS_FILES = ("trans.asc.gz", "trans.asc", "trans_prefix.asc.gz", "trans_prefix.asc")


class BerkaDataError(ValueError):
    """A Berka file is missing or a value in it cannot be read."""


@dataclass(frozen=True, slots=True)
class Account:
    account_id: int
    district_id: int
    frequency: str
    opened: date


@dataclass(frozen=True, slots=True)
class Client:
    client_id: int
    birth_number: str
    district_id: int


@dataclass(frozen=True, slots=True)
class Disp:
    disp_id: int
    client_id: int
    account_id: int
    role: str


@dataclass(frozen=True, slots=True)
class Card:
    card_id: int
    disp_id: int
    card_type: str
    issued: date


@dataclass(frozen=True, slots=True)
class Loan:
    loan_id: int
    account_id: int
    granted: date
    amount: Decimal
    duration_months: int
    payment: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class Order:
    order_id: int
    account_id: int
    bank_to: str
    account_to: str
    amount: Decimal
    k_symbol: str


@dataclass(frozen=True, slots=True)
class Trans:
    trans_id: int
    account_id: int
    booked: date
    type: str
    operation: str
    amount: Decimal
    balance: Decimal
    k_symbol: str
    bank: str
    partner_account: str


@dataclass(frozen=True, slots=True)
class District:
    district_id: int
    name: str
    region: str
    average_salary: int


@dataclass(frozen=True, slots=True)
class Berka:
    """All eight tables of one data directory."""

    accounts: list[Account]
    clients: list[Client]
    disps: list[Disp]
    cards: list[Card]
    loans: list[Loan]
    orders: list[Order]
    trans: list[Trans]
    districts: list[District]


class _Reader:
    """One file's rows as dicts, with typed accessors that name the file, line and column."""

    def __init__(self, path: Path) -> None:
        self.path = path
        raw = path.read_bytes()
        if path.suffix == ".gz":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise BerkaDataError(f"{path}: not a readable gzip file ({exc})") from exc
        text = raw.decode("ascii", errors="strict")
        self.rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))

    def each(self, columns: tuple[str, ...]) -> list[dict[str, str]]:
        header = set(self.rows[0]) if self.rows else set()
        missing = [c for c in columns if c not in header]
        if self.rows and missing:
            raise BerkaDataError(
                f"{self.path}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}"
            )
        return self.rows

    def _fail(self, line: int, column: str, value: str, accepted: str) -> BerkaDataError:
        return BerkaDataError(f"{self.path}:{line}: column {column}={value!r}; expected {accepted}")

    def int_(self, line: int, row: dict[str, str], column: str) -> int:
        value = (row.get(column) or "").strip()
        if not value.isdigit():
            raise self._fail(line, column, value, "a whole number")
        return int(value)

    def decimal(self, line: int, row: dict[str, str], column: str) -> Decimal:
        value = (row.get(column) or "").strip()
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise self._fail(line, column, value, "a decimal number such as 1234.50") from None
        if not amount.is_finite():
            raise self._fail(line, column, value, "a finite decimal number")
        return amount

    def date_(self, line: int, row: dict[str, str], column: str) -> date:
        value = (row.get(column) or "").strip()[:6]
        try:
            return date(1900 + int(value[:2]), int(value[2:4]), int(value[4:6]))
        except ValueError:
            raise self._fail(line, column, value, "a date YYMMDD such as 930101") from None

    def choice(self, line: int, row: dict[str, str], column: str, accepted: set[str]) -> str:
        value = row.get(column) or ""
        if value not in accepted:
            raise self._fail(line, column, value, "one of " + ", ".join(sorted(accepted)))
        return value


def _open(directory: Path, *names: str) -> _Reader:
    for name in names:
        path = directory / name
        if path.exists():
            return _Reader(path)
    raise BerkaDataError(
        f"{directory}: none of {', '.join(names)} found (the Berka data directory)"
    )


def load(*, directory: Path) -> Berka:
    """Read every table of the Berka data set from ``directory``."""
    if not directory.is_dir():
        raise BerkaDataError(f"{directory}: not a directory (expected the Berka data directory)")

    def table(name: str) -> _Reader:
        return _open(directory, f"{name}.asc.gz", f"{name}.asc")

    r = table("account")
    accounts = [
        Account(
            account_id=r.int_(n, row, "account_id"),
            district_id=r.int_(n, row, "district_id"),
            frequency=row["frequency"],
            opened=r.date_(n, row, "date"),
        )
        for n, row in enumerate(r.each(("account_id", "district_id", "frequency", "date")), 2)
    ]
    r = table("client")
    clients = [
        Client(
            client_id=r.int_(n, row, "client_id"),
            birth_number=row["birth_number"],
            district_id=r.int_(n, row, "district_id"),
        )
        for n, row in enumerate(r.each(("client_id", "birth_number", "district_id")), 2)
    ]
    r = table("disp")
    disps = [
        Disp(
            disp_id=r.int_(n, row, "disp_id"),
            client_id=r.int_(n, row, "client_id"),
            account_id=r.int_(n, row, "account_id"),
            role=r.choice(n, row, "type", {"OWNER", "DISPONENT"}),
        )
        for n, row in enumerate(r.each(("disp_id", "client_id", "account_id", "type")), 2)
    ]
    r = table("card")
    cards = [
        Card(
            card_id=r.int_(n, row, "card_id"),
            disp_id=r.int_(n, row, "disp_id"),
            card_type=r.choice(n, row, "type", {"classic", "junior", "gold"}),
            issued=r.date_(n, row, "issued"),
        )
        for n, row in enumerate(r.each(("card_id", "disp_id", "type", "issued")), 2)
    ]
    r = table("loan")
    loan_cols = ("loan_id", "account_id", "date", "amount", "duration", "payments", "status")
    loans = [
        Loan(
            loan_id=r.int_(n, row, "loan_id"),
            account_id=r.int_(n, row, "account_id"),
            granted=r.date_(n, row, "date"),
            amount=r.decimal(n, row, "amount"),
            duration_months=r.int_(n, row, "duration"),
            payment=r.decimal(n, row, "payments"),
            status=r.choice(n, row, "status", {"A", "B", "C", "D"}),
        )
        for n, row in enumerate(r.each(loan_cols), 2)
    ]
    r = table("order")
    order_cols = ("order_id", "account_id", "bank_to", "account_to", "amount", "k_symbol")
    orders = [
        Order(
            order_id=r.int_(n, row, "order_id"),
            account_id=r.int_(n, row, "account_id"),
            bank_to=row["bank_to"].strip(),
            account_to=row["account_to"].strip(),
            amount=r.decimal(n, row, "amount"),
            k_symbol=row["k_symbol"],
        )
        for n, row in enumerate(r.each(order_cols), 2)
    ]
    r = _open(directory, *TRANS_FILES)
    trans_cols = ("trans_id", "account_id", "date", "type", "operation", "amount", "balance")
    trans = [
        Trans(
            trans_id=r.int_(n, row, "trans_id"),
            account_id=r.int_(n, row, "account_id"),
            booked=r.date_(n, row, "date"),
            type=r.choice(n, row, "type", {"PRIJEM", "VYDAJ", "VYBER"}),
            operation=row["operation"],
            amount=r.decimal(n, row, "amount"),
            balance=r.decimal(n, row, "balance"),
            k_symbol=row.get("k_symbol") or "",
            bank=(row.get("bank") or "").strip(),
            partner_account=(row.get("account") or "").strip(),
        )
        for n, row in enumerate(r.each((*trans_cols, "k_symbol", "bank", "account")), 2)
    ]
    r = table("district")
    districts = [
        District(
            district_id=r.int_(n, row, "A1"),
            name=row["A2"],
            region=row["A3"],
            average_salary=r.int_(n, row, "A11"),
        )
        for n, row in enumerate(r.each(("A1", "A2", "A3", "A11")), 2)
    ]
    return Berka(
        accounts=accounts,
        clients=clients,
        disps=disps,
        cards=cards,
        loans=loans,
        orders=orders,
        trans=trans,
        districts=districts,
    )
