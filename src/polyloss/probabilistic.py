"""Probabilistic and robust regression losses: Poisson and Gaussian NLL, MAPE, MSLE,
cosine distance, pinball (quantile)."""

from __future__ import annotations

__all__: list[str] = []
