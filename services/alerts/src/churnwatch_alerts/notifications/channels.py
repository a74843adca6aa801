"""Notification channels behind one small interface: inbox, signed webhook, email."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import httpx

from churnwatch_alerts.models import Manager, Notification
from churnwatch_alerts.notifications import messages
from churnwatch_alerts.notifications.outbox import INBOX
from churnwatch_alerts.settings import AlertsSettings

SIGNATURE_HEADER = "X-ChurnWatch-Signature"
TIMESTAMP_HEADER = "X-ChurnWatch-Timestamp"
DELIVERY_HEADER = "X-ChurnWatch-Delivery"


class DeliveryError(Exception):
    """A delivery attempt failed; ``permanent`` means retrying cannot help."""

    def __init__(self, message: str, *, status_code: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status_code = status_code
        self.permanent = permanent


class Channel(Protocol):
    """Deliver one notification to one manager, or raise ``DeliveryError``."""

    async def send(self, *, notification: Notification, manager: Manager | None) -> int | None: ...

    async def close(self) -> None: ...


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp.body``, as sent in the signature header."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class InboxChannel:
    """The in-app inbox: the notification row is the message, nothing to send."""

    async def send(self, *, notification: Notification, manager: Manager | None) -> int | None:
        return None

    async def close(self) -> None:
        return None


class WebhookChannel:
    """POST JSON to the manager's webhook URL, signed with HMAC-SHA256."""

    def __init__(self, *, secret: str, timeout: float) -> None:
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=timeout)

    async def send(self, *, notification: Notification, manager: Manager | None) -> int | None:
        if manager is None or not manager.webhook_url:
            raise DeliveryError("manager has no webhook_url", permanent=True)
        body = json.dumps(notification.payload, separators=(",", ":"), sort_keys=True).encode()
        # The time of this send (receivers refuse old timestamps as replays), not of the claim.
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret=self.secret, timestamp=timestamp, body=body),
            # Receivers dedupe on this id: a retry after a lost answer carries the same one.
            DELIVERY_HEADER: str(notification.id),
        }
        try:
            response = await self.client.post(manager.webhook_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryError(
                f"webhook answered {response.status_code}",
                status_code=response.status_code,
                permanent=400 <= response.status_code < 500 and response.status_code != 429,
            )
        return response.status_code

    async def close(self) -> None:
        await self.client.aclose()


class EmailChannel:
    """Plain-text email over SMTP (aiosmtplib)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        inbox_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.inbox_url = inbox_url
        self.timeout = timeout

    async def send(self, *, notification: Notification, manager: Manager | None) -> int | None:
        if manager is None or not manager.email:
            raise DeliveryError("manager has no email address", permanent=True)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = manager.email
        message["Subject"] = messages.subject(notification.payload)
        # Receivers (and our tests) dedupe on this: a retry after a lost answer repeats it.
        message["Message-ID"] = f"<churnwatch-{notification.id}@{self.sender.rpartition('@')[2]}>"
        message.set_content(messages.body(notification.payload, inbox_url=self.inbox_url))
        try:
            await aiosmtplib.send(message, hostname=self.host, port=self.port, timeout=self.timeout)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        return None

    async def close(self) -> None:
        return None


def default_channels(settings: AlertsSettings) -> dict[str, Channel]:
    """Inbox and webhook always; email when an SMTP host is configured."""
    channels: dict[str, Channel] = {
        INBOX: InboxChannel(),
        "webhook": WebhookChannel(
            secret=settings.webhook_secret, timeout=settings.webhook_timeout_seconds
        ),
    }
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            inbox_url=settings.inbox_url,
        )
    return channels
