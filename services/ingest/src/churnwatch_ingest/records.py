"""Kafka records of events: built once per event, shared header lists, cheap construction."""

from __future__ import annotations

import functools
from typing import NamedTuple

from churnwatch_shared import topics
from churnwatch_shared.events import Event

MAX_REQUEST_SIZE = 1024 * 1024  # aiokafka's default max_request_size; a record above it is refused


class Record(NamedTuple):
    """One Kafka record ready to send (a tuple: built once per event, so construction is cheap)."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


# Records are built once per event: tuple.__new__ skips the NamedTuple's Python-level __new__.
_new_record = functools.partial(tuple.__new__, Record)
# The headers of a record depend only on (event_type, producer): one shared list per pair. The
# producer only reads them; nothing may mutate a record's headers.
_HEADERS: dict[tuple[str, str | None], list[tuple[str, bytes]]] = {}
_MAX_HEADER_SETS = 1024  # raw-topic writers name their own producer; keep the memo bounded


def _headers(event_type: str, producer: str | None) -> list[tuple[str, bytes]]:
    headers = _HEADERS.get((event_type, producer))
    if headers is None:
        if len(_HEADERS) >= _MAX_HEADER_SETS:
            _HEADERS.clear()
        headers = _HEADERS[(event_type, producer)] = [
            (topics.HEADER_EVENT_TYPE, event_type.encode()),
            (topics.HEADER_PRODUCER, (producer or "").encode()),
        ]
    return headers


def event_record(event: Event) -> Record:
    """The EVENTS-topic record of an event: key customer_id, headers event_type and producer.

    The value is the canonical ``encode_event`` form, produced as bytes by the model's serializer
    directly (``encode_event`` goes through a str and back; tests hold the two byte-identical).
    """
    return _new_record(
        (
            event.customer_id.encode(),
            event.__pydantic_serializer__.to_json(event, exclude_none=True),
            _headers(event.event_type, event.producer),
        )
    )
