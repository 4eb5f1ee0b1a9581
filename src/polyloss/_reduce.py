"""Reductions shared by every loss: ``none``, ``sum`` and (weighted) ``mean``."""

from __future__ import annotations

import math
from typing import Any

from ._array import Array, Namespace

REDUCTIONS = ("mean", "sum", "none")


def safe_divide(xp: Namespace, numerator: Array, denominator: Array, *, otherwise: float = 0.0) -> Array:
    """``numerator / denominator``, and `otherwise` with a zero gradient where the
    denominator is 0.

    The double ``where`` keeps both the value and the gradient finite: the
    division never sees a zero, and the outer ``where`` cuts the gradient.
    """
    nonzero = denominator != 0
    return xp.where(nonzero, numerator / xp.where(nonzero, denominator, 1.0), otherwise)


def reduce(
    xp: Namespace,
    loss: Array,
    reduction: str,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    divisor: Any = None,
    dtype: Any = None,
) -> Array:
    """Reduce element losses as torch does.

    Parameters
    ----------
    loss
        Element losses, in the compute dtype.
    reduction
        ``"none"`` returns ``weight * loss`` (0 where `mask` is False);
        ``"sum"`` its sum; ``"mean"`` the sum divided by the total weight of the
        elements that count (``sum(weight * mask)``, or the count of True in
        `mask`, or the number of elements) -- 0 with a zero gradient when that
        total is 0.
    weight
        Element weights broadcastable to `loss`, or None.
    mask
        Which elements count (ignored targets are False), or None.
    divisor
        Overrides the divisor of ``"mean"`` (a number or a 0-d array), for
        losses whose mean is not over their total weight (torch's
        element-weighted BCE divides by the element count).
    dtype
        The dtype of the result (the input's), when it differs from the
        compute dtype (half-precision inputs accumulate in float32).
    """
    if weight is not None:
        loss = loss * weight
    if mask is not None:
        loss = xp.where(mask, loss, 0.0)
    if reduction == "none":
        out = loss
    elif reduction == "sum":
        out = xp.sum(loss)
    else:
        if divisor is None:
            divisor = _count(xp, loss, weight, mask)
        out = _divide(xp, xp.sum(loss), divisor)
    return out if dtype is None or out.dtype == dtype else xp.astype(out, dtype)


def _divide(xp: Namespace, total: Array, divisor: Any) -> Array:
    if isinstance(divisor, (int, float)):
        return total / divisor if divisor else total * 0.0
    return safe_divide(xp, total, divisor)


def _count(xp: Namespace, loss: Array, weight: Array | None, mask: Array | None) -> Any:
    if weight is None and mask is None:
        return float(math.prod(loss.shape))
    if weight is None:
        return xp.sum(xp.astype(mask, loss.dtype))
    weight = xp.broadcast_to(weight, loss.shape)
    if mask is not None:
        weight = xp.where(mask, weight, 0.0)
    return xp.sum(weight)
