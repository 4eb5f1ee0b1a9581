"""One registry of losses, from which the loss objects, the self-check CLI, the docs
and the parametrized tests are all made.

A family module registers each loss with :func:`register`: its loss-object name,
family, peers, backend natives and a fixed example. ``polyloss`` then gains the
function, its loss object, a row in ``python -m polyloss``, a page in the docs and a
case in every registry-driven test, with nothing else to edit.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._objects import LossObject, make_loss_object

F = TypeVar("F", bound=Callable[..., Any])

#: The families of losses, in the order the self-check and the docs list them.
FAMILIES: Mapping[str, str] = {
    "regression": "Regression",
    "classification": "Classification",
    "overlap": "Overlap and imbalance (segmentation)",
    "focal": "Focal losses",
    "probabilistic": "Probabilistic and robust regression",
    "margin": "Margin losses",
    "ranking": "Ranking and metric learning",
    "structured": "Sequence and structured losses",
    "large_vocabulary": "Large-vocabulary cross-entropy",
}

#: Libraries a loss can be matched against, with their display names.
LIBRARIES: Mapping[str, str] = {
    "torch": "PyTorch",
    "torchvision": "torchvision",
    "optax": "optax",
    "sklearn": "scikit-learn",
    "monai": "MONAI",
    "keras": "Keras 3",
    "segmentation_models_pytorch": "segmentation_models_pytorch",
    "article": "深度学习 ② 常用损失函数 2) (the article polyloss started from)",
    "paper": "the paper's reference code",
}

#: Backends that may carry native kernels (``polyloss._native.<backend>``).
NATIVE_BACKENDS = ("torch", "jax", "numpy")


@dataclass(frozen=True)
class Peer:
    """A library function a loss is matched against.

    `name` is the dotted path of a callable (``torch.nn.functional.l1_loss``) for
    importable peers, or a short citation for ``article`` and ``paper`` peers.
    """

    library: str
    name: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.library not in LIBRARIES:
            raise ValueError(f"unknown peer library {self.library!r}; known: {', '.join(LIBRARIES)}")

    @classmethod
    def of(cls, name: str, note: str = "") -> Peer:
        """The peer named by a dotted path; its library is the path's first component."""
        return cls(name.split(".", 1)[0], name, note)

    @property
    def importable(self) -> bool:
        return self.library not in ("article", "paper")

    def __str__(self) -> str:
        return self.name + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class ExampleArray:
    """An array argument of a fixed example, as nested Python lists (any backend can be
    fed them). `integer` arrays hold class indices or lengths."""

    values: Any
    integer: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        shape, v = [], self.values
        while isinstance(v, list):
            shape.append(len(v))
            v = v[0] if v else None
        return tuple(shape)


@dataclass(frozen=True)
class Example:
    """A fixed case: the positional array arguments in order, and keyword options."""

    arrays: tuple[ExampleArray, ...]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LossInfo:
    """What the rest of polyloss needs to know of one loss."""

    name: str
    function: Callable[..., Any]
    object: type[LossObject]
    family: str
    peers: tuple[Peer, ...]
    natives: frozenset[str]
    example: Example
    arguments: tuple[str, ...]  # the positional array arguments, by name
    per_sample: bool  # whether each sample's term reads only that sample (False: NT-Xent)
    reductions: tuple[str, ...]
    options: Mapping[str, Any]  # keyword-only options and their defaults (reduction included)

    @property
    def object_name(self) -> str:
        return self.object.__name__

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.function) or ""
        return doc.splitlines()[0] if doc else ""


REGISTRY: dict[str, LossInfo] = {}


