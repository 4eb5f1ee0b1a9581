"""Arguments of class-indexed losses (cross-entropy, NLL, poly-1, focal): their
validation, the safe gather target and the reduction over the entries that count.

Shared by ``classification.py``, ``focal.py`` and the backend natives, so that all of
them validate, ignore and reduce class indices in one way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._array import (
    Array,
    Namespace,
    array_namespace,
    as_compute_dtype,
    class_axis,
    compute_dtype,
    dtype_kind,
    option_array,
)
from ._checks import check_class_indices, check_nonempty, check_option_shape, check_reduction
from ._reduce import reduce


class ClassIndexed(NamedTuple):
    """The validated arguments of a class-indexed call."""

    xp: Namespace
    input: Array  # in the compute dtype
    target: Array  # class indices, or class probabilities in the compute dtype
    axis: int  # the class axis, non-negative
    num_classes: int
    probabilities: bool  # whether `target` holds class probabilities
    weight: Array | None  # class weights, (C,)


class IndexMasks(NamedTuple):
    """Which class-index entries are ignored (None without `ignore_index`), which give a
    number (in range or ignored), and the target made safe for a gather (0 in place of
    ignored and out-of-range entries)."""

    ignored: Array | None
    valid: Array
    safe: Array


def class_indexed_args(
    input: Array, target: Array, *, axis: int, reduction: str, weight: Any, allow_probabilities: bool
) -> ClassIndexed:
    """Validate a class-indexed call (namespace, dtypes, shapes, class axis, weight)."""
    xp = array_namespace(input=input, target=target)
    dtype = compute_dtype(xp, input)
    check_reduction(reduction)
    if input.ndim == 0:
        raise ValueError("input must have a class axis; got a 0-d array")
    # as torch, an unbatched (C,) input has its classes on axis 0
    ax = 0 if input.ndim == 1 and axis in (0, 1, -1) else class_axis(input.ndim, axis)
    check_nonempty(input)
    num_classes = input.shape[ax]
    probabilities = False
    target_kind = dtype_kind(xp, target.dtype)
    if target_kind == "real floating":
        if allow_probabilities and target.shape == input.shape:
            probabilities = True
        elif target.ndim == input.ndim - 1 or not allow_probabilities:
            raise TypeError(
                f"target must hold integer class indices, got dtype {target.dtype}"
                + (
                    "; a floating target must have the input's shape (class probabilities)"
                    if allow_probabilities
                    else ""
                )
            )
        else:
            raise ValueError(
                f"target must have the input's shape {tuple(input.shape)} (class probabilities) or "
                f"its shape without the class axis (class indices); got target.shape={tuple(target.shape)}"
            )
    else:
        if target_kind != "integral":
            raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
        expected = tuple(input.shape[:ax]) + tuple(input.shape[ax + 1 :])
        if tuple(target.shape) != expected:
            raise ValueError(
                f"target of class indices must have the input's shape without the class axis "
                f"{ax}: input.shape={tuple(input.shape)} needs target.shape={expected}; got "
                f"target.shape={tuple(target.shape)}"
            )
    x = as_compute_dtype(xp, input, dtype)
    if probabilities:
        target = as_compute_dtype(xp, target, dtype)
    w = option_array(xp, weight, like=x, name="weight")
    check_option_shape("weight", w, (num_classes,))
    return ClassIndexed(xp, x, target, ax, num_classes, probabilities, w)


def index_masks(xp: Namespace, target: Array, num_classes: int, ignore_index: int | None) -> IndexMasks:
    """Validate class indices (eager calls) and make them safe to gather with."""
    if ignore_index is not None and not _representable(xp, target.dtype, ignore_index):
        ignore_index = None  # no entry can equal it
    check_class_indices(xp, target, num_classes, ignore_index=ignore_index)
    in_range = (target >= 0) & (target < num_classes)
    ignored = None if ignore_index is None else target == ignore_index
    valid = in_range if ignored is None else in_range | ignored
    return IndexMasks(ignored, valid, xp.where(in_range, target, 0))


def _representable(xp: Namespace, dtype: Any, value: int) -> bool:
    info = xp.iinfo(dtype)
    return info.min <= value <= info.max


def reduce_indexed(
    xp: Namespace,
    loss: Array,
    reduction: str,
    masks: IndexMasks,
    *,
    target_weight: Array | None,
    like: Array,
) -> Array:
    """NaN for out-of-range indices, 0 for ignored ones; the mean divides by the total
    class weight of the entries that count (their count without `weight`), and is 0 with
    a zero gradient when nothing counts."""
    loss = xp.where(masks.valid, loss, float("nan"))
    mask = None if masks.ignored is None else ~masks.ignored
    divisor = None
    if target_weight is not None and reduction == "mean":
        divisor = xp.sum(target_weight if mask is None else xp.where(mask, target_weight, 0.0))
    return reduce(xp, loss, reduction, mask=mask, divisor=divisor, dtype=like.dtype)
