"""Regression losses: L1, MSE, smooth L1, Huber, log-cosh."""

from __future__ import annotations

import math

from ._array import Array, option_array, softplus
from ._checks import check_nonnegative, check_option_shape, paired_arrays
from ._native import call_native
from ._reduce import reduce
from ._registry import Example, loss_object, register, uniform

__all__ = [
    "HuberLoss",
    "L1Loss",
    "LogCoshLoss",
    "MSELoss",
    "SmoothL1Loss",
    "huber_loss",
    "l1_loss",
    "log_cosh_loss",
    "mse_loss",
    "smooth_l1_loss",
]

_EXAMPLE = Example((uniform((4, 5), seed=1), uniform((4, 5), seed=2)))


def _weighted_arguments(input: Array, target: Array, weight: object, reduction: str):
    """Namespace, input and target in the compute dtype, and the element weight."""
    xp, x, y = paired_arrays(input, target, reduction)
    w = option_array(xp, weight, like=x, name="weight")
    check_option_shape("weight", w, tuple(input.shape))
    return xp, x, y, w


@register("L1Loss", family="regression", peers=("torch.nn.functional.l1_loss",), natives=("torch",),
          example=_EXAMPLE)
def l1_loss(input: Array, target: Array, *, weight: object = None, reduction: str = "mean") -> Array:
    r"""Mean absolute error, :math:`\ell = w\,|x - y|`.

    Parameters
    ----------
    input, target : array
        Predictions and truth, of one shape.
    weight : array_like, optional
        Element weights of the input's shape. With ``reduction="mean"`` the
        result is :math:`\sum w\ell / \sum w`, as in torch.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.l1_loss``.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> float(polyloss.l1_loss(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 1.0])))
    1.3333333333333333
    """
    xp, x, y, weight = _weighted_arguments(input, target, weight, reduction)
    out = call_native("l1_loss", xp, x, y, like=input, weight=weight, reduction=reduction)
    if out is not NotImplemented:
        return out
    return reduce(xp, xp.abs(x - y), reduction, weight=weight, dtype=input.dtype)


@register("MSELoss", family="regression", peers=("torch.nn.functional.mse_loss",), natives=("torch",),
          example=_EXAMPLE)
def mse_loss(input: Array, target: Array, *, weight: object = None, reduction: str = "mean") -> Array:
    r"""Mean squared error, :math:`\ell = w\,(x - y)^2`.

    Parameters
    ----------
    input, target : array
        Predictions and truth, of one shape.
    weight : array_like, optional
        Element weights of the input's shape. With ``reduction="mean"`` the
        result is :math:`\sum w\ell / \sum w`, as in torch.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.mse_loss``.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> float(polyloss.mse_loss(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 1.0])))
    3.3333333333333335
    """
    xp, x, y, weight = _weighted_arguments(input, target, weight, reduction)
    out = call_native("mse_loss", xp, x, y, like=input, weight=weight, reduction=reduction)
    if out is not NotImplemented:
        return out
    diff = x - y
    return reduce(xp, diff * diff, reduction, weight=weight, dtype=input.dtype)


def _huber(xp, diff: Array, delta: float) -> Array:
    """Branch-free Huber: ``0.5 m² + δ(|d| - m)`` with ``m = min(|d|, δ)`` (``clip``, which
    unlike ``minimum`` with a Python scalar does not break a torch.compile graph)."""
    abs_diff = xp.abs(diff)
    m = xp.clip(abs_diff, max=delta)
    return 0.5 * m * m + delta * (abs_diff - m)


@register("SmoothL1Loss", family="regression", peers=("torch.nn.functional.smooth_l1_loss",),
          natives=("torch",), example=_EXAMPLE)
def smooth_l1_loss(input: Array, target: Array, *, beta: float = 1.0, reduction: str = "mean") -> Array:
    r"""Smooth L1: :math:`0.5 d^2/\beta` for :math:`|d| < \beta`, else :math:`|d| - 0.5\beta`.

    It is the Huber loss divided by :math:`\beta`; ``beta=0`` gives the L1 loss.

    Parameters
    ----------
    input, target : array
        Predictions and truth, of one shape; :math:`d = x - y`.
    beta : float, default 1.0
        Where the quadratic part ends; must be >= 0.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Notes
    -----
    Matches ``torch.nn.functional.smooth_l1_loss``.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.smooth_l1_loss(np.array([0.5, 3.0]), np.zeros(2), reduction="none")
    array([0.125, 2.5  ])
    """
    check_nonnegative("beta", beta)
    xp, x, y = paired_arrays(input, target, reduction)
    out = call_native("smooth_l1_loss", xp, x, y, like=input, beta=beta, reduction=reduction)
    if out is not NotImplemented:
        return out
    diff = x - y
    loss = xp.abs(diff) if beta == 0 else _huber(xp, diff, beta) * (1.0 / beta)
    return reduce(xp, loss, reduction, dtype=input.dtype)


@register("HuberLoss", family="regression",
          peers=("torch.nn.functional.huber_loss", "optax.losses.huber_loss"), natives=("torch",),
          example=_EXAMPLE)
def huber_loss(input: Array, target: Array, *, delta: float = 1.0, reduction: str = "mean") -> Array:
    r"""Huber loss: :math:`0.5 d^2` for :math:`|d| \le \delta`, else :math:`\delta(|d| - 0.5\delta)`.

    Computed branch-free as :math:`0.5 m^2 + \delta(|d| - m)`, :math:`m = \min(|d|, \delta)`.

    Parameters
    ----------
    input, target : array
        Predictions and truth, of one shape; :math:`d = x - y`.
    delta : float, default 1.0
        Where the quadratic part ends; must be >= 0.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Notes
    -----
    Matches ``torch.nn.functional.huber_loss`` and ``optax.losses.huber_loss``.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.huber_loss(np.array([0.5, 3.0]), np.zeros(2), delta=2.0, reduction="none")
    array([0.125, 4.   ])
    """
    check_nonnegative("delta", delta)
    xp, x, y = paired_arrays(input, target, reduction)
    out = call_native("huber_loss", xp, x, y, like=input, delta=delta, reduction=reduction)
    if out is not NotImplemented:
        return out
    return reduce(xp, _huber(xp, x - y, delta), reduction, dtype=input.dtype)


@register("LogCoshLoss", family="regression", peers=("optax.losses.log_cosh",), example=_EXAMPLE)
def log_cosh_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Log-cosh loss, :math:`\log\cosh(x - y)`.

    Computed as :math:`|d| + \operatorname{softplus}(-2|d|) - \log 2`, finite for any
    :math:`d`. It behaves like :math:`d^2/2` near 0 and like :math:`|d| - \log 2`
    far from it.

    Parameters
    ----------
    input, target : array
        Predictions and truth, of one shape.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Notes
    -----
    Matches ``optax.losses.log_cosh`` (which returns the ``"none"`` form).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.log_cosh_loss(np.array([0.0, 1.0, 10.0]), np.zeros(3), reduction="none")
    array([0.        , 0.43378083, 9.30685282])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    abs_diff = xp.abs(x - y)
    loss = abs_diff + softplus(xp, -2.0 * abs_diff) - math.log(2.0)
    return reduce(xp, loss, reduction, dtype=input.dtype)


L1Loss = loss_object(l1_loss)
MSELoss = loss_object(mse_loss)
SmoothL1Loss = loss_object(smooth_l1_loss)
HuberLoss = loss_object(huber_loss)
LogCoshLoss = loss_object(log_cosh_loss)
