"""Focal losses (to be written; see the project's issues)."""

from __future__ import annotations

__all__: list[str] = []
