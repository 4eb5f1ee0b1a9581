"""Classification losses: BCE, BCE with logits, NLL, cross-entropy, poly-1 CE, KL, log loss."""

from __future__ import annotations

import math
from typing import Any

from ._array import (
    Array,
    Namespace,
    along_axis,
    array_namespace,
    as_compute_dtype,
    compute_dtype,
    integer_dtype_check,
    log1m_clamped,
    log_clamped,
    logsumexp_parts,
    option_array,
    softplus,
    take_1d,
    take_class,
    xlogx,
)
from ._checks import (
    any_now,
    check_broadcastable,
    check_in_interval,
    check_nonempty,
    check_number,
    check_option_shape,
    check_reduction,
    paired_arrays,
)
from ._indexed import ClassIndexed, class_indexed_args, index_masks, reduce_indexed
from ._native import call_native
from ._reduce import reduce
from ._registry import Example, binary, given, labels, loss_object, register, uniform

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "KLDivLoss",
    "LogLoss",
    "NLLLoss",
    "Poly1CrossEntropyLoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "kl_div",
    "log_loss",
    "nll_loss",
    "poly1_cross_entropy",
]

_NAN = float("nan")


# --------------------------------------------------------------------------
# validation shared by the class-indexed losses
# --------------------------------------------------------------------------


def _check_smoothing(label_smoothing: float) -> None:
    check_in_interval("label_smoothing", label_smoothing, 0.0, 1.0)


# --------------------------------------------------------------------------
# cross-entropy family
# --------------------------------------------------------------------------


def _weighted_shifted(xp: Namespace, a: Array, shifted: Array) -> Array:
    """``a * shifted``, 0 (with a zero gradient) wherever ``a == 0``: ``0 * log 0 = 0``
    for a masked (-inf) logit of target probability 0, as
    ``optax.losses.safe_softmax_cross_entropy``."""
    kept = a != 0.0
    return a * xp.where(kept, shifted, 0.0)


