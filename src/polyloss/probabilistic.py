"""Probabilistic and robust regression losses: Poisson and Gaussian NLL, MAPE, MSLE,
cosine distance, pinball (quantile)."""

from __future__ import annotations

import math
from typing import Any

from ._array import (
    Array,
    array_namespace,
    as_compute_dtype,
    class_axis,
    compute_dtype,
    exp_or_inf,
    option_array,
    stop_gradient,
)
from ._checks import any_now, check_broadcastable, check_nonnegative, check_number, paired_arrays
from ._reduce import reduce
from ._registry import Example, Peer, loss_object, register, uniform

__all__ = [
    "CosineDistanceLoss",
    "GaussianNLLLoss",
    "MAPELoss",
    "MSLELoss",
    "PinballLoss",
    "PoissonNLLLoss",
    "cosine_distance_loss",
    "gaussian_nll_loss",
    "mape_loss",
    "msle_loss",
    "pinball_loss",
    "poisson_nll_loss",
]

_NAN = float("nan")
_KERAS_EPSILON = 1e-7  # keras.config.epsilon()


# --------------------------------------------------------------------------
# Poisson negative log-likelihood
# --------------------------------------------------------------------------


@register(
    "PoissonNLLLoss",
    family="probabilistic",
    peers=(
        "torch.nn.functional.poisson_nll_loss",
        Peer("keras", "keras.losses.Poisson", "log_input=False, eps=1e-7"),
    ),
    example=Example((uniform((4, 5), seed=61), uniform((4, 5), seed=62, low=0.0, high=4.0)),
                    options={"full": True}),
)
def poisson_nll_loss(
    input: Array,
    target: Array,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Array:
    r"""Poisson negative log-likelihood, :math:`\ell = e^{x} - y x` (``log_input=True``)
    or :math:`\ell = x - y \log(x + \epsilon)`.

    Parameters
    ----------
    input : array
        The log-rate :math:`x = \log\lambda` (``log_input=True``) or the rate
        :math:`\lambda` itself.
    target : array
        Observed counts :math:`y \ge 0`, of the input's shape.
    log_input : bool, default True
        Whether `input` is the log of the rate.
    full : bool, default False
        Add the Stirling approximation of :math:`\log y!`,
        :math:`y\log y - y + \tfrac12\log(2\pi y)`, for the targets :math:`y > 1`
        (0 for :math:`y \le 1`), as torch does.
    eps : float, default 1e-8
        Added to the rate inside the log when ``log_input=False``; >= 0.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.poisson_nll_loss``. Keras ``Poisson`` is
    ``log_input=False, eps=1e-7`` (Keras averages the last axis first, so its
    ``"sum"`` differs; its mean is the same).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.poisson_nll_loss(np.array([0.0, 1.0]), np.array([1.0, 3.0]), reduction="none")
    array([ 1.        , -0.28171817])
    """
    check_nonnegative("eps", eps)
    xp, x, y = paired_arrays(input, target, reduction)
    loss = exp_or_inf(xp, x) - y * x if log_input else x - y * xp.log(x + eps)
    if full:
        counted = y > 1.0
        t = xp.where(counted, y, 1.0)  # no log of a target <= 0, in value or gradient
        stirling = t * xp.log(t) - t + 0.5 * xp.log((2.0 * math.pi) * t)
        loss = loss + xp.where(counted, stirling, 0.0)
    return reduce(xp, loss, reduction, dtype=input.dtype)


# --------------------------------------------------------------------------
# Gaussian negative log-likelihood
# --------------------------------------------------------------------------


def _variance(xp: Any, var: Any, input: Array, like: Array) -> Any:
    """`var` as a Python float or an array in the compute dtype that broadcasts to the
    input, after torch's shape rules; ValueError for negative entries (eager calls)."""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        check_number("var", var, minimum=0.0)
        return float(var)
    array_namespace(input=input, var=var)  # one namespace and device, or a named error
    compute_dtype(xp, var, name="var")  # a TypeError unless var holds real floats
    v = as_compute_dtype(xp, var, like.dtype)
    shape, vshape = tuple(input.shape), tuple(v.shape)
    if vshape != shape:
        if vshape == shape[:-1]:  # one value per row: homoscedastic along the last axis
            v = xp.expand_dims(v, axis=-1)
        elif not (len(vshape) == len(shape) and sum(b for a, b in zip(shape, vshape, strict=True) if a != b) == 1):
            raise ValueError(
                f"var must have the input's shape {shape}, that shape with one dimension of "
                f"size 1, or that shape without its last dimension {shape[:-1]}; got var.shape={vshape}"
            )
    if any_now(xp, v < 0.0):
        raise ValueError("var has negative entries; variances must be >= 0")
    return v


@register(
    "GaussianNLLLoss",
    family="probabilistic",
    peers=("torch.nn.functional.gaussian_nll_loss",),
    example=Example(
        (uniform((4, 5), seed=63), uniform((4, 5), seed=64), uniform((4, 1), seed=65, low=0.2, high=2.0)),
        options={"full": True, "eps": 1e-4},
    ),
)
def gaussian_nll_loss(
    input: Array,
    target: Array,
    var: Any,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Array:
    r"""Gaussian negative log-likelihood,
    :math:`\ell = \tfrac12\left(\log v + (x - y)^2 / v\right)`, :math:`v = \max(\sigma^2, \epsilon)`.

    Parameters
    ----------
    input : array
        The predicted means :math:`x`.
    target : array
        The observations :math:`y`, of the input's shape.
    var : array or float
        The predicted variances :math:`\sigma^2 \ge 0`: of the input's shape
        (heteroscedastic), of that shape with one dimension of size 1 (for
        instance the last), or of that shape without its last dimension (one
        variance per row); or a non-negative number for every element.
    full : bool, default False
        Add the constant :math:`\tfrac12\log 2\pi`.
    eps : float, default 1e-6
        The variances are clamped at it from below; >= 0. As in torch the clamp
        passes the gradient through unchanged (it is applied without gradient).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    ValueError
        If `var` has another shape, or a negative entry (eager calls; under
        tracing and for lazy arrays such elements give NaN).

    Notes
    -----
    Matches ``torch.nn.functional.gaussian_nll_loss`` in values and gradients
    (with respect to the input and to `var`). Unlike torch, `target` must have the
    input's shape.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x, y = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    >>> polyloss.gaussian_nll_loss(x, y, np.array([1.0, 0.5]), reduction="none")
    array([ 0.5       , -0.34657359])
    """
    check_nonnegative("eps", eps)
    xp, x, y = paired_arrays(input, target, reduction)
    v = _variance(xp, var, input, x)
    diff = x - y
    if isinstance(v, float):
        v = max(v, eps)
        loss = 0.5 * ((math.log(v) if v > 0 else -math.inf) + diff * diff / v)
    else:
        # clamp at eps in value only: the gradient passes through, as torch's no-grad clamp_
        clamped = xp.where(v < eps, eps + (v - stop_gradient(xp, v)), v)
        loss = 0.5 * (xp.log(clamped) + diff * diff / clamped)
        loss = xp.where(v < 0.0, _NAN, loss)  # traced calls (eager ones raised)
    if full:
        loss = loss + 0.5 * math.log(2.0 * math.pi)
    return reduce(xp, loss, reduction, dtype=input.dtype)


# --------------------------------------------------------------------------
# Keras-anchored relative errors
# --------------------------------------------------------------------------

_POSITIVE_EXAMPLE = Example((uniform((4, 5), seed=66, low=0.0, high=3.0), uniform((4, 5), seed=67, low=0.0, high=3.0)))


@register(
    "MAPELoss",
    family="probabilistic",
    peers=(Peer("keras", "keras.losses.MeanAbsolutePercentageError"),),
    example=Example((uniform((4, 5), seed=68), uniform((4, 5), seed=69))),
)
def mape_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Mean absolute percentage error, :math:`\ell = 100\,|y - x| / \max(|y|, 10^{-7})`.

    Parameters
    ----------
    input, target : array
        Predictions and truth, of one shape.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches Keras ``MeanAbsolutePercentageError`` (its ``epsilon()`` 1e-7 in the
    denominator). Keras averages the last axis first: its mean is this mean, its
    per-sample values are ``"none"`` averaged over the last axis, and its sum over
    the batch is this sum divided by the size of the last axis.
    ``sklearn.metrics.mean_absolute_percentage_error`` is this divided by 100, with
    another floor (``finfo(float64).eps``).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.mape_loss(np.array([1.5, 0.0]), np.array([1.0, -4.0]), reduction="none")
    array([ 50., 100.])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    loss = 100.0 * xp.abs((y - x) / xp.clip(xp.abs(y), min=_KERAS_EPSILON))
    return reduce(xp, loss, reduction, dtype=input.dtype)


@register(
    "MSLELoss",
    family="probabilistic",
    peers=(Peer("keras", "keras.losses.MeanSquaredLogarithmicError"),),
    example=_POSITIVE_EXAMPLE,
)
def msle_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Mean squared logarithmic error,
    :math:`\ell = \left(\log(1 + \max(x, 10^{-7})) - \log(1 + \max(y, 10^{-7}))\right)^2`.

    Parameters
    ----------
    input, target : array
        Predictions and truth, of one shape; values below 1e-7 count as 1e-7.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches Keras ``MeanSquaredLogarithmicError``, including its clamp of both
    arguments at ``epsilon()`` = 1e-7. The logs are taken with ``log1p`` (Keras
    writes ``log(x + 1)``: equal up to rounding, which ``log1p`` avoids near 0).
    Keras averages the last axis first: its mean is this mean, its sum over the
    batch is this sum divided by the size of the last axis.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.msle_loss(np.array([3.0, -5.0]), np.array([1.0, 0.0]), reduction="none")
    array([0.48045301, 0.        ])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    diff = xp.log1p(xp.clip(x, min=_KERAS_EPSILON)) - xp.log1p(xp.clip(y, min=_KERAS_EPSILON))
    return reduce(xp, diff * diff, reduction, dtype=input.dtype)


# --------------------------------------------------------------------------
# cosine distance
# --------------------------------------------------------------------------


def _unit(xp: Any, v: Array, axis: int, eps: float) -> Array:
    """``v / max(||v||, eps)`` along `axis`, finite in value and gradient at ``v = 0``
    (double ``where``: no ``sqrt`` of 0)."""
    squared = xp.sum(v * v, axis=axis, keepdims=True)
    large = squared > eps * eps
    norm = xp.where(large, xp.sqrt(xp.where(large, squared, 1.0)), eps)
    return v / norm


@register(
    "CosineDistanceLoss",
    family="probabilistic",
    peers=(
        Peer("optax", "optax.losses.cosine_distance", "epsilon=eps**2"),
        Peer("keras", "keras.losses.CosineSimilarity", "this - 1, eps=1e-7"),
    ),
    example=Example((uniform((4, 5), seed=70), uniform((4, 5), seed=71)), options={"axis": 0, "eps": 1e-6}),
)
def cosine_distance_loss(
    input: Array, target: Array, *, axis: int = -1, eps: float = 1e-8, reduction: str = "mean"
) -> Array:
    r"""Cosine distance, :math:`\ell = 1 - \dfrac{x \cdot y}{\max(\|x\|, \epsilon)\,\max(\|y\|, \epsilon)}`.

    Parameters
    ----------
    input, target : array
        Predicted and true vectors along `axis`, of one shape.
    axis : int, default -1
        The vector axis.
    eps : float, default 1e-8
        The smallest norm a vector is divided by; >= 0. A zero vector has a
        distance of 1 to everything, with a finite gradient.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one distance per vector: the input's shape without `axis`.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``optax.losses.cosine_distance(input, target, epsilon=eps**2, axis=axis)``
    (optax clamps the squared norm, at 0 by default, which gives NaN for a zero
    vector). Keras ``CosineSimilarity`` (``-cos``, its norms clamped at 1e-7) is this
    loss with ``eps=1e-7``, minus 1.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    >>> polyloss.cosine_distance_loss(x, np.array([[0.0, 2.0], [-1.0, 0.0], [1.0, 1.0]]), reduction="none")
    array([1., 2., 1.])
    """
    check_nonnegative("eps", eps)
    xp, x, y = paired_arrays(input, target, reduction)
    ax = class_axis(x.ndim, axis)
    cosine = xp.sum(_unit(xp, x, ax, eps) * _unit(xp, y, ax, eps), axis=ax)
    return reduce(xp, 1.0 - cosine, reduction, dtype=input.dtype)


# --------------------------------------------------------------------------
# pinball (quantile) loss
# --------------------------------------------------------------------------


@register(
    "PinballLoss",
    family="probabilistic",
    peers=(Peer("sklearn", "sklearn.metrics.mean_pinball_loss", "alpha=quantile"),),
    example=Example((uniform((4, 3), seed=72), uniform((4, 3), seed=73)), options={"quantile": [0.1, 0.5, 0.9]}),
)
def pinball_loss(input: Array, target: Array, *, quantile: Any = 0.5, reduction: str = "mean") -> Array:
    r"""Pinball (quantile) loss, :math:`\ell = \max(q\,(y - x),\ (q - 1)(y - x))`.

    Parameters
    ----------
    input : array
        Predicted quantiles, ``(..., n_outputs)`` or of any shape.
    target : array
        Observations, of the input's shape.
    quantile : float or array_like, default 0.5
        The quantile level :math:`q \in [0, 1]`: one number, or one per output
        (an array of shape ``(n_outputs,)``, broadcast against the last axis).
        ``0.5`` gives half the absolute error.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    ValueError
        If a quantile is outside [0, 1] (for an array, in eager calls; under
        tracing and for lazy arrays the losses of that output are NaN), or an array
        `quantile` does not broadcast against the last axis.

    Notes
    -----
    Matches ``sklearn.metrics.mean_pinball_loss(target, input, alpha=quantile)``
    for 1-D and ``(n_samples, n_outputs)`` arrays (its uniform average of the
    per-output means is the mean over all elements); per-output quantiles match
    scikit-learn called output by output. At :math:`x = y` the gradient is that
    of :math:`q(y - x)`, as scikit-learn's ``diff >= 0`` branch.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.pinball_loss(np.array([0.0, 2.0]), np.array([1.0, 1.0]), quantile=0.9, reduction="none")
    array([0.9, 0.1])
    """
    scalar = quantile is None or isinstance(quantile, (int, float))
    if scalar:
        check_number("quantile", quantile, minimum=0.0, maximum=1.0)
    xp, x, y = paired_arrays(input, target, reduction)
    q: Any = float(quantile) if scalar else option_array(xp, quantile, like=x, name="quantile")
    if not scalar:
        check_broadcastable("quantile", q, tuple(x.shape[-1:]))
    diff = y - x
    loss = xp.where(diff >= 0.0, q * diff, (q - 1.0) * diff)
    if not scalar:
        outside = (q < 0.0) | (q > 1.0) | (q != q)
        if any_now(xp, outside):
            raise ValueError(f"quantile must hold numbers in [0, 1]; got {quantile!r}")
        loss = xp.where(outside, _NAN, loss)  # traced calls
    return reduce(xp, loss, reduction, dtype=input.dtype)


PoissonNLLLoss = loss_object(poisson_nll_loss)
GaussianNLLLoss = loss_object(gaussian_nll_loss)
MAPELoss = loss_object(mape_loss)
MSLELoss = loss_object(msle_loss)
CosineDistanceLoss = loss_object(cosine_distance_loss)
PinballLoss = loss_object(pinball_loss)
