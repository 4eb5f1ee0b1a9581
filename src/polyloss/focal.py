"""Focal losses: softmax focal, sigmoid focal and Poly-1 focal.

The modulating factor :math:`(1 - p_t)^\\gamma` is computed as
:math:`\\exp(\\gamma \\log(1 - p_t))` with :math:`\\log(1 - p_t)` from a stable
log-sigmoid or ``log1mexp``, and a double ``where`` where :math:`1 - p_t` is 0 (or
below the smallest normal number): the value and the gradient stay finite at
saturation for every ``gamma >= 0``, where the naive ``(1 - p_t) ** gamma`` has an
infinite or NaN gradient for ``gamma < 1``.
"""

from __future__ import annotations

from typing import Any

from ._array import (
    Array,
    Namespace,
    log1mexp,
    log_sigmoid,
    logsumexp_parts,
    option_array,
    power,
    softplus,
    take_1d,
    take_class,
)
from ._checks import (
    check_in_interval,
    check_nonnegative,
    check_number,
    check_option_shape,
    paired_arrays,
)
from ._indexed import class_indexed_args, index_masks, reduce_indexed
from ._native import call_native
from ._reduce import reduce
from ._registry import Example, Peer, binary, labels, loss_object, register, uniform

__all__ = [
    "FocalLoss",
    "Poly1FocalLoss",
    "SigmoidFocalLoss",
    "focal_loss",
    "poly1_focal_loss",
    "sigmoid_focal_loss",
]

def _modulator_from_log_pt(xp: Namespace, log_pt: Array, gamma: float) -> Array:
    """``(1 - p_t) ** gamma`` from ``log p_t``, finite in value and gradient for ``gamma >= 0``.

    Where ``1 - p_t`` is below the dtype's smallest normal number (``p_t`` is 1 to
    working precision) the factor is 0 (1 for ``gamma = 0``) with a zero gradient.
    """
    if gamma == 0:
        return xp.ones_like(log_pt)
    tiny = float(xp.finfo(log_pt.dtype).smallest_normal)
    saturated = log_pt > -tiny
    log_q = log1mexp(xp, xp.where(saturated, -1.0, log_pt))
    return xp.where(saturated, 0.0, xp.exp(gamma * log_q))


# --------------------------------------------------------------------------
# softmax focal loss
# --------------------------------------------------------------------------

_FOCAL_EXAMPLE = Example(
    (uniform((4, 3, 2), seed=51), labels((4, 2), 3, seed=52)),
    options={"gamma": 2.0, "alpha": [0.25, 0.5, 0.75]},
)


