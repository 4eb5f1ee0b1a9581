"""Sorting-based segmentation losses: Lovász-softmax, Lovász hinge, and the MCC loss.

The Lovász losses (Berman, Rannen Triki and Blaschko, CVPR 2018) are the Lovász
extension of the Jaccard loss evaluated at a vector of pixel errors: the errors are
sorted in decreasing order and dotted with the extension's gradient, the discrete
difference of :math:`1 - |T \\cap S_k| / |T \\cup S_k|` along the sorted ground truth.
Everything is batched: one ``argsort`` along the pixel axis of an array of shape
``(images, classes, pixels)`` (no loop over images or classes), so the program size
under ``jax.jit`` and ``torch.compile`` does not grow with the data. The sorted
errors are a gather of the errors by the sort's permutation (``take_along_axis``),
so autodiff gives the gradient of the sort itself, as torch's ``sort`` does; the
Lovász gradient comes from integer ground truth and carries none.

Ignored pixels are not removed (which would give data-dependent shapes): their error
is 0, their ground truth empty, and their sort key below every counted error, so that
they sort after every pixel that counts and add nothing.
"""

from __future__ import annotations

import math
from typing import Any

from ._array import (
    Array,
    Namespace,
    cumulative_sum,
    device_of,
    log_softmax,
    take_along,
    to_output,
)
from ._checks import check_choice, check_flag, check_nonnegative, paired_arrays
from ._indexed import class_indexed_args, index_masks
from ._reduce import reduce, safe_divide
from ._registry import Example, Peer, binary, labels, loss_object, register, uniform

__all__ = [
    "LovaszHingeLoss",
    "LovaszSoftmaxLoss",
    "MCCLoss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "mcc_loss",
]

CLASSES = ("present", "all")
ACTIVATIONS = ("softmax", None)


# --------------------------------------------------------------------------
# the shared machinery
# --------------------------------------------------------------------------


def _check_ignore_index(value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"ignore_index must be an int or None, got {type(value).__name__} {value!r}")


def _sorted_by(xp: Namespace, key: Array, *arrays: Array) -> tuple[Array, ...]:
    """`arrays` in the order of decreasing `key` along the last axis (a stable sort)."""
    order = xp.argsort(key, axis=-1, descending=True, stable=True)
    return tuple(take_along(xp, a, order, axis=-1) for a in arrays)


def _lovasz_grad(xp: Namespace, gt_sorted: Array) -> Array:
    """The gradient of the Lovász extension of the Jaccard loss at errors sorted in
    decreasing order, from their ground truth (0/1) in that order, along the last axis:
    the discrete difference of ``1 - intersection / union`` (Berman et al., Alg. 1).
    The union is at least 1 at every position, so the division is safe."""
    total = xp.sum(gt_sorted, axis=-1, keepdims=True)
    intersection = total - cumulative_sum(xp, gt_sorted, axis=-1)
    union = total + cumulative_sum(xp, 1.0 - gt_sorted, axis=-1)
    jaccard = 1.0 - intersection / union
    return xp.concat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)


def _per_image(xp: Namespace, loss: Array, shape: tuple[int, ...], reduction: str, like: Array) -> Array:
    """The loss of each image (`shape` is ``(N,)``) or of the batch (``()``), reduced."""
    return reduce(xp, xp.reshape(loss, shape), reduction, dtype=like.dtype)


# --------------------------------------------------------------------------
# Lovász-softmax
# --------------------------------------------------------------------------

_SOFTMAX_EXAMPLE = Example(
    (uniform((2, 3, 2, 3), seed=81), labels((2, 2, 3), 3, seed=82, ignored=(4, 7))),
    options={"per_image": True, "ignore_index": -100},
)


