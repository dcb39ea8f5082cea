"""`--set key=value` parsing: one spelling for task, model and training parameters everywhere."""

from __future__ import annotations

from typing import Any


def parse_value(text: str) -> Any:
    """A command-line value as the Python value it spells: bool, None, int, float, or else the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """["group=S5", "m=16"] -> {"group": "S5", "m": 16}. A malformed item -> ValueError naming it."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        if key in out:
            raise ValueError(f"--set {key} given twice")
        out[key] = parse_value(value)
    return out
