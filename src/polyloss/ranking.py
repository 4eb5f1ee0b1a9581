"""Ranking and metric-learning losses: margin ranking, cosine embedding, triplet margin,
NT-Xent, ranking softmax."""

from __future__ import annotations

__all__: list[str] = []