def _cross_entropy_terms(
    args: ClassIndexed,
    *,
    ignore_index: int | None,
    label_smoothing: float,
    epsilon: float | None,
    reduction: str,
    like: Array,
) -> Array:
    """Cross-entropy (and the poly-1 term when `epsilon` is not None), reduced.

    From the logits' gradient-stopped max ``m`` and ``lse = log sum exp(x - m)``:
    ``log_softmax(x) = (x - m) - lse``, never formed for class-index targets (the
    target's logit is gathered first, then shifted), so that under ``jax.jit`` the
    logits are read once. Masked logits (-inf) of target probability 0 contribute 0
    in value and gradient (``logsumexp_parts``, :func:`_weighted_shifted`).
    """
    xp, x, target, ax, num_classes, probabilities, w = args
    eps_ls = float(label_smoothing)
    m, lse = logsumexp_parts(xp, x, ax)
    if probabilities:
        shifted = x - m
        a = target if eps_ls == 0.0 else target * (1.0 - eps_ls) + eps_ls / num_classes
        if w is not None:
            a = a * along_axis(xp, w, x.ndim, ax)
        # -sum_c a_c (shifted_c - lse): two nonnegative terms, no cancellation
        loss = xp.sum(a, axis=ax) * lse - xp.sum(_weighted_shifted(xp, a, shifted), axis=ax)
        if epsilon is not None:
            p = xp.exp(shifted - xp.expand_dims(lse, axis=ax))
            loss = loss + epsilon * xp.sum(a * (1.0 - p), axis=ax)
        divisor = float(math.prod(x.shape) // num_classes)
        return reduce(xp, loss, reduction, divisor=divisor, dtype=like.dtype)

    masks = index_masks(xp, target, num_classes, ignore_index)
    logp_t = (take_class(xp, x, masks.safe, axis=ax) - xp.squeeze(m, axis=ax)) - lse
    w_t = None if w is None else take_1d(xp, w, masks.safe)
    loss = -logp_t if w_t is None else -(w_t * logp_t)
    if eps_ls != 0.0:
        # torch: (1 - e) * w_t * nll + e / C * sum_c w_c * (-log_softmax_c)
        if w is None:
            smooth = num_classes * lse - xp.sum(x - m, axis=ax)
        else:
            smooth = xp.sum(w) * lse - xp.sum(_weighted_shifted(xp, along_axis(xp, w, x.ndim, ax), x - m), axis=ax)
        loss = (1.0 - eps_ls) * loss + (eps_ls / num_classes) * smooth
    if epsilon is not None:
        q_t = -xp.expm1(logp_t)  # 1 - p_t
        poly = q_t if w_t is None else w_t * q_t
        if eps_ls != 0.0:
            # sum_c w_c t'_c (1 - p_c) for the smoothed target t' = (1 - e) onehot + e / C
            if w is None:
                rest = float(num_classes - 1)
            else:
                p = xp.exp((x - m) - xp.expand_dims(lse, axis=ax))
                rest = xp.sum(w) - xp.sum(p * along_axis(xp, w, x.ndim, ax), axis=ax)
            poly = (1.0 - eps_ls) * poly + (eps_ls / num_classes) * rest
        loss = loss + epsilon * poly
    return reduce_indexed(xp, loss, reduction, masks, target_weight=w_t, like=like)


_CE_EXAMPLE = Example(
    (uniform((4, 3, 2), seed=11), labels((4, 2), 3, seed=12, ignored=(4,))),
    options={"weight": [0.5, 1.0, 2.0], "label_smoothing": 0.1},
)


@register("CrossEntropyLoss", family="classification", peers=("torch.nn.functional.cross_entropy",),
          natives=("torch", "numpy"),
          example=_CE_EXAMPLE)
def cross_entropy(
    input: Array,
    target: Array,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    axis: int = 1,
    reduction: str = "mean",
) -> Array:
    r"""Cross-entropy of logits, :math:`\ell_i = -w_{t_i} \log \operatorname{softmax}(x_i)_{t_i}`.

    With class-index targets, label smoothing :math:`\varepsilon` gives torch's formula
    :math:`\ell_i = (1-\varepsilon)\, w_{t_i} (-\log p_{i t_i})
    + \frac{\varepsilon}{C} \sum_c w_c (-\log p_{ic})`, and the mean divides by
    :math:`\sum_i w_{t_i}` over the non-ignored samples (so it is *not*
    "weight times smoothed CE"). With class-probability targets
    :math:`\ell_i = -\sum_c w_c t'_{ic} \log p_{ic}`,
    :math:`t' = (1-\varepsilon) t + \varepsilon / C`, and the mean divides by the
    number of samples.

    Computed from the logits shifted by their max and their log-sum-exp (gradient
    of the shift stopped); ``log_softmax`` and one-hot targets are never formed.

    Parameters
    ----------
    input : array
        Logits of shape ``(N, C, d1, ..., dk)`` (class axis `axis`), or ``(C,)``.
    target : array
        Integer class indices of the input's shape without the class axis, or
        floating class probabilities of the input's shape.
    weight : array_like, optional
        Class weights, of shape ``(C,)``.
    ignore_index : int, default -100
        Class-index targets equal to it contribute 0 and do not count in the mean
        (unused with probability targets).
    label_smoothing : float, default 0.0
        In ``[0, 1]``.
    axis : int, default 1
        The class axis; ``-1`` for channel-last inputs.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample, of the input's shape without the
        class axis (0 at ignored targets).

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    TypeError
        Integer logits, or floating targets that are not of the input's shape.
    ValueError
        Shape mismatches, an empty batch, ``weight`` not of length C,
        ``label_smoothing`` outside ``[0, 1]``, a class index outside ``[0, C)``
        that is not `ignore_index` (eager calls; traced calls give NaN).

    Notes
    -----
    Matches ``torch.nn.functional.cross_entropy`` with ``axis=1``, except that a
    batch whose targets are all ignored gives 0 with a zero gradient (torch: NaN).

    Masked logits: a logit of ``-inf`` whose target probability is 0 contributes 0
    to the value and the gradient (:math:`0 \log 0 = 0`, as
    ``optax.losses.safe_softmax_cross_entropy``; torch gives NaN for probability
    targets), also in a row of all ``-inf`` logits with an all-zero target (a
    padded row), and in the weighted smoothing term for a class of weight 0. A
    target probability > 0 on a ``-inf`` logit gives ``+inf`` (label smoothing puts
    probability on every class; optax gives NaN for such an all ``-inf`` row).
    With class-index targets the other classes may be ``-inf``; an ignored row of
    all ``-inf`` logits has value 0 (its gradient is NaN on torch's native kernel,
    as in torch, and 0 on the other backends).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> round(float(polyloss.cross_entropy(logits, np.array([0, 2]))), 6)
    0.175456
    >>> round(float(polyloss.cross_entropy(logits, np.array([0, -100]))), 6)
    0.241311
    """
    _check_smoothing(label_smoothing)
    args = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=weight, allow_probabilities=True
    )
    out = call_native(
        "cross_entropy", args.xp, args.input, args.target, like=input, weight=args.weight,
        ignore_index=ignore_index, label_smoothing=label_smoothing, axis=args.axis, reduction=reduction,
    )
    if out is not NotImplemented:
        return out
    return _cross_entropy_terms(
        args, ignore_index=ignore_index, label_smoothing=label_smoothing, epsilon=None,
        reduction=reduction, like=input,
    )


