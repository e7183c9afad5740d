"""Reading values of JSON records: how a value's type reads in an error message, and a record's own id.

Below both the builders and the preference reader, which each use them (kept apart from
``builders.common`` so that the preference reader does not import the builders package, which imports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def json_type(value: object) -> str:
    """How a value reads in JSON terms, for messages ("expected a string, got array")."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def own_id(record: Mapping[str, Any], key: str = "id") -> str | None:
    """The source's own record id (a non-empty string or an integer), if it has one."""
    value = record.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None
