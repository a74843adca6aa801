"""Paging of GET /v1/alerts: out-of-range offset or limit is a clear 422, never a 500 (ASGI, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager

from churnwatch_alerts.app import create_app
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.models import Role
from churnwatch_alerts.settings import AlertsSettings
from tests.alerts.conftest import T0

pytestmark = pytest.mark.integration

SECRET = "paging-test-secret-of-full-length-for-hs256"


@pytest.fixture
async def client(make_database: Callable[[], str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = AlertsSettings(
        database_url=make_database(),
        jwt_secret=SECRET,
        consume=False,
        escalation_enabled=False,
        notifications_enabled=False,
    )
    app = create_app(settings=settings, clock=ManualClock(start=T0))
    # raise_app_exceptions=False: an unhandled error must show as the 500 a caller would get
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        token = mint_token(
            secret=SECRET, sub="rm.demo", role=Role.RELATIONSHIP_MANAGER, now=T0, ttl_seconds=600
        )
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.mark.parametrize(
    ("query", "field", "bound"),
    [
        ("offset=9223372036854775808", "offset", "less than or equal to 1000000"),
        ("offset=9223372036854775807", "offset", "less than or equal to 1000000"),
        ("offset=1000001", "offset", "less than or equal to 1000000"),
        ("offset=-1", "offset", "greater than or equal to 0"),
        ("limit=0", "limit", "greater than or equal to 1"),
        ("limit=201", "limit", "less than or equal to 200"),
        ("limit=99999999999999999999", "limit", "less than or equal to 200"),
    ],
)
async def test_out_of_range_paging_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, query: str, field: str, bound: str
) -> None:
    response = await client.get(f"/v1/alerts?{query}")
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field]
    assert bound in error["msg"]


async def test_the_largest_accepted_page_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/alerts?offset=1000000&limit=200")
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