@register(
    "FocalLoss",
    family="focal",
    peers=(Peer("article", "FocalLoss"), Peer("torch", "torch.nn.functional.cross_entropy", "at gamma=0")),
    natives=("torch",),
    example=_FOCAL_EXAMPLE,
)
def focal_loss(
    input: Array,
    target: Array,
    *,
    gamma: float = 2.0,
    alpha: Any = None,
    ignore_index: int = -100,
    axis: int = 1,
    reduction: str = "mean",
) -> Array:
    r"""Multi-class (softmax) focal loss, :math:`\ell = -\alpha_t (1 - p_t)^\gamma \log p_t`.

    :math:`p_t` is the softmax probability of the target class (Lin et al., 2017).
    ``gamma=0`` without `alpha` is exactly the cross-entropy.

    Parameters
    ----------
    input : array
        Logits, ``(N, C, d1, ..., dk)`` with the class axis at `axis`, or ``(C,)``.
    target : array
        Integer class indices, of the input's shape without the class axis.
    gamma : float, default 2.0
        Focusing exponent; >= 0.
    alpha : array_like, optional
        Per-class factors :math:`\alpha_c`, of length C. They scale the element
        losses but not the divisor of the mean (as in the article).
    ignore_index : int, default -100
        Targets equal to it contribute 0 and are not counted by the mean.
    axis : int, default 1
        The class axis.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides by the number of non-ignored elements (0 with a zero
        gradient when every target is ignored). ``"none"`` returns the element
        losses, of the target's shape (0 where ignored).

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches the multi-class ``FocalLoss`` of the article "深度学习 ② 常用损失函数 2)"
    (from clcarwin/focal_loss_pytorch) and, at ``gamma=0``, ``cross_entropy``.
    :math:`(1 - p_t)^\gamma` is :math:`\exp(\gamma\,\mathrm{log1mexp}(\log p_t))`,
    finite in value and gradient at saturation for every ``gamma >= 0``.
    Masked logits: ``-inf`` logits of the classes other than the target add
    nothing (value and gradient), and an ignored row of all ``-inf`` logits gives 0
    with a zero gradient; a ``-inf`` target logit gives ``+inf``.

    The loss is the multi-class focal loss of Lin et al. [1]_, which scales the
    cross-entropy down on well-classified entries.

    On torch (eager calls) a native kernel gives the same numbers: log-softmax, a
    gather of the target, and an analytic backward; it keeps the log-softmax, one
    array of the input's size, for the backward.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense
       Object Detection", ICCV, 2017. https://arxiv.org/abs/1708.02002

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    >>> round(float(polyloss.focal_loss(x, np.array([0, 2]), gamma=2.0)), 6)
    0.483824
    """
    check_nonnegative("gamma", gamma)
    xp, x, target, cax, num_classes, _, _ = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=None, allow_probabilities=False
    )
    a = option_array(xp, alpha, like=x, name="alpha")
    check_option_shape("alpha", a, (num_classes,))
    out = call_native("focal_loss", xp, x, target, like=input, gamma=gamma, alpha=a, ignore_index=ignore_index,
                      axis=cax, reduction=reduction)
    if out is not NotImplemented:
        return out
    masks = index_masks(xp, target, num_classes, ignore_index)
    # log p_t from the gathered logit and the row's log-sum-exp (log_softmax is not formed):
    # masked (-inf) logits of other classes add nothing, an ignored all -inf row gives 0
    m, lse = logsumexp_parts(xp, x, cax)
    log_pt = (take_class(xp, x, masks.safe, axis=cax) - xp.squeeze(m, axis=cax)) - lse
    if masks.ignored is not None:  # an ignored row's log p_t may be -inf (-inf * 0 in the gradient)
        log_pt = xp.where(masks.ignored, 0.0, log_pt)
    loss = -_modulator_from_log_pt(xp, log_pt, gamma) * log_pt
    if a is not None:
        loss = loss * take_1d(xp, a, masks.safe)  # alpha[target], not broadcast to the input's shape
    return reduce_indexed(xp, loss, reduction, masks, target_weight=None, like=input)


# --------------------------------------------------------------------------
# sigmoid focal losses
# --------------------------------------------------------------------------


def _check_focal_options(gamma: float, alpha: float | None) -> None:
    check_nonnegative("gamma", gamma)
    if alpha is not None:
        check_in_interval("alpha", alpha, 0.0, 1.0)


def _sigmoid_focal_terms(
    xp: Namespace, x: Array, t: Array, gamma: float, alpha: float | None
) -> tuple[Array, Array]:
    """The alpha-weighted focal element loss and ``q = 1 - p_t``."""
    ce = softplus(xp, x) - x * t  # binary cross-entropy with logits
    # 1 - p_t = sigmoid(x)(1 - t) + sigmoid(-x) t: a sum of non-negative terms, no cancellation
    q = xp.exp(log_sigmoid(xp, x)) * (1.0 - t) + xp.exp(log_sigmoid(xp, -x)) * t
    loss = ce * power(xp, q, gamma)
    if alpha is not None:
        loss = loss * (alpha * t + (1.0 - alpha) * (1.0 - t))
    return loss, q


_SIGMOID_EXAMPLE = Example((uniform((4, 5), seed=61), binary((4, 5), seed=62)))


