"""Sorting-based segmentation losses: Lovász-softmax, Lovász hinge, and the MCC loss."""

from __future__ import annotations

__all__: list[str] = []