_POLY_EXAMPLE = Example(
    (uniform((5, 4), seed=21), labels((5,), 4, seed=22, ignored=(1,))),
    options={"epsilon": 2.0, "weight": [1.0, 0.5, 2.0, 1.5], "label_smoothing": 0.2},
)


@register(
    "Poly1CrossEntropyLoss",
    family="classification",
    peers=("optax.losses.poly_loss_cross_entropy",),
    example=_POLY_EXAMPLE,
)
def poly1_cross_entropy(
    input: Array,
    target: Array,
    *,
    epsilon: float = 1.0,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    axis: int = 1,
    reduction: str = "mean",
) -> Array:
    r"""Poly-1 cross-entropy (Leng et al., ICLR 2022): :math:`\mathrm{CE} + \varepsilon (1 - p_t)`.

    :math:`1 - p_t = \sum_c t'_c (1 - \operatorname{softmax}(x)_c)` for the (smoothed)
    target distribution :math:`t'`, as ``optax.losses.poly_loss_cross_entropy``
    computes it; for class-index targets without smoothing it is
    :math:`1 - e^{-\mathrm{CE}_i}`.

    How the :func:`cross_entropy` options apply to the poly term:

    - ``label_smoothing`` smooths the target of both terms:
      :math:`t' = (1-\varepsilon_{ls})\,t + \varepsilon_{ls}/C` (for index targets
      :math:`1 - p_t = (1-\varepsilon_{ls})(1 - p_{t_i}) + \varepsilon_{ls}(C-1)/C`);
    - ``weight`` weights each class term as in the CE:
      :math:`\sum_c w_c t'_c (1 - p_c)` (:math:`w_{t_i}(1 - p_{t_i})` for index
      targets without smoothing);
    - ignored samples contribute nothing, and ``"mean"`` divides by the same total
      as :func:`cross_entropy` (:math:`\sum_i w_{t_i}` over non-ignored samples for
      index targets, the number of samples for probability targets).

    Parameters
    ----------
    input, target : array
        As :func:`cross_entropy`.
    epsilon : float, default 1.0
        The poly-1 coefficient (may be negative).
    weight, ignore_index, label_smoothing, axis : optional
        As :func:`cross_entropy`.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample (the input's shape without the class
        axis).

    Notes
    -----
    Equals ``optax.losses.poly_loss_cross_entropy(logits, labels, epsilon)`` for
    probability targets (optax's class axis is last: pass ``axis=-1``) and
    ``cross_entropy + epsilon * (1 - exp(-cross_entropy))`` per sample for index
    targets. Masked (``-inf``) logits of target probability 0 contribute 0 to both
    terms, in value and gradient, as in :func:`cross_entropy`. The loss is the Poly-1
    form of Leng et al. [1]_: the cross-entropy's Taylor series in :math:`1 - p_t`
    with its first coefficient raised by :math:`\varepsilon`.

    References
    ----------
    .. [1] Z. Leng, M. Tan, C. Liu, E. D. Cubuk, X. Shi, S. Cheng, D. Anguelov, "PolyLoss:
       A Polynomial Expansion Perspective of Classification Loss Functions", ICLR, 2022.
       https://arxiv.org/abs/2204.12511

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> round(float(polyloss.poly1_cross_entropy(logits, np.array([0, 2]), epsilon=1.0)), 6)
    0.334562
    """
    check_number("epsilon", epsilon)
    _check_smoothing(label_smoothing)
    args = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=weight, allow_probabilities=True
    )
    return _cross_entropy_terms(
        args, ignore_index=ignore_index, label_smoothing=label_smoothing, epsilon=float(epsilon),
        reduction=reduction, like=input,
    )


