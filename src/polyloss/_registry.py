"""One registry of losses, from which the loss objects, the self-check CLI, the docs
tables and the parametrized tests are all made.

A loss module registers each loss with :func:`register`; ``polyloss`` then gains
the function, its loss object (:func:`loss_object`), a row in ``python -m
polyloss`` and a case in the backend matrix, with nothing else to edit.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Example:
    """A fixed case, as plain Python data so that any backend can be fed it.

    `target_kind` is ``"float"`` or ``"int"`` (class indices).
    """

    input: Any
    target: Any
    target_kind: str = "float"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LossInfo:
    """What the rest of polyloss needs to know of one loss."""

    name: str
    function: Callable[..., Any]
    object_name: str
    family: str
    peer: str
    example: Example
    reductions: tuple[str, ...]
    options: Mapping[str, Any]  # keyword-only options and their defaults (reduction included)

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.function) or ""
        return doc.splitlines()[0] if doc else ""


REGISTRY: dict[str, LossInfo] = {}


def register(
    object_name: str,
    *,
    family: str,
    peer: str,
    example: Example,
    reductions: tuple[str, ...] = ("mean", "sum", "none"),
) -> Callable[[F], F]:
    """Register a loss function under its own name (a decorator)."""

    def decorate(function: F) -> F:
        options = {
            p.name: p.default
            for p in inspect.signature(function).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        REGISTRY[function.__name__] = LossInfo(
            name=function.__name__,
            function=function,
            object_name=object_name,
            family=family,
            peer=peer,
            example=example,
            reductions=reductions,
            options=options,
        )
        return function

    return decorate


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


def uniform(shape: tuple[int, ...], seed: int, low: float = -2.0, high: float = 2.0) -> Any:
    """Nested lists of `shape` with values in ``[low, high)``."""
    return _fill(shape, lambda i: round(low + (high - low) * _unit(i, seed), 6))


def labels(shape: tuple[int, ...], num_classes: int, seed: int) -> Any:
    """Nested lists of `shape` with integer class indices in ``[0, num_classes)``."""
    return _fill(shape, lambda i: int(_unit(i, seed) * num_classes))


def binary(shape: tuple[int, ...], seed: int) -> Any:
    """Nested lists of `shape` with 0.0 / 1.0 values."""
    return _fill(shape, lambda i: float(_unit(i, seed) < 0.5))
