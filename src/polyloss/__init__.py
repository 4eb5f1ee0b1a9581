"""polyloss: loss functions written once against the Python Array API standard.

The same numbers, gradients and conventions on NumPy, PyTorch, JAX, CuPy, Dask and
array-api-strict. Importing polyloss imports no array library.
"""

from __future__ import annotations

from ._objects import LossObject
from ._registry import REGISTRY
from .regression import (
    HuberLoss,
    L1Loss,
    LogCoshLoss,
    MSELoss,
    SmoothL1Loss,
    huber_loss,
    l1_loss,
    log_cosh_loss,
    mse_loss,
    smooth_l1_loss,
)

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "HuberLoss",
    "L1Loss",
    "LogCoshLoss",
    "LossObject",
    "MSELoss",
    "SmoothL1Loss",
    "huber_loss",
    "l1_loss",
    "log_cosh_loss",
    "mse_loss",
    "smooth_l1_loss",
]