_NLL_EXAMPLE = Example(
    (uniform((6, 4), seed=31, low=-3.0, high=-0.1), labels((6,), 4, seed=32, ignored=(4,))),
    options={"weight": [0.25, 1.0, 2.0, 0.75]},
)


@register("NLLLoss", family="classification", peers=("torch.nn.functional.nll_loss",), natives=("torch",),
          example=_NLL_EXAMPLE)
def nll_loss(
    input: Array,
    target: Array,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    axis: int = 1,
    reduction: str = "mean",
) -> Array:
    r"""Negative log-likelihood of log-probabilities, :math:`\ell_i = -w_{t_i}\, x_{i t_i}`.

    Parameters
    ----------
    input : array
        Log-probabilities of shape ``(N, C, d1, ..., dk)`` (class axis `axis`), or
        ``(C,)``.
    target : array
        Integer class indices, of the input's shape without the class axis.
    weight : array_like, optional
        Class weights, of shape ``(C,)``.
    ignore_index : int, default -100
        Targets equal to it contribute 0 and do not count in the mean.
    axis : int, default 1
        The class axis; ``-1`` for channel-last inputs.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` is :math:`\sum_i \ell_i / \sum_i w_{t_i}` over the non-ignored
        samples; ``"none"`` returns one loss per sample (0 at ignored targets).

    Notes
    -----
    Matches ``torch.nn.functional.nll_loss`` with ``axis=1``, except that a batch
    whose targets are all ignored gives 0 with a zero gradient (torch: NaN).
    Out-of-range class indices raise ``ValueError`` in eager calls and give NaN
    under tracing.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> logp = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
    >>> round(float(polyloss.nll_loss(logp, np.array([0, 2]))), 6)
    0.43375
    """
    xp, x, target, ax, num_classes, _, w = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=weight, allow_probabilities=False
    )
    out = call_native("nll_loss", xp, x, target, like=input, weight=w, ignore_index=ignore_index,
                      axis=ax, reduction=reduction)
    if out is not NotImplemented:
        return out
    masks = index_masks(xp, target, num_classes, ignore_index)
    picked = take_class(xp, x, masks.safe, axis=ax)
    w_t = None if w is None else take_1d(xp, w, masks.safe)
    loss = -picked if w_t is None else -(w_t * picked)
    return reduce_indexed(xp, loss, reduction, masks, target_weight=w_t, like=input)


# --------------------------------------------------------------------------
# binary
# --------------------------------------------------------------------------


_BCE_EXAMPLE = Example(
    (uniform((4, 3), seed=41, low=0.05, high=0.95), binary((4, 3), seed=42)),
    options={"weight": uniform((3,), seed=43, low=0.5, high=1.5).values},
)


@register("BCELoss", family="classification", peers=("torch.nn.functional.binary_cross_entropy",), natives=("torch",),
          example=_BCE_EXAMPLE)