@register(
    "LovaszSoftmaxLoss",
    family="structured",
    peers=(
        Peer(
            "segmentation_models_pytorch",
            "segmentation_models_pytorch.losses.LovaszLoss",
            'mode="multiclass"; classes="all" is its _lovasz_softmax(classes="all")',
        ),
    ),
    example=_SOFTMAX_EXAMPLE,
)
def lovasz_softmax_loss(
    input: Array,
    target: Array,
    *,
    axis: int = 1,
    activation: str | None = "softmax",
    classes: str = "present",
    per_image: bool = False,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Lovász-softmax loss, :math:`\ell = \frac{1}{|K|} \sum_{c \in K} \overline{\Delta_{J_c}}(m(c))`.

    For class :math:`c`, the pixel errors are :math:`m_i(c) = |[y_i = c] - p_{i,c}|`;
    sorted in decreasing order, :math:`m_{(1)} \ge \dots \ge m_{(P)}`, the Lovász
    extension of the Jaccard loss is
    :math:`\overline{\Delta_{J_c}}(m) = \sum_k m_{(k)}\,(J_k - J_{k-1})` with
    :math:`J_k = 1 - |T \cap S_k| / |T \cup S_k|`, :math:`T` the pixels of class
    :math:`c` and :math:`S_k` the first :math:`k` sorted pixels (Berman et al., 2018).

    Parameters
    ----------
    input : array
        Logits (or probabilities with ``activation=None``), ``(N, C, d1, ..., dk)``
        with the class axis at `axis`, or an unbatched ``(C,)``.
    target : array
        Integer class indices, of the input's shape without the class axis.
    axis : int, default 1
        The class axis.
    activation : {"softmax", None}, default "softmax"
        ``"softmax"`` turns logits into probabilities along `axis`; None takes the
        input as probabilities.
    classes : {"present", "all"}, default "present"
        Average over the classes present in the (non-ignored) target, or over all
        ``C`` classes (an absent class scores the largest probability it gives).
    per_image : bool, default False
        Compute the loss of each image (each index of the target's first axis) on its
        own pixels (and its own present classes), then average over images; else one
        loss over the pixels of the whole batch.
    ignore_index : int, optional
        Pixels whose target equals it are removed.
    reduction : {"mean", "sum", "none"}
        With ``per_image=True``, ``"none"`` returns the loss of each image, shape
        ``(N,)``; ``"mean"`` averages them and ``"sum"`` adds them. With
        ``per_image=False`` the loss is one number for the batch: every reduction
        returns it, 0-d.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``segmentation_models_pytorch.losses.LovaszLoss(mode="multiclass",
    per_image=..., ignore_index=...)`` (which applies the softmax and always uses
    ``classes="present"``; its ``_lovasz_softmax(classes="all")`` is
    ``classes="all"``), gradients included: the sort is differentiated as a gather
    and the Lovász gradient is constant. Where smp returns an empty tensor (every
    pixel, or every pixel of an image with ``per_image=True``, ignored), polyloss
    gives 0 with a zero gradient for that batch or image; such an image still counts
    in the mean over images, as in smp's ``mode="binary"``. smp rejects ``C = 1``;
    here the single class is just class 0. Out-of-range class indices that are not
    `ignore_index` raise ValueError (eager) or give NaN (traced).

    A loss needs a sort along the pixel axis. On Dask it is lazy and exact, but each
    sorted row (an image with ``per_image=True``, else the whole batch) is brought
    into one chunk by array-api-compat's ``argsort``, and the gather is a 1-D
    ``take`` (Dask has no ``take_along_axis``): for evaluation, not for data larger
    than memory.

    The loss is the Lovász-softmax of Berman et al. [1]_: the Lovász extension of the
    Jaccard loss makes a convex surrogate of the intersection over union that is
    tight on discrete predictions.

    References
    ----------
    .. [1] M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss: A
       tractable surrogate for the optimization of the intersection-over-union
       measure in neural networks", CVPR, 2018. https://arxiv.org/abs/1705.08790

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[[2.0, 0.0, 1.0], [0.0, 1.0, 3.0]]])  # (N=1, C=2, 3 pixels)
    >>> round(float(polyloss.lovasz_softmax_loss(x, np.array([[0, 1, 1]]))), 6)
    0.194072
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("classes", classes, CLASSES)
    check_flag("per_image", per_image)
    _check_ignore_index(ignore_index)
    xp, x, target, cax, num_classes, _, _ = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=None, allow_probabilities=False
    )
    masks = index_masks(xp, target, num_classes, ignore_index)
    p = xp.exp(log_softmax(xp, x, axis=cax)) if activation == "softmax" else x

    # (images, classes, pixels): images are the target's first axis with per_image
    others = [i for i in range(p.ndim) if i != cax]
    batched = per_image and target.ndim > 0
    order = (others[0], cax, *others[1:]) if batched else (cax, *others)
    images = target.shape[0] if batched else 1
    pixels = math.prod(target.shape) // images
    p = xp.reshape(xp.permute_dims(p, order), (images, num_classes, pixels))
    counted = masks.valid if masks.ignored is None else masks.valid & ~masks.ignored
    counted = xp.reshape(counted, (images, 1, pixels))
    class_ids = xp.reshape(xp.arange(num_classes, device=device_of(target)), (1, num_classes, 1))
    is_fg = (xp.reshape(masks.safe, (images, 1, pixels)) == class_ids) & counted
    fg = xp.astype(is_fg, p.dtype)

    errors = xp.where(counted, xp.abs(fg - p), 0.0)
    errors_sorted, fg_sorted = _sorted_by(xp, xp.where(counted, errors, -1.0), errors, fg)
    per_class = xp.sum(errors_sorted * _lovasz_grad(xp, fg_sorted), axis=-1)  # (images, C)
    if classes == "present":
        present = xp.any(is_fg, axis=-1)
        loss = safe_divide(
            xp, xp.sum(xp.where(present, per_class, 0.0), axis=-1), xp.sum(xp.astype(present, p.dtype), axis=-1)
        )
    else:
        loss = xp.mean(per_class, axis=-1)
    invalid = ~xp.all(xp.reshape(masks.valid, (images, pixels)), axis=-1)  # out of range (traced)
    loss = xp.where(invalid, float("nan"), loss)
    return _per_image(xp, loss, tuple(target.shape[:1]) if batched else (), reduction, input)


