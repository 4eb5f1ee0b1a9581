"""polyloss: loss functions written once against the Python Array API standard.

The same numbers, gradients and conventions on NumPy, PyTorch, JAX, CuPy, Dask and
array-api-strict. Importing polyloss imports no array library.
"""

from __future__ import annotations

from . import (
    classification,
    focal,
    lovasz,
    margin,
    overlap,
    probabilistic,
    ranking,
    regression,
    structured,
    vocabulary,
)
from ._objects import CompositeLoss, LossObject
from ._registry import REGISTRY, LossInfo, Peer
from .classification import *  # noqa: F403
from .focal import *  # noqa: F403
from .lovasz import *  # noqa: F403
from .margin import *  # noqa: F403
from .overlap import *  # noqa: F403
from .probabilistic import *  # noqa: F403
from .ranking import *  # noqa: F403
from .regression import *  # noqa: F403
from .structured import *  # noqa: F403
from .vocabulary import *  # noqa: F403

__version__ = "0.2.0.dev0"

__all__ = [
    "REGISTRY",
    "CompositeLoss",
    "LossInfo",
    "LossObject",
    "Peer",
    *regression.__all__,
    *classification.__all__,
    *overlap.__all__,
    *focal.__all__,
    *probabilistic.__all__,
    *margin.__all__,
    *ranking.__all__,
    *structured.__all__,
    *lovasz.__all__,
    *vocabulary.__all__,
]