def binary_cross_entropy(
    input: Array, target: Array, *, weight: Any = None, reduction: str = "mean"
) -> Array:
    r"""Binary cross-entropy of probabilities, :math:`\ell = -w\,[y \log p + (1-y) \log(1-p)]`.

    Each log term is clamped at -100, as in torch, so probabilities of exactly 0
    and 1 give finite values and gradients.

    Parameters
    ----------
    input : array
        Probabilities in ``[0, 1]``.
    target : array
        Targets in ``[0, 1]``, of the input's shape.
    weight : array_like, optional
        Element weights broadcastable to the input's shape. ``"mean"`` divides by
        the number of elements (not by the total weight), as torch.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Raises
    ------
    ValueError
        Eager calls with an input or a target outside ``[0, 1]`` (naming which); traced
        calls give NaN there.

    Notes
    -----
    Matches ``torch.nn.functional.binary_cross_entropy`` (its ``log1p(-p)`` for the
    second term included).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> p, y = np.array([0.9, 0.2, 0.0]), np.array([1.0, 0.0, 1.0])
    >>> polyloss.binary_cross_entropy(p, y, reduction="none")
    array([  0.10536052,   0.22314355, 100.        ])
    """
    xp, p, y = paired_arrays(input, target, reduction)
    w = option_array(xp, weight, like=p, name="weight")
    check_broadcastable("weight", w, tuple(p.shape))
    # the native validates both arguments' probabilities itself, in one pass each
    out = call_native("binary_cross_entropy", xp, p, y, like=input, weight=w, reduction=reduction)
    if out is not NotImplemented:
        return out
    if any_now(xp, (y < 0.0) | (y > 1.0) | (y != y)):
        raise ValueError("target of binary_cross_entropy must hold probabilities in [0, 1]")
    if any_now(xp, (p < 0.0) | (p > 1.0) | (p != p)):
        raise ValueError("input of binary_cross_entropy must hold probabilities in [0, 1]")
    loss = (y - 1.0) * log1m_clamped(xp, p, -100.0) - y * log_clamped(xp, p, -100.0)
    # traced calls: NaN where an argument is outside [0, 1] (eager calls raised)
    loss = xp.where((p < 0.0) | (p > 1.0) | (y < 0.0) | (y > 1.0), float("nan"), loss)
    return reduce(xp, loss, reduction, weight=w, divisor=float(math.prod(p.shape)), dtype=input.dtype)


_BCE_LOGITS_EXAMPLE = Example(
    (uniform((4, 3), seed=51, low=-3.0, high=3.0), binary((4, 3), seed=52)),
    options={"weight": uniform((3,), seed=53, low=0.5, high=1.5).values, "pos_weight": [2.0, 0.5, 1.0],
             "label_smoothing": 0.1},
)


