"""The synthetic customer base: segments, tiers, branches, managers, products and opening balances.

Money is kept in integer fen (CNY minor units) inside the model for speed and exactness; it is
written out as decimal strings. ``Customer.balances_cny`` gives the Decimal view.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from churnwatch_simulator.plans import Pattern, Plan

FEN = 100
PRIVATE_BANKING_THRESHOLD = 6_000_000 * FEN

# (tier, share of retail customers, financial assets range in CNY)
RETAIL_TIERS: tuple[tuple[str, float, int, int], ...] = (
    ("mass", 0.60, 8_000, 50_000),
    ("gold", 0.20, 50_000, 300_000),
    ("platinum", 0.12, 300_000, 1_000_000),
    ("diamond", 0.06, 1_000_000, 5_500_000),
    ("private_banking", 0.02, 6_200_000, 20_000_000),
)
CORPORATE_TIERS: tuple[tuple[str, float, int, int], ...] = (
    ("mass", 0.45, 200_000, 1_000_000),
    ("gold", 0.30, 1_000_000, 5_000_000),
    ("platinum", 0.17, 5_000_000, 20_000_000),
    ("diamond", 0.08, 20_000_000, 80_000_000),
)
SALARY_CNY: dict[str, tuple[int, int]] = {
    "mass": (4_000, 12_000),
    "gold": (10_000, 25_000),
    "platinum": (20_000, 50_000),
    "diamond": (40_000, 100_000),
    "private_banking": (80_000, 200_000),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
CITIES = ("华东", "江南", "东方", "鹏程", "远航", "金桥", "瑞丰", "恒通", "长江", "新港")
TRADES = ("贸易", "科技", "制造", "物流", "餐饮", "建材", "医药", "电子")


@dataclass(frozen=True, slots=True)
class Staffing:
    """Who serves the population: managers per branch, or one fixed manager (the demo)."""

    managers: int = 20
    branches: int = 5
    fixed_manager: str | None = None
    fixed_team: str | None = None
    fixed_branch: str | None = None

    def assign(self, *, rng: random.Random) -> tuple[str, str, str]:
        """(relationship manager id, service team id, branch id) for a new customer."""
        if self.fixed_manager:
            return self.fixed_manager, self.fixed_team or "team.demo", self.fixed_branch or "BR001"
        m = rng.randrange(self.managers)
        branch = m % self.branches
        return f"rm.{m + 1:03d}", f"team.{branch + 1:02d}", f"BR{branch + 1:03d}"


@dataclass(slots=True)
class Customer:
    """One customer and the balances of their accounts (fen)."""

    idx: int
    customer_id: str
    segment: str
    tier: str
    branch_id: str
    manager_id: str
    team_id: str
    wealth_advisor_id: str | None
    customer_since: date
    display_name: str
    plan: Plan
    products: list[str]
    demand: int
    time_deposit: int = 0
    investment: int = 0
    loan: int = 0
    loan_installment: int = 0
    salary: int = 0
    payday: int = 10
    has_payroll: bool = False
    spend_rate: float = 0.5
    spend_size: int = 200 * FEN
    had_accounts: set[str] = field(default_factory=set)
    closed_day: int | None = None
    overdue_since: int | None = None
    classification: str = "normal"
    complaints: int = 0

    @property
    def demand_account(self) -> str:
        return f"{self.customer_id}-D"

    @property
    def loan_id(self) -> str:
        return f"{self.customer_id}-L1"

    @property
    def financial_assets(self) -> int:
        """Deposits plus investments held with the bank (fen)."""
        return self.demand + self.time_deposit + self.investment

    def balances_cny(self) -> dict[str, Decimal]:
        """Current balances per product kind as Decimal CNY."""
        return {
            "demand": Decimal(self.demand) / FEN,
            "time_deposit": Decimal(self.time_deposit) / FEN,
            "investment": Decimal(self.investment) / FEN,
            "loan": Decimal(self.loan) / FEN,
        }


def _pick_tier(
    rng: random.Random, table: tuple[tuple[str, float, int, int], ...]
) -> tuple[str, int]:
    roll = rng.random()
    row = table[-1]
    for row in table:
        roll -= row[1]
        if roll <= 0:
            break
    tier, _share, low, high = row
    return tier, rng.randint(low, high) * FEN


def _name(rng: random.Random, segment: str) -> str:
    if segment == "corporate":
        return f"{rng.choice(CITIES)}{rng.choice(TRADES)}有限公司"
    return (
        rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    )


def build_customer(
    *,
    rng: random.Random,
    idx: int,
    customer_id: str,
    plan: Plan,
    staffing: Staffing,
    start: date,
    corporate_share: float = 0.15,
) -> Customer:
    """Draw one customer whose attributes suit its plan (e.g. payroll for a payroll stop)."""
    pattern = plan.pattern
    corporate = pattern not in (Pattern.PAYROLL_STOP, Pattern.PRIVATE_BANKING_SLIDE) and (
        rng.random() < corporate_share
    )
    segment = "corporate" if corporate else "retail"
    if pattern is Pattern.PRIVATE_BANKING_SLIDE:
        tier, assets = "private_banking", rng.randint(6_300_000, 7_800_000) * FEN
    else:
        tier, assets = _pick_tier(rng, CORPORATE_TIERS if corporate else RETAIL_TIERS)
    manager, team, branch = staffing.assign(rng=rng)
    advisor = f"wa.{branch[2:]}" if tier in ("platinum", "diamond", "private_banking") else None
    since = start - timedelta(days=rng.randint(200, 6000))

    if corporate:
        demand_share = rng.uniform(0.5, 0.8)
    elif tier in ("diamond", "private_banking"):
        demand_share = rng.uniform(0.12, 0.25)
    else:
        demand_share = rng.uniform(0.35, 0.8)
    demand = int(assets * demand_share)
    rest = assets - demand
    wealthy = tier != "mass"
    investment = int(rest * rng.uniform(0.3, 0.7)) if wealthy else 0
    time_deposit = rest - investment

    c = Customer(
        idx=idx,
        customer_id=customer_id,
        segment=segment,
        tier=tier,
        branch_id=branch,
        manager_id=manager,
        team_id=team,
        wealth_advisor_id=advisor,
        customer_since=since,
        display_name=_name(rng, segment),
        plan=plan,
        products=[],
        demand=demand,
        time_deposit=time_deposit,
        investment=investment,
        payday=rng.choice((5, 10, 15, 20, 25)),
    )
    low, high = SALARY_CNY[tier] if not corporate else (assets // FEN // 40, assets // FEN // 15)
    c.salary = rng.randint(low, max(low, high)) * FEN
    if corporate:
        c.has_payroll = True  # pays its staff through the bank's agency payroll
        c.spend_rate = 0.9
        c.spend_size = max(1_000 * FEN, assets // 60)
    else:
        c.has_payroll = pattern is Pattern.PAYROLL_STOP or (
            pattern is not Pattern.ACTIVITY_FADE and rng.random() < 0.75
        )
        c.spend_rate = rng.uniform(0.3, 0.8)
        c.spend_size = max(50 * FEN, c.salary // 40)

    needs_loan = pattern is Pattern.CREDIT_DETERIORATION
    if needs_loan or rng.random() < (0.5 if corporate else 0.25):
        c.loan = (
            int(assets * rng.uniform(0.5, 3.0)) if corporate else rng.randint(50_000, 800_000) * FEN
        )
        c.loan_installment = max(100 * FEN, c.loan // rng.randint(36, 240))

    c.products = _products(rng=rng, c=c, many=pattern is Pattern.PRODUCT_ATTRITION)
    c.had_accounts = {"demand"}
    if c.time_deposit:
        c.had_accounts.add("time_deposit")
    if c.investment:
        c.had_accounts.add("investment")
    if c.loan:
        c.had_accounts.add("loan")
    return c


def _products(*, rng: random.Random, c: Customer, many: bool) -> list[str]:
    corporate = c.segment == "corporate"
    products = ["online_banking"] if corporate else ["debit_card", "mobile_banking"]
    if c.has_payroll:
        products.append("payroll_agency")
    if c.time_deposit:
        products.append("time_deposit")
    if c.investment:
        products.append("wealth_product" if corporate or rng.random() < 0.5 else "fund")
    if c.loan:
        products.append("loan")
    optional = (
        ["wealth_product"]
        if corporate
        else [
            "online_banking",
            "credit_card",
            "insurance",
            "treasury_bond",
            "securities_link",
            "fund",
        ]
    )
    for product in optional:
        if product not in products and (many or rng.random() < 0.25):
            products.append(product)
    return products
