"""Validation of options and argument shapes: cheap, static, and named.

Shape and dtype checks read only static metadata, so they run under ``jax.jit``
and ``torch.compile`` too; value checks (class indices) run only in eager calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._array import Array, Namespace, is_eager, native
from ._reduce import REDUCTIONS


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ValueError unless `value` is one of `allowed`."""
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def check_reduction(reduction: str, allowed: Iterable[str] = REDUCTIONS) -> None:
    check_choice("reduction", reduction, allowed)


def check_nonnegative(name: str, value: float) -> None:
    """Raise ValueError unless `value` is a finite number >= 0."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")


def check_in_interval(name: str, value: float, low: float, high: float) -> None:
    """Raise ValueError unless ``low <= value <= high``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]; got {value!r}")


def check_same_shape(input: Array, target: Array, *, names: tuple[str, str] = ("input", "target")) -> None:
    """Raise ValueError with both shapes unless they are equal."""
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape; got "
            f"{names[0]}.shape={tuple(input.shape)} and {names[1]}.shape={tuple(target.shape)}"
        )


def check_nonempty(x: Array, name: str = "input") -> None:
    """Raise ValueError if any dimension of `x` has length 0."""
    if 0 in x.shape:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); a loss needs at least one element")


def check_option_shape(name: str, option: Array | None, shape: tuple[int, ...]) -> None:
    """Raise ValueError unless an array-valued option has the expected shape."""
    if option is not None and tuple(option.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {tuple(option.shape)}")


def check_broadcastable(name: str, option: Array | None, shape: tuple[int, ...]) -> None:
    """Raise ValueError unless an array-valued option broadcasts to `shape`."""
    if option is None:
        return
    if option.ndim > len(shape) or any(
        o not in (1, s) for o, s in zip(reversed(option.shape), reversed(shape), strict=False)
    ):
        raise ValueError(
            f"{name} of shape {tuple(option.shape)} does not broadcast to the input shape {tuple(shape)}"
        )


def check_class_indices(
    xp: Namespace, target: Array, num_classes: int, *, ignore_index: int | None, name: str = "target"
) -> None:
    """In eager calls, raise ValueError naming a class index outside ``[0, num_classes)``.

    Entries equal to `ignore_index` are allowed. Under tracing and for lazy arrays
    nothing is read: the loss itself returns NaN for such entries.
    """
    if not is_eager(xp, target):
        return
    # the common case in one or two reductions; the full search only when something is off
    bounds = native(xp, "index_bounds")
    if bounds is not None:
        lowest, highest = bounds(target)
        if lowest >= 0 and highest < num_classes:
            return
    else:
        lowest = xp.min(target)
        if not is_eager(xp, lowest):  # a concrete target closed over by a traced (jax.jit) function
            return
        if int(lowest) >= 0 and int(xp.max(target)) < num_classes:
            return
    bad = (target < 0) | (target >= num_classes)
    if ignore_index is not None:
        bad = bad & (target != ignore_index)
    if bool(xp.any(bad)):
        too_high = bool(xp.any(bad & (target >= num_classes)))
        worst = xp.max if too_high else xp.min
        offending = int(worst(xp.where(bad, target, 0)))
        raise ValueError(
            f"{name} holds class index {offending}, outside [0, {num_classes})"
            + (f" and not ignore_index={ignore_index}" if ignore_index is not None else "")
        )