@register(
    "BCEWithLogitsLoss",
    family="classification",
    peers=("torch.nn.functional.binary_cross_entropy_with_logits",),
    natives=("torch",),
    example=_BCE_LOGITS_EXAMPLE,
)
def binary_cross_entropy_with_logits(
    input: Array,
    target: Array,
    *,
    weight: Any = None,
    pos_weight: Any = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Array:
    r"""Binary cross-entropy of logits,
    :math:`\ell = -w\,[q\, y \log\sigma(x) + (1-y) \log(1-\sigma(x))]`.

    Computed stably as :math:`(1-y)\,x + (1 + (q-1)\,y)\,\operatorname{softplus}(-x)`
    (:math:`q` the ``pos_weight``), finite for any logit.

    Parameters
    ----------
    input : array
        Logits.
    target : array
        Targets in ``[0, 1]``, of the input's shape.
    weight : array_like, optional
        Element weights broadcastable to the input's shape; ``"mean"`` divides by the
        number of elements, as torch.
    pos_weight : array_like, optional
        Weight of the positive term, broadcastable to the input's shape (one per
        class, along the last axis, for multi-label inputs ``(N, C)``).
    label_smoothing : float, default 0.0
        In ``[0, 1]``; the target becomes :math:`y(1-\varepsilon) + \varepsilon/2`
        (as Keras' ``BinaryCrossentropy``).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Notes
    -----
    Matches ``torch.nn.functional.binary_cross_entropy_with_logits`` (which has no
    label smoothing: it equals torch's value at the smoothed targets).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x, y = np.array([3.0, -1.0, 1e4]), np.array([1.0, 0.0, 0.0])
    >>> polyloss.binary_cross_entropy_with_logits(x, y, reduction="none")
    array([4.85873516e-02, 3.13261688e-01, 1.00000000e+04])
    """
    _check_smoothing(label_smoothing)
    xp, x, y = paired_arrays(input, target, reduction)
    w = option_array(xp, weight, like=x, name="weight")
    check_broadcastable("weight", w, tuple(x.shape))
    pw = option_array(xp, pos_weight, like=x, name="pos_weight")
    check_broadcastable("pos_weight", pw, tuple(x.shape))
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    out = call_native("binary_cross_entropy_with_logits", xp, x, y, like=input, weight=w,
                      pos_weight=pw, reduction=reduction)
    if out is not NotImplemented:
        return out
    sp = softplus(xp, -x)
    if pw is not None:
        sp = (1.0 + (pw - 1.0) * y) * sp
    loss = (1.0 - y) * x + sp
    return reduce(xp, loss, reduction, weight=w, divisor=float(math.prod(x.shape)), dtype=input.dtype)


# --------------------------------------------------------------------------
# divergence and evaluation metric
# --------------------------------------------------------------------------

_KL_EXAMPLE = Example(
    (uniform((3, 4), seed=61, low=-3.0, high=-0.2), uniform((3, 4), seed=62, low=0.05, high=0.9))
)


@register(
    "KLDivLoss",
    family="classification",
    peers=("torch.nn.functional.kl_div",),
    example=_KL_EXAMPLE,
    reductions=("mean", "sum", "none", "batchmean"),
)
def kl_div(
    input: Array, target: Array, *, log_target: bool = False, reduction: str = "mean"
) -> Array:
    r"""Kullback-Leibler divergence, :math:`\ell = y\,(\log y - x)` for log-probabilities ``x``.

    The pointwise term is :math:`\operatorname{xlogy}(y, y) - y\,x` (0 where
    :math:`y = 0`), or :math:`e^{y}(y - x)` with ``log_target=True``.

    Parameters
    ----------
    input : array
        Log-probabilities.
    target : array
        Probabilities (log-probabilities with ``log_target=True``), of the input's shape.
    log_target : bool, default False
        Whether `target` holds log-probabilities.
    reduction : {"mean", "sum", "none", "batchmean"}
        ``"mean"`` averages over all elements; ``"batchmean"`` divides the sum by
        ``input.shape[0]`` (the KL divergence per sample); ``"none"`` returns the
        element terms.

    Notes
    -----
    Matches ``torch.nn.functional.kl_div`` (whose default ``"mean"`` is not the KL
    divergence per sample: use ``"batchmean"``). A target probability of 0 (a
    ``-inf`` target with ``log_target=True``) contributes 0 in value and gradient
    also where the input is ``-inf`` (a masked class of ``log_softmax``), where torch
    gives NaN; an input of ``-inf`` under a target > 0 gives ``+inf``.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> logq = np.log(np.array([[0.5, 0.5], [0.9, 0.1]]))
    >>> p = np.array([[1.0, 0.0], [0.5, 0.5]])
    >>> round(float(polyloss.kl_div(logq, p, reduction="batchmean")), 6)
    0.601986
    """
    xp, x, t = paired_arrays(input, target, reduction, ("mean", "sum", "none", "batchmean"))
    if log_target:
        # a target of probability 0 (t = -inf) contributes 0, whatever x (-inf included)
        kept = t != -math.inf
        loss = xp.where(kept, xp.exp(t) * (xp.where(kept, t, 0.0) - xp.where(kept, x, 0.0)), 0.0)
    else:
        # 0 * x is 0 at a target of 0, also where x = log q = -inf (0 log 0/0 = 0)
        loss = xlogx(xp, t) - t * xp.where(t != 0.0, x, 0.0)
    if reduction == "batchmean":
        divisor = float(x.shape[0]) if x.ndim else 1.0
        return reduce(xp, loss, "mean", divisor=divisor, dtype=input.dtype)
    return reduce(xp, loss, reduction, dtype=input.dtype)


_LOG_LOSS_EXAMPLE = Example(
    (
        given([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.25, 0.25, 0.5], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]]),
        given([1, 0, 2, 1, 0], integer=True),
    ),
    options={"sample_weight": [1.0, 2.0, 0.5, 1.5, 1.0]},
)


