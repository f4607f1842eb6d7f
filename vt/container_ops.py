"""Operators on containers (lists, tuples, dicts, sets): rows added to vt.builtin.BINARY_RULES."""
from __future__ import annotations

CONTAINER_BINARY_RULES: dict = {}
