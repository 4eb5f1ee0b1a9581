"""Sequence and structured losses: CTC and sparsemax."""

from __future__ import annotations

__all__: list[str] = []
