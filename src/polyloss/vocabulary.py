"""Large-vocabulary cross-entropy: the classifier head and the loss in one, by chunks."""

from __future__ import annotations

__all__: list[str] = []
