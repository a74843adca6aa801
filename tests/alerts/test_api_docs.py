"""Self-hosted API docs: Swagger UI and ReDoc load only from the service itself (no CDN).

Both services' /docs and /redoc pages are fetched, every script and stylesheet they reference must
be a path on the same service and answer 200; ingest's OpenAPI document carries one example per
event type, each a valid event.
"""

from __future__ import annotations

import re

import orjson
import pytest
from fastapi.testclient import TestClient

from churnwatch_alerts.app import create_app as create_alerts
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_ingest.app import create_app as create_ingest
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.events import PRODUCER_EVENT_TYPES, parse_event
from churnwatch_shared.settings import CommonSettings, Environment

ASSET = re.compile(r"""(?:src|href|spec-url)\s*[=:]\s*['"]([^'"]+)['"]""")


def _clients() -> list[TestClient]:
    ingest = create_ingest(IngestSettings(common=CommonSettings(env=Environment.TEST)))
    alerts = create_alerts(
        settings=AlertsSettings(database_url="sqlite+aiosqlite:///:memory:", consume=False)
    )
    return [TestClient(ingest), TestClient(alerts)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_service(page: str) -> None:
    for client in _clients():
        html = client.get(page).text
        assets = [a for a in ASSET.findall(html) if not a.startswith("#")]
        assert assets, html
        for asset in assets:
            assert not asset.startswith(("http:", "https:", "//")), f"{page} loads {asset}"
            answer = client.get(asset)
            assert answer.status_code == 200, asset
            assert answer.content, asset
        assert "cdn" not in html.lower()


def test_ingest_openapi_has_a_valid_example_for_every_event_type() -> None:
    client = _clients()[0]
    document = client.get("/openapi.json").json()
    body = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    examples = body["examples"]
    assert set(examples) == {t.value for t in PRODUCER_EVENT_TYPES}
    for name, example in examples.items():
        event = parse_event(orjson.dumps(example["value"]))
        assert event.event_type == name