@register(
    "SigmoidFocalLoss",
    family="focal",
    peers=("torchvision.ops.sigmoid_focal_loss",),
    natives=("torch",),
    example=_SIGMOID_EXAMPLE,
)
def sigmoid_focal_loss(
    input: Array,
    target: Array,
    *,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    reduction: str = "mean",
) -> Array:
    r"""Binary / multi-label focal loss on logits, :math:`\ell = \alpha_t (1 - p_t)^\gamma\, \mathrm{BCE}(x, t)`.

    :math:`p = \sigma(x)`, :math:`p_t = p t + (1 - p)(1 - t)` and
    :math:`\alpha_t = \alpha t + (1 - \alpha)(1 - t)`. :math:`1 - p_t` is computed as
    :math:`\sigma(x)(1 - t) + \sigma(-x) t`, without cancellation, also for soft
    labels.

    Parameters
    ----------
    input : array
        Logits, any shape.
    target : array
        Labels in [0, 1] (hard or soft), of the input's shape.
    gamma : float, default 2.0
        Focusing exponent; >= 0.
    alpha : float or None, default 0.25
        Weight of the positives, in [0, 1] (negatives get ``1 - alpha``); None
        switches the weighting off.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``torchvision.ops.sigmoid_focal_loss`` (which switches alpha off with a
    negative value; polyloss with None). The loss is the binary focal loss of Lin
    et al. [1]_.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense
       Object Detection", ICCV, 2017. https://arxiv.org/abs/1708.02002

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([2.0, -1.0, 0.5])
    >>> polyloss.sigmoid_focal_loss(x, np.array([1.0, 0.0, 0.0]), reduction="none").round(6)
    array([0.000451, 0.016994, 0.283059])
    """
    _check_focal_options(gamma, alpha)
    xp, x, t = paired_arrays(input, target, reduction)
    out = call_native("sigmoid_focal_loss", xp, x, t, like=input, gamma=gamma, alpha=alpha,
                      reduction=reduction)
    if out is not NotImplemented:
        return out
    loss, _ = _sigmoid_focal_terms(xp, x, t, gamma, alpha)
    return reduce(xp, loss, reduction, dtype=input.dtype)


_POLY1_EXAMPLE = Example(
    (uniform((3, 4), seed=71), binary((3, 4), seed=72)),
    options={"epsilon": 2.0, "gamma": 1.5},
)


@register(
    "Poly1FocalLoss",
    family="focal",
    peers=(Peer("paper", "Leng et al. 2022 (PolyLoss), poly1_focal_loss"),),
    example=_POLY1_EXAMPLE,
)
def poly1_focal_loss(
    input: Array,
    target: Array,
    *,
    epsilon: float = 1.0,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    reduction: str = "mean",
) -> Array:
    r"""Poly-1 focal loss (Leng et al., ICLR 2022), :math:`\mathrm{FL} + \epsilon (1 - p_t)^{\gamma + 1}`.

    :math:`\mathrm{FL}` is :func:`sigmoid_focal_loss`'s element loss (with its
    :math:`\alpha_t`); :math:`\alpha_t` does not scale the polynomial term, as in the
    paper's reference code.

    Parameters
    ----------
    input : array
        Logits, any shape.
    target : array
        Labels in [0, 1] (hard or soft), of the input's shape.
    epsilon : float, default 1.0
        Coefficient of the first polynomial term (may be negative).
    gamma : float, default 2.0
        Focusing exponent; >= 0.
    alpha : float or None, default 0.25
        Weight of the positives in the focal term, in [0, 1]; None switches it off.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Transcribes the ``poly1_focal_loss`` of Leng et al. [1]_, appendix.

    References
    ----------
    .. [1] Z. Leng, M. Tan, C. Liu, E. D. Cubuk, X. Shi, S. Cheng, D. Anguelov, "PolyLoss:
       A Polynomial Expansion Perspective of Classification Loss Functions", ICLR, 2022.
       https://arxiv.org/abs/2204.12511

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([2.0, -1.0, 0.5])
    >>> polyloss.poly1_focal_loss(x, np.array([1.0, 0.0, 0.0]), reduction="none").round(6)
    array([0.002145, 0.036446, 0.524234])
    """
    check_number("epsilon", epsilon)
    _check_focal_options(gamma, alpha)
    xp, x, t = paired_arrays(input, target, reduction)
    loss, q = _sigmoid_focal_terms(xp, x, t, gamma, alpha)
    loss = loss + epsilon * (q * power(xp, q, gamma))
    return reduce(xp, loss, reduction, dtype=input.dtype)


FocalLoss = loss_object(focal_loss)
SigmoidFocalLoss = loss_object(sigmoid_focal_loss)
Poly1FocalLoss = loss_object(poly1_focal_loss)
