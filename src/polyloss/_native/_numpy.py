"""Native NumPy kernels of whole losses (see ``polyloss._native``).

NumPy runs every array operation at once, so a small call costs about a microsecond
per operation, and the generic composition pays for what lets it run traced and
lazy too: a gradient-stopped shift, a safe gather, masks for the range and for
ignored targets, a safe division. The kernel here computes the same loss with the
textbook formula in fewer operations, skipping what a call does not use, and returns
``NotImplemented`` for class probabilities, out-of-range targets (the generic path
raises for those) and non-finite results (masked or NaN logits, whose conventions the
generic path keeps).
"""

from __future__ import annotations

import sys
from typing import Any

# Imported only once NumPy itself is (see polyloss._array.backend_module): never imports it.
np: Any = sys.modules["numpy"]


def cross_entropy(
    x: Any, target: Any, *, weight: Any, ignore_index: int,
    label_smoothing: float, axis: int, reduction: str,
) -> Any:
    if target.dtype.kind not in "iu":  # class probabilities
        return NotImplemented
    num_classes = x.shape[axis]
    ignored = None
    if 0 <= ignore_index < num_classes or target.min() < 0 or target.max() >= num_classes:
        ignored = target == ignore_index
        if not (ignored | ((target >= 0) & (target < num_classes))).all():
            return NotImplemented
        target = np.where(ignored, 0, target)
    top = x.max(axis=axis, keepdims=True)
    if not np.isfinite(top).all():  # a row of -inf, +inf or NaN logits
        return NotImplemented
    shifted = x - top
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    if x.ndim == 2 and axis == 1:
        loss = lse[:, 0] - shifted[np.arange(x.shape[0]), target]
    else:
        loss = (lse - np.take_along_axis(shifted, np.expand_dims(target, axis), axis=axis)).squeeze(axis)
    w_t = None
    if weight is not None:
        w_t = weight[target]
        loss = w_t * loss
    if label_smoothing:
        w = 1.0 if weight is None else weight.reshape([-1 if i == axis else 1 for i in range(x.ndim)])
        with np.errstate(invalid="ignore"):  # 0 * inf for a masked class of weight 0: declined below
            smooth = (w * (lse - shifted)).sum(axis=axis)  # sum_c w_c (-log p_c)
        loss = (1.0 - label_smoothing) * loss + (label_smoothing / num_classes) * smooth
    if ignored is not None:
        loss = np.where(ignored, 0.0, loss)
    if reduction == "mean" and ignored is None and w_t is None:
        out = np.asarray(loss.mean())
    elif reduction == "mean":
        counted = ~ignored if ignored is not None else None
        if w_t is None:
            divisor = loss.size if counted is None else np.count_nonzero(counted)
        else:
            divisor = w_t.sum() if counted is None else np.where(counted, w_t, 0.0).sum()
        out = np.asarray(loss.sum() / divisor if divisor else loss.sum() * 0.0)
    else:
        out = loss.sum() if reduction == "sum" else loss
    # the types of the generic path: a 0-d array for "mean", NumPy's scalar for "sum"
    return out if np.isfinite(out).all() else NotImplemented
