"""Margin losses: hinge, squared hinge, categorical and multi-class hinge, multi-margin,
multi-label margin, soft margin, hinge embedding, perceptron."""

from __future__ import annotations

__all__: list[str] = []