@register("LogLoss", family="classification", peers=("sklearn.metrics.log_loss",), example=_LOG_LOSS_EXAMPLE)
def log_loss(
    input: Array, target: Array, *, sample_weight: Any = None, reduction: str = "mean"
) -> Array:
    r"""Log loss of predicted probabilities (the evaluation metric of scikit-learn).

    With a 1-D input :math:`p_i = P(y_i = 1)` and targets in :math:`\{0, 1\}`:
    :math:`\ell_i = -[y_i \log \bar p_i + (1-y_i) \log \overline{(1-p_i)}]`; with a 2-D
    input ``(N, C)`` of class probabilities and integer labels ``(N,)``:
    :math:`\ell_i = -\log \bar p_{i y_i}` (a floating ``(N, C)`` target of the
    input's shape is a label-indicator matrix: :math:`-\sum_c y_{ic} \log \bar p_{ic}`).
    :math:`\bar p` is clipped to :math:`[\epsilon, 1-\epsilon]`, :math:`\epsilon` the
    machine epsilon of the input's dtype. Rows are not renormalized.

    Parameters
    ----------
    input : array
        Probabilities: ``(N,)`` of the positive class, or ``(N, C)``.
    target : array
        ``(N,)``: 0/1 labels for a 1-D input, class indices in ``[0, C)`` for a 2-D
        one; or a ``(N, C)`` indicator matrix.
    sample_weight : array_like, optional
        Weights of the samples, of shape ``(N,)``.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` is the weighted average :math:`\sum_i s_i\ell_i / \sum_i s_i`
        (sklearn's ``normalize=True``), ``"sum"`` is :math:`\sum_i s_i\ell_i`
        (``normalize=False``), ``"none"`` returns :math:`s_i\ell_i`, shape ``(N,)``.

    Raises
    ------
    ValueError
        Eager calls with probabilities outside ``[0, 1]`` or labels outside the
        classes (as scikit-learn); traced and lazy calls give NaN for such labels.

    Notes
    -----
    Equals ``sklearn.metrics.log_loss(target, input, sample_weight=...,
    normalize=...)`` (with ``labels=range(C)``: polyloss does not infer the classes
    from the labels present). Unlike scikit-learn it does not warn when rows do not
    sum to one, and a total sample weight of 0 gives 0 instead of an error.
    Vectorized: one gather and one log per sample for 2-D inputs.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> p = np.array([[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]])
    >>> round(float(polyloss.log_loss(p, np.array([1, 0, 0, 1]))), 5)
    0.21616
    """
    xp = array_namespace(input=input, target=target)
    dtype = compute_dtype(xp, input)
    check_reduction(reduction)
    if input.ndim not in (1, 2):
        raise ValueError(f"input of log_loss must be 1-D (N,) or 2-D (N, C); got shape {tuple(input.shape)}")
    check_nonempty(input)
    eps = float(xp.finfo(input.dtype).eps)
    p = as_compute_dtype(xp, input, dtype)
    n = input.shape[0]
    s = option_array(xp, sample_weight, like=p, name="sample_weight")
    check_option_shape("sample_weight", s, (n,))
    if any_now(xp, (p < 0.0) | (p > 1.0) | (p != p)):
        raise ValueError("input of log_loss must hold probabilities in [0, 1]")
    indicator = input.ndim == 2 and tuple(target.shape) == tuple(input.shape)
    if not indicator and tuple(target.shape) != (n,):
        raise ValueError(
            f"target must have shape ({n},) or the input's shape {tuple(input.shape)}; "
            f"got target.shape={tuple(target.shape)}"
        )
    if input.ndim == 1:
        y = as_compute_dtype(xp, target, dtype)
        if any_now(xp, (y < 0.0) | (y > 1.0)):
            raise ValueError("target of a 1-D log_loss must hold labels 0 and 1")
        loss = -(y * xp.log(xp.clip(p, min=eps, max=1.0 - eps))
                 + (1.0 - y) * xp.log(xp.clip(1.0 - p, min=eps, max=1.0 - eps)))
    elif indicator:
        y = as_compute_dtype(xp, target, dtype)
        loss = -xp.sum(y * xp.log(xp.clip(p, min=eps, max=1.0 - eps)), axis=1)
    else:
        integer_dtype_check(xp, target, "target")
        num_classes = input.shape[1]
        masks = index_masks(xp, target, num_classes, None)
        picked = xp.clip(take_class(xp, p, masks.safe, axis=1), min=eps, max=1.0 - eps)
        loss = xp.where(masks.valid, -xp.log(picked), _NAN)
    return reduce(xp, loss, reduction, weight=s, dtype=input.dtype)


BCELoss = loss_object(binary_cross_entropy)
BCEWithLogitsLoss = loss_object(binary_cross_entropy_with_logits)
NLLLoss = loss_object(nll_loss)
CrossEntropyLoss = loss_object(cross_entropy)
Poly1CrossEntropyLoss = loss_object(poly1_cross_entropy)
KLDivLoss = loss_object(kl_div)
LogLoss = loss_object(log_loss)