# --------------------------------------------------------------------------
# Lovász hinge
# --------------------------------------------------------------------------

_HINGE_EXAMPLE = Example(
    (uniform((3, 2, 4), seed=91), binary((3, 2, 4), seed=92)),
    options={"per_image": True},
)


@register(
    "LovaszHingeLoss",
    family="structured",
    peers=(Peer("segmentation_models_pytorch", "segmentation_models_pytorch.losses.LovaszLoss", 'mode="binary"'),),
    example=_HINGE_EXAMPLE,
)
def lovasz_hinge_loss(
    input: Array,
    target: Array,
    *,
    per_image: bool = False,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Binary Lovász hinge loss, :math:`\ell = \sum_k \max(m_{(k)}, 0)\,(J_k - J_{k-1})`.

    The errors are the hinge margins :math:`m_i = 1 - x_i s_i` with signs
    :math:`s_i = 2 y_i - 1`, sorted in decreasing order; :math:`J_k` is the Jaccard
    loss of the first :math:`k` sorted pixels against the foreground (see
    :func:`lovasz_softmax_loss`).

    Parameters
    ----------
    input : array
        Logits, ``(N, ...)``.
    target : array
        Binary labels (0 or 1, or `ignore_index`), of the input's shape.
    per_image : bool, default False
        Compute the loss of each image (index of the first axis) on its own pixels,
        then average over images; else one loss over the whole batch.
    ignore_index : int, optional
        Pixels whose target equals it are removed.
    reduction : {"mean", "sum", "none"}
        With ``per_image=True``, ``"none"`` returns the loss of each image, shape
        ``(N,)``; ``"mean"`` averages them and ``"sum"`` adds them. With
        ``per_image=False`` every reduction returns the one batch loss, 0-d.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``segmentation_models_pytorch.losses.LovaszLoss(mode="binary",
    per_image=..., ignore_index=...)``, gradients included. smp flattens input and
    target separately (``(N, 1, H, W)`` logits with ``(N, H, W)`` labels); polyloss
    asks for one shape. Every pixel ignored gives 0 with a zero gradient (an image
    with ``per_image=True``: 0, counted in the mean, as in smp). On Dask it is lazy
    and exact, with each sorted row in one chunk (see :func:`lovasz_softmax_loss`).

    The loss is the binary Lovász hinge of Berman et al. [1]_.

    References
    ----------
    .. [1] M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss: A
       tractable surrogate for the optimization of the intersection-over-union
       measure in neural networks", CVPR, 2018. https://arxiv.org/abs/1705.08790

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[2.0, -1.0, 0.5, -0.5], [0.3, 1.2, -0.7, 0.1]])
    >>> y = np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    >>> polyloss.lovasz_hinge_loss(x, y, per_image=True, reduction="none")
    array([1.   , 0.625])
    """
    check_flag("per_image", per_image)
    _check_ignore_index(ignore_index)
    xp, x, t = paired_arrays(input, target, reduction)
    batched = per_image and x.ndim > 0
    images = x.shape[0] if batched else 1
    shape = (images, math.prod(x.shape) // images)
    x, t = xp.reshape(x, shape), xp.reshape(t, shape)
    counted = None if ignore_index is None else t != float(ignore_index)
    errors = 1.0 - x * (2.0 * t - 1.0)
    key = errors
    if counted is not None:
        errors = xp.where(counted, errors, 0.0)
        key = xp.where(counted, errors, -math.inf)
        t = xp.where(counted, t, 0.0)
    errors_sorted, gt_sorted = _sorted_by(xp, key, errors, t)
    hinge = xp.where(errors_sorted > 0, errors_sorted, 0.0)  # relu, gradient 0 at 0 as torch's
    loss = xp.sum(hinge * _lovasz_grad(xp, gt_sorted), axis=-1)
    return _per_image(xp, loss, (images,) if batched else (), reduction, input)


# --------------------------------------------------------------------------
# Matthews correlation coefficient loss
# --------------------------------------------------------------------------

_MCC_EXAMPLE = Example((uniform((3, 2, 4), seed=101, low=0.0, high=1.0), binary((3, 2, 4), seed=102)),
                       options={"eps": 1e-3})


@register(
    "MCCLoss",
    family="structured",
    peers=(Peer("segmentation_models_pytorch", "segmentation_models_pytorch.losses.MCCLoss"),),
    example=_MCC_EXAMPLE,
)
def mcc_loss(input: Array, target: Array, *, eps: float = 1e-5, reduction: str = "mean") -> Array:
    r"""Matthews correlation coefficient loss, :math:`\ell = 1 - \frac{TP\,TN - FP\,FN}{\sqrt{(TP+FP)(TP+FN)(TN+FP)(TN+FN)}}`.

    Soft counts over the whole batch: :math:`TP = \sum p y + \epsilon`,
    :math:`TN = \sum (1-p)(1-y) + \epsilon`, :math:`FP = \sum p (1-y) + \epsilon`,
    :math:`FN = \sum (1-p) y + \epsilon`.

    Parameters
    ----------
    input : array
        Probabilities, any shape.
    target : array
        Binary labels (0 or 1), of the input's shape.
    eps : float, default 1e-5
        Added to each of the four counts; >= 0.
    reduction : {"mean", "sum", "none"}
        The MCC is one statistic of the whole batch: every reduction returns it, 0-d.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``segmentation_models_pytorch.losses.MCCLoss(eps)`` (binary; it pools
    every element of the batch into the four counts). Where the denominator is 0
    (only with ``eps=0`` and a one-class target and prediction) the coefficient is 0,
    with a zero gradient, where smp gives NaN.

    The loss is that of Abhishek and Hamarneh [1]_, whose code smp's ``MCCLoss``
    follows.

    References
    ----------
    .. [1] K. Abhishek, G. Hamarneh, "Matthews Correlation Coefficient Loss for Deep
       Convolutional Networks: Application to Skin Lesion Segmentation", IEEE ISBI,
       2021. https://arxiv.org/abs/2010.13454

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> p = np.array([[0.9, 0.2, 0.7, 0.1]])
    >>> round(float(polyloss.mcc_loss(p, np.array([[1.0, 0.0, 1.0, 0.0]]))), 6)
    0.349192
    """
    check_nonnegative("eps", eps)
    xp, p, y = paired_arrays(input, target, reduction)
    tp = xp.sum(p * y) + eps
    tn = xp.sum((1.0 - p) * (1.0 - y)) + eps
    fp = xp.sum(p * (1.0 - y)) + eps
    fn = xp.sum((1.0 - p) * y) + eps
    squared = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    positive = squared > 0
    denominator = xp.sqrt(xp.where(positive, squared, 1.0))
    mcc = xp.where(positive, (tp * tn - fp * fn) / denominator, 0.0)
    return to_output(xp, reduce(xp, 1.0 - mcc, reduction), input)


LovaszSoftmaxLoss = loss_object(lovasz_softmax_loss)
LovaszHingeLoss = loss_object(lovasz_hinge_loss)
MCCLoss = loss_object(mcc_loss)
