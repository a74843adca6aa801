"""Versioned YAML configuration files (value margins, the playbook): read, validate, name the field.

One reader for every such file, so each refuses bad input the same way: the file, the field path
and pydantic's reason, never a traceback at start-up.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def parse(text: str, model: type[M], *, what: str, source: str, error: type[ValueError]) -> M:
    """Validate YAML ``text`` as ``model``; raises ``error`` naming the source and each bad field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{what} {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"{what} {source} must be a YAML mapping")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        ]
        raise error(f"{what} {source} is invalid: " + "; ".join(problems)) from exc


def read(
    path: Path | None, *, package: str, packaged: str, what: str, error: type[ValueError]
) -> tuple[str, str]:
    """The text of ``path`` (or of the file ``packaged`` shipped in ``package``) and its source name."""
    if path is None:
        text = resources.files(package).joinpath(packaged).read_text(encoding="utf-8")
        return text, f"(packaged {packaged})"
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from exc
