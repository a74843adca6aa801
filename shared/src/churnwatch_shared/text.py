"""Text types of the wire contracts: which characters a string field may carry.

Control characters have no business in an id, a code or a label, and PostgreSQL refuses NUL in
text and JSON outright: one accepted ``"fees\\u0000x"`` once stopped every later alert from being
stored (issue 14). So every free-text field of a contract is one of two types, and the refusal
says where, which character and what is accepted:

- ``Label``: one line (names, codes, categories, titles) — no C0 or C1 control at all;
- ``Text``: prose that may span lines (reasons, explanations) — tab, line feed and carriage
  return allowed, every other control refused.

Unpaired surrogates are refused by both: they cannot be encoded as UTF-8, so no database or
JSON encoder downstream could take them either. Lengths stay with each field (``Field``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# C0 controls, DEL, C1 controls and the surrogate range.
_LABEL_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

LABEL_ACCEPTED = (
    "one line of text without control characters (U+0000-U+001F, U+007F-U+009F; "
    "no tab or line break)"
)
TEXT_ACCEPTED = (
    "text without control characters (U+0000-U+001F, U+007F-U+009F) other than tab, "
    "line feed and carriage return"
)
ERROR_TYPE = "control_character"


def _refuse(value: str, match: re.Match[str], accepted: str) -> PydanticCustomError:
    char = match.group()
    kind = "unpaired surrogate" if "\ud800" <= char <= "\udfff" else "control character"
    return PydanticCustomError(
        ERROR_TYPE,
        "{kind} {code} at position {position} is not allowed; accepted: {accepted}",
        {
            "kind": kind,
            "code": f"U+{ord(char):04X}",
            "position": match.start(),
            "accepted": accepted,
        },
    )


def _label(value: str) -> str:
    match = _LABEL_REFUSED.search(value)
    if match is not None:
        raise _refuse(value, match, LABEL_ACCEPTED)
    return value


def _text(value: str) -> str:
    match = _TEXT_REFUSED.search(value)
    if match is not None:
        raise _refuse(value, match, TEXT_ACCEPTED)
    return value


# One line: ids, codes, short labels, titles. Length limits are added per field.
Label = Annotated[str, AfterValidator(_label)]
# Prose that may span lines: tab, LF and CR are the only controls it may hold.
Text = Annotated[str, AfterValidator(_text)]
