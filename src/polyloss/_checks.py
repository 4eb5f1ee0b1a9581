"""Validation of options and argument shapes: cheap, static, and named.

Shape and dtype checks read only static metadata, so they run under ``jax.jit``
and ``torch.compile`` too; value checks (class indices) run only in eager calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

from ._array import (
    Array,
    Namespace,
    array_namespace,
    as_compute_dtype,
    compute_dtype,
    dtype_kind,
    is_eager,
    value_range,
)
from ._reduce import REDUCTIONS


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ValueError unless `value` is one of `allowed`."""
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def check_reduction(reduction: str, allowed: Iterable[str] = REDUCTIONS) -> None:
    check_choice("reduction", reduction, allowed)


def check_number(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> None:
    """The one rule for scalar options: a real number (TypeError otherwise, bool
    included), finite, and within ``[minimum, maximum]`` (ValueError naming the option)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    low = -math.inf if minimum is None else minimum
    high = math.inf if maximum is None else maximum
    if not (math.isfinite(value) and low <= value <= high):
        bounds = (
            f" in [{minimum}, {maximum}]" if minimum is not None and maximum is not None
            else f" >= {minimum}" if minimum is not None
            else f" <= {maximum}" if maximum is not None
            else ""
        )
        raise ValueError(f"{name} must be a finite number{bounds}; got {value!r}")


def check_flag(name: str, value: Any) -> None:
    """Raise TypeError unless a boolean option is True or False."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def check_nonnegative(name: str, value: float) -> None:
    """Raise unless `value` is a finite number >= 0 (see :func:`check_number`)."""
    check_number(name, value, minimum=0.0)


def check_in_interval(name: str, value: float, low: float, high: float) -> None:
    """Raise unless `value` is a number in ``[low, high]`` (see :func:`check_number`)."""
    check_number(name, value, minimum=low, maximum=high)


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
    # the common case in one reduction; the full search only when something is off
    bounds = value_range(xp, target)
    if bounds is None:
        return
    if bounds[0] >= 0 and bounds[1] < num_classes:
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


def any_now(xp: Namespace, condition: Array) -> bool:
    """Whether any entry of the boolean `condition` is True, in eager calls; False where
    it cannot be read now (traced or lazy: the loss then gives NaN for such entries).
    Tests the reduced value, so that a concrete array inside a trace counts as traced."""
    found = xp.any(condition)
    return is_eager(xp, found) and bool(found)


def check_real(xp: Namespace, x: Array, name: str) -> None:
    """Raise TypeError unless `x` holds real numbers (a complex array would lose its
    imaginary part in the cast to the compute dtype)."""
    if dtype_kind(xp, x.dtype) == "other":
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")


class Paired(NamedTuple):
    """The namespace and two same-shape arrays in the compute dtype."""

    xp: Namespace
    input: Array
    target: Array


def paired_arrays(input: Array, target: Array, reduction: str, allowed: Iterable[str] = REDUCTIONS) -> Paired:
    """The argument checks of a loss of two same-shape floating arrays: one namespace and
    device, a floating input, a known reduction, equal shapes and no empty dimension;
    both arrays cast to the compute dtype (float32 for half-precision inputs)."""
    xp = array_namespace(input=input, target=target)
    dtype = compute_dtype(xp, input)
    check_real(xp, target, "target")
    check_reduction(reduction, allowed)
    check_same_shape(input, target)
    check_nonempty(input)
    return Paired(xp, as_compute_dtype(xp, input, dtype), as_compute_dtype(xp, target, dtype))