def register(
    object_name: str,
    *,
    family: str,
    peers: tuple[Peer | str, ...],
    example: Example,
    natives: tuple[str, ...] = (),
    per_sample: bool = True,
    reductions: tuple[str, ...] = ("mean", "sum", "none"),
) -> Callable[[F], F]:
    """Register a loss function under its own name (a decorator).

    Parameters
    ----------
    object_name
        The name of its loss object (``CrossEntropyLoss``).
    family
        A key of :data:`FAMILIES`.
    peers
        What it is matched against: :class:`Peer` objects, or dotted paths of
        library callables.
    example
        A fixed case, one :class:`ExampleArray` per positional argument.
    natives
        The backends of :data:`NATIVE_BACKENDS` whose module in ``polyloss._native``
        has a kernel of the same name.
    per_sample
        False for a loss whose terms compare the samples of a batch (contrastive
        losses): it does not shard or chunk along the batch like the others.
    reductions
        The reductions it accepts.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    unknown = set(natives) - set(NATIVE_BACKENDS)
    if unknown:
        raise ValueError(f"natives for unknown backends {sorted(unknown)}; known: {NATIVE_BACKENDS}")
    peer_list = tuple(p if isinstance(p, Peer) else Peer.of(p) for p in peers)

    def decorate(function: F) -> F:
        parameters = inspect.signature(function).parameters.values()
        arguments = tuple(p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if len(arguments) != len(example.arrays):
            raise ValueError(
                f"the example of {function.__name__} has {len(example.arrays)} arrays for its "
                f"{len(arguments)} positional arguments {arguments}"
            )
        options = {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
        REGISTRY[function.__name__] = LossInfo(
            name=function.__name__,
            function=function,
            object=make_loss_object(object_name, function, options, reductions, arguments, frozenset(natives)),
            family=family,
            peers=peer_list,
            natives=frozenset(natives),
            example=example,
            arguments=arguments,
            per_sample=per_sample,
            reductions=reductions,
            options=options,
        )
        return function

    return decorate


def loss_object(function: Callable[..., Any]) -> type[LossObject]:
    """The loss-object class of a registered loss function."""
    return REGISTRY[function.__name__].object


def ordered_losses() -> list[LossInfo]:
    """The registered losses, family by family, in registration order within a family."""
    rank = {family: i for i, family in enumerate(FAMILIES)}
    return sorted(REGISTRY.values(), key=lambda info: rank[info.family])


# --------------------------------------------------------------------------
# deterministic example data, in pure Python
# --------------------------------------------------------------------------


def _unit(i: int, seed: int) -> float:
    """A deterministic number in [0, 1) (the fractional part of a scaled sine)."""
    v = math.sin(12.9898 * (i + 1) + 78.233 * (seed + 1)) * 43758.5453
    return v - math.floor(v)


def _fill(shape: tuple[int, ...], value: Callable[[int], Any]) -> Any:
    flat = [value(i) for i in range(math.prod(shape))]
    for d in reversed(shape[1:]):
        flat = [flat[i : i + d] for i in range(0, len(flat), d)]
    return flat


def uniform(shape: tuple[int, ...], seed: int, low: float = -2.0, high: float = 2.0) -> ExampleArray:
    """Floats of `shape` in ``[low, high)``."""
    return ExampleArray(_fill(shape, lambda i: round(low + (high - low) * _unit(i, seed), 6)))


def labels(
    shape: tuple[int, ...], num_classes: int, seed: int, *, ignored: tuple[int, ...] = (), ignore_index: int = -100
) -> ExampleArray:
    """Integer class indices of `shape` in ``[0, num_classes)``; the flat positions in
    `ignored` hold `ignore_index` instead."""
    return ExampleArray(
        _fill(shape, lambda i: ignore_index if i in ignored else int(_unit(i, seed) * num_classes)),
        integer=True,
    )


def binary(shape: tuple[int, ...], seed: int, *, low: float = 0.0) -> ExampleArray:
    """Floats of `shape` that are `low` or 1 (``low=-1.0`` gives ±1 targets)."""
    return ExampleArray(_fill(shape, lambda i: 1.0 if _unit(i, seed) < 0.5 else low))


def given(values: Any, *, integer: bool = False) -> ExampleArray:
    """An example array of the given nested lists."""
    return ExampleArray(values, integer=integer)
