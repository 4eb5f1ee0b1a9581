"""Margin losses: hinge, squared hinge, categorical and multi-class hinge, multi-margin,
multi-label margin, soft margin, hinge embedding, perceptron.

Every :math:`\\max(0, \\cdot)` is ``xp.clip(., min=0.0)`` (``maximum`` with a Python
scalar breaks a torch.compile graph). Binary targets are ±1; ``hinge_loss`` and
``squared_hinge_loss`` also take 0/1 targets, converted as Keras does. The
class-indexed losses validate their indices as ``cross_entropy`` does: a ``ValueError``
naming the index in eager calls, NaN under tracing.
"""

from __future__ import annotations

from typing import Any

from ._array import (
    Array,
    Namespace,
    along_axis,
    array_namespace,
    as_compute_dtype,
    class_axis,
    compute_dtype,
    cumulative_sum,
    device_of,
    integer_dtype_check,
    option_array,
    softplus,
    take_1d,
    take_class,
    value_range,
)
from ._checks import (
    check_broadcastable,
    check_choice,
    check_nonempty,
    check_number,
    check_reduction,
    check_same_shape,
    paired_arrays,
)
from ._indexed import class_indexed_args, index_masks, reduce_indexed
from ._reduce import reduce
from ._registry import Example, Peer, binary, given, labels, loss_object, register, uniform

__all__ = [
    "CategoricalHingeLoss",
    "HingeEmbeddingLoss",
    "HingeLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "MulticlassHingeLoss",
    "MulticlassPerceptronLoss",
    "PerceptronLoss",
    "SoftMarginLoss",
    "SquaredHingeLoss",
    "categorical_hinge_loss",
    "hinge_embedding_loss",
    "hinge_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "perceptron_loss",
    "soft_margin_loss",
    "squared_hinge_loss",
]

_NAN = float("nan")


# --------------------------------------------------------------------------
# binary hinge losses (Keras, optax)
# --------------------------------------------------------------------------


def _hinge_margin(xp: Namespace, x: Array, y: Array) -> Array:
    """``max(0, 1 - y x)`` with 0/1 targets converted to ±1 as Keras does.

    Keras' ``convert_binary_labels_to_hinge`` maps ``y -> 2y - 1`` when *every*
    target is 0 or 1 and leaves the targets as they are otherwise; the test is one
    reduction and a ``where``, so it traces (jit, torch.compile, Dask) like the rest.
    """
    binary01 = xp.all((y == 0.0) | (y == 1.0))
    y = xp.where(binary01, 2.0 * y - 1.0, y)
    return xp.clip(1.0 - y * x, min=0.0)


_HINGE_EXAMPLE = Example((uniform((4, 5), seed=81), binary((4, 5), seed=82, low=-1.0)))


@register(
    "HingeLoss",
    family="margin",
    peers=(
        Peer("optax", "optax.losses.hinge_loss", "±1 targets; 0/1 not converted"),
        Peer("keras", "keras.losses.Hinge", "mean over the last axis, then the batch"),
    ),
    example=_HINGE_EXAMPLE,
)
def hinge_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Hinge loss, :math:`\ell = \max(0,\, 1 - y x)`.

    Parameters
    ----------
    input : array
        Scores (decision values), any shape.
    target : array
        Labels ±1, of the input's shape. Labels that are all 0 or 1 are converted to
        ±1 (:math:`y \to 2y - 1`), as in Keras.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``optax.losses.hinge_loss`` (the ``"none"`` form) for ±1 targets, and
    ``keras.losses.Hinge``: Keras averages the last axis, then the batch, which is the
    ``"mean"`` here. The 0/1 conversion is Keras' rule: it applies when *every* target
    is 0 or 1 (a target array mixing -1, 0 and 1 is used as it is). optax converts
    nothing, so on 0/1 targets it gives :math:`\max(0, 1 - y x)` with :math:`y = 0`
    (the value 1) where polyloss and Keras give :math:`\max(0, 1 + x)`.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([2.0, 0.5, -0.5])
    >>> polyloss.hinge_loss(x, np.array([1.0, 1.0, 1.0]), reduction="none")
    array([0. , 0.5, 1.5])
    >>> polyloss.hinge_loss(x, np.array([1.0, 0.0, 0.0]), reduction="none")  # 0/1 labels
    array([0. , 1.5, 0.5])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    return reduce(xp, _hinge_margin(xp, x, y), reduction, dtype=input.dtype)


@register(
    "SquaredHingeLoss",
    family="margin",
    peers=(Peer("keras", "keras.losses.SquaredHinge", "mean over the last axis, then the batch"),),
    example=Example((uniform((4, 5), seed=83), binary((4, 5), seed=84))),
)
def squared_hinge_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Squared hinge loss, :math:`\ell = \max(0,\, 1 - y x)^2`.

    Parameters
    ----------
    input : array
        Scores (decision values), any shape.
    target : array
        Labels ±1, of the input's shape. Labels that are all 0 or 1 are converted to
        ±1 (:math:`y \to 2y - 1`), as in Keras.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``keras.losses.SquaredHinge`` (whose mean over the last axis, then the
    batch, is the ``"mean"`` here), 0/1 conversion included: see :func:`hinge_loss`.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([2.0, 0.5, -0.5])
    >>> polyloss.squared_hinge_loss(x, np.array([1.0, -1.0, 1.0]), reduction="none")
    array([0.  , 2.25, 2.25])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    m = _hinge_margin(xp, x, y)
    return reduce(xp, m * m, reduction, dtype=input.dtype)


@register(
    "PerceptronLoss",
    family="margin",
    peers=("optax.losses.perceptron_loss",),
    example=Example((uniform((4, 5), seed=85), binary((4, 5), seed=86, low=-1.0))),
)
def perceptron_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Binary perceptron loss, :math:`\ell = \max(0,\, -y x)`.

    Parameters
    ----------
    input : array
        Scores (decision values), any shape.
    target : array
        Labels ±1, of the input's shape (used as they are: no 0/1 conversion).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``optax.losses.perceptron_loss`` (the ``"none"`` form).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.perceptron_loss(np.array([2.0, 0.5, -0.5]), np.array([1.0, -1.0, 1.0]), reduction="none")
    array([0. , 0.5, 0.5])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    return reduce(xp, xp.clip(-(y * x), min=0.0), reduction, dtype=input.dtype)


@register(
    "SoftMarginLoss",
    family="margin",
    peers=("torch.nn.functional.soft_margin_loss",),
    example=Example((uniform((4, 5), seed=87), binary((4, 5), seed=88, low=-1.0))),
)
def soft_margin_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Soft margin (logistic) loss, :math:`\ell = \log(1 + e^{-y x})`.

    Computed as :math:`\operatorname{softplus}(-y x)`, finite for any margin.

    Parameters
    ----------
    input : array
        Scores (logits), any shape.
    target : array
        Labels ±1, of the input's shape.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.soft_margin_loss``, except where torch's
    ``log1p(exp(-y x))`` overflows (:math:`-y x` above about 88 in float32, 709 in
    float64): torch gives ``inf``, polyloss the finite :math:`-y x`.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> polyloss.soft_margin_loss(np.array([2.0, 0.0, -1e4]), np.array([1.0, -1.0, 1.0]), reduction="none")
    array([1.26928011e-01, 6.93147181e-01, 1.00000000e+04])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    return reduce(xp, softplus(xp, -(y * x)), reduction, dtype=input.dtype)


@register(
    "HingeEmbeddingLoss",
    family="margin",
    peers=("torch.nn.functional.hinge_embedding_loss",),
    example=Example((uniform((4, 5), seed=89, low=0.0, high=3.0), binary((4, 5), seed=90, low=-1.0)),
                    options={"margin": 2.0}),
)
def hinge_embedding_loss(input: Array, target: Array, *, margin: float = 1.0, reduction: str = "mean") -> Array:
    r"""Hinge embedding loss: :math:`x` where :math:`y = 1`, :math:`\max(0,\, \text{margin} - x)` where :math:`y = -1`.

    Parameters
    ----------
    input : array
        Distances (usually non-negative), any shape.
    target : array
        Labels ±1, of the input's shape. As in torch, a label that is neither gives
        the sum of both terms.
    margin : float, default 1.0
        The margin of the dissimilar pairs (any finite number).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the input's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.hinge_embedding_loss``, built as torch builds it:
    :math:`[y \ne 1]\max(0, \text{margin} - x) + [y \ne -1]\, x`.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([0.3, 0.3, 1.5])
    >>> polyloss.hinge_embedding_loss(x, np.array([1.0, -1.0, -1.0]), reduction="none")
    array([0.3, 0.7, 0. ])
    """
    check_number("margin", margin)
    xp, x, y = paired_arrays(input, target, reduction)
    loss = xp.where(y != 1.0, xp.clip(margin - x, min=0.0), 0.0) + xp.where(y != -1.0, x, 0.0)
    return reduce(xp, loss, reduction, dtype=input.dtype)


# --------------------------------------------------------------------------
# multi-class margin losses
# --------------------------------------------------------------------------


def _class_axis_of(x: Array, axis: int) -> int:
    """The class axis as :func:`class_indexed_args` finds it: an unbatched ``(C,)`` input
    has its classes on axis 0."""
    if x.ndim == 0:
        raise ValueError("input must have a class axis; got a 0-d array")
    return 0 if x.ndim == 1 and axis in (0, 1, -1) else class_axis(x.ndim, axis)


def _is_class(xp: Namespace, index: Array, num_classes: int, ndim: int, axis: int) -> Array:
    """A boolean mask, True at class ``index`` along `axis` of an `ndim`-dimensional array."""
    classes = xp.arange(num_classes, dtype=index.dtype, device=device_of(index))
    return along_axis(xp, classes, ndim, axis) == xp.expand_dims(index, axis=axis)


@register(
    "CategoricalHingeLoss",
    family="margin",
    peers=(Peer("keras", "keras.losses.CategoricalHinge", "classes on the last axis"),),
    example=Example((
        uniform((4, 3), seed=91),
        given([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
    )),
)
def categorical_hinge_loss(input: Array, target: Array, *, axis: int = 1, reduction: str = "mean") -> Array:
    r"""Categorical hinge loss, :math:`\ell = \max(0,\, 1 + \max_c (1 - t_c) x_c - \sum_c t_c x_c)`.

    Parameters
    ----------
    input : array
        Scores, ``(N, C, d1, ..., dk)`` with the class axis at `axis`, or ``(C,)``.
    target : array
        One-hot labels (or ±1 labels), of the input's shape.
    axis : int, default 1
        The class axis.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-sample losses, of the input's shape without the
        class axis.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``keras.losses.CategoricalHinge`` (whose classes are on the last axis:
    pass ``axis=-1``), including its "negative" term
    :math:`\max_c (1 - t_c) x_c`: the target class enters it as 0, so when every
    other score is negative the negative term is 0, not the largest other score (the
    Crammer–Singer loss, :func:`multiclass_hinge_loss`, takes the largest other score).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.5]])
    >>> t = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    >>> polyloss.categorical_hinge_loss(x, t, reduction="none")
    array([0., 2.])
    """
    xp, x, t = paired_arrays(input, target, reduction)
    ax = _class_axis_of(x, axis)
    pos = xp.sum(t * x, axis=ax)
    neg = xp.max((1.0 - t) * x, axis=ax)
    return reduce(xp, xp.clip(neg - pos + 1.0, min=0.0), reduction, dtype=input.dtype)


@register(
    "MultiMarginLoss",
    family="margin",
    peers=(Peer("torch", "torch.nn.functional.multi_margin_loss", "(N, C) or (C,) only; axis=1"),),
    example=Example(
        (uniform((3, 2, 4), seed=93), labels((3, 2), 4, seed=94)),
        options={"p": 2, "margin": 0.5, "weight": [0.5, 1.0, 2.0, 1.5], "axis": -1},
    ),
)
def multi_margin_loss(
    input: Array,
    target: Array,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    axis: int = 1,
    reduction: str = "mean",
) -> Array:
    r"""Multi-class margin loss, :math:`\ell = \frac{w_y}{C} \sum_{c \ne y} \max(0,\, \text{margin} - x_y + x_c)^p`.

    Parameters
    ----------
    input : array
        Scores, ``(N, C, d1, ..., dk)`` with the class axis at `axis`, or ``(C,)``.
    target : array
        Integer class indices, of the input's shape without the class axis.
    p : {1, 2}, default 1
        The power of each hinge term.
    margin : float, default 1.0
        The margin (any finite number).
    weight : array_like, optional
        Class weights, of length C; :math:`w_y` scales the sample's loss.
    axis : int, default 1
        The class axis.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides by the number of samples (not by the total weight, as
        torch). ``"none"`` returns the per-sample losses, of the target's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    ValueError
        A class index outside ``[0, C)`` (eager calls; NaN under tracing).

    Notes
    -----
    Matches ``torch.nn.functional.multi_margin_loss``, which takes ``(N, C)`` or
    ``(C,)`` only; polyloss also takes extra dimensions and a class axis. It sums the
    hinge terms of the other classes and divides by C; optax's Crammer–Singer loss
    (:func:`multiclass_hinge_loss`) takes their maximum instead.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.5]])
    >>> polyloss.multi_margin_loss(x, np.array([0, 2]), reduction="none")
    array([0.        , 0.66666667])
    """
    check_number("p", p)
    check_choice("p", p, (1, 2))
    check_number("margin", margin)
    xp, x, target, ax, num_classes, _, w = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=weight, allow_probabilities=False
    )
    masks = index_masks(xp, target, num_classes, None)
    x_y = xp.expand_dims(take_class(xp, x, masks.safe, axis=ax), axis=ax)
    h = xp.clip(margin - x_y + x, min=0.0)
    if p == 2:
        h = h * h
    others = xp.where(_is_class(xp, masks.safe, num_classes, x.ndim, ax), 0.0, h)
    loss = xp.sum(others, axis=ax) / num_classes
    if w is not None:
        loss = loss * take_1d(xp, w, masks.safe)
    return reduce_indexed(xp, loss, reduction, masks, target_weight=None, like=input)


_MULTICLASS_EXAMPLE = Example((uniform((4, 3, 2), seed=95), labels((4, 2), 3, seed=96)))


@register(
    "MulticlassHingeLoss",
    family="margin",
    peers=(Peer("optax", "optax.losses.multiclass_hinge_loss", "classes on the last axis"),),
    example=_MULTICLASS_EXAMPLE,
)
def multiclass_hinge_loss(input: Array, target: Array, *, axis: int = 1, reduction: str = "mean") -> Array:
    r"""Multi-class (Crammer–Singer) hinge loss, :math:`\ell = \max_c (x_c + [c \ne y]) - x_y`.

    Parameters
    ----------
    input : array
        Scores, ``(N, C, d1, ..., dk)`` with the class axis at `axis`, or ``(C,)``.
    target : array
        Integer class indices, of the input's shape without the class axis.
    axis : int, default 1
        The class axis.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-sample losses, of the target's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    ValueError
        A class index outside ``[0, C)`` (eager calls; NaN under tracing).

    Notes
    -----
    Matches ``optax.losses.multiclass_hinge_loss`` (classes on the last axis: pass
    ``axis=-1``; its ``"none"`` form). optax one-hot encodes an out-of-range label to
    zeros and returns a finite number; polyloss raises or gives NaN. It is
    :math:`\max(0, 1 + \max_{c \ne y} x_c - x_y)`, the largest violation, where torch's
    :func:`multi_margin_loss` averages the violations over the classes.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.5]])
    >>> polyloss.multiclass_hinge_loss(x, np.array([0, 2]), reduction="none")
    array([0. , 1.5])
    """
    xp, x, target, ax, num_classes, _, _ = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=None, allow_probabilities=False
    )
    masks = index_masks(xp, target, num_classes, None)
    is_y = _is_class(xp, masks.safe, num_classes, x.ndim, ax)
    loss = xp.max(xp.where(is_y, x, x + 1.0), axis=ax) - take_class(xp, x, masks.safe, axis=ax)
    return reduce_indexed(xp, loss, reduction, masks, target_weight=None, like=input)


@register(
    "MulticlassPerceptronLoss",
    family="margin",
    peers=(Peer("optax", "optax.losses.multiclass_perceptron_loss", "classes on the last axis"),),
    example=Example((uniform((4, 3, 2), seed=97), labels((4, 2), 3, seed=98))),
)
def multiclass_perceptron_loss(input: Array, target: Array, *, axis: int = 1, reduction: str = "mean") -> Array:
    r"""Multi-class perceptron loss, :math:`\ell = \max_c x_c - x_y`.

    Parameters
    ----------
    input : array
        Scores, ``(N, C, d1, ..., dk)`` with the class axis at `axis`, or ``(C,)``.
    target : array
        Integer class indices, of the input's shape without the class axis.
    axis : int, default 1
        The class axis.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-sample losses, of the target's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    ValueError
        A class index outside ``[0, C)`` (eager calls; NaN under tracing).

    Notes
    -----
    Matches ``optax.losses.multiclass_perceptron_loss`` (classes on the last axis: pass
    ``axis=-1``; its ``"none"`` form). optax gives a finite number for an
    out-of-range label; polyloss raises or gives NaN.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.5]])
    >>> polyloss.multiclass_perceptron_loss(x, np.array([0, 2]), reduction="none")
    array([0. , 0.5])
    """
    xp, x, target, ax, num_classes, _, _ = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=None, allow_probabilities=False
    )
    masks = index_masks(xp, target, num_classes, None)
    loss = xp.max(x, axis=ax) - take_class(xp, x, masks.safe, axis=ax)
    return reduce_indexed(xp, loss, reduction, masks, target_weight=None, like=input)


# --------------------------------------------------------------------------
# multi-label margin losses (torch)
# --------------------------------------------------------------------------


def _check_label_lists(xp: Namespace, target: Array, num_classes: int) -> None:
    """In eager calls, raise ValueError naming an entry outside ``[-1, num_classes)``
    (torch refuses them anywhere in the list, after the first -1 too)."""
    bounds = value_range(xp, target)
    if bounds is None or (bounds[0] >= -1 and bounds[1] < num_classes):
        return
    offending = bounds[1] if bounds[1] >= num_classes else bounds[0]
    raise ValueError(
        f"target holds class index {offending}, outside [0, {num_classes}) and not -1 "
        "(which ends a sample's list of labels)"
    )


@register(
    "MultiLabelMarginLoss",
    family="margin",
    peers=("torch.nn.functional.multilabel_margin_loss",),
    example=Example((
        uniform((3, 4), seed=99),
        given([[3, 0, -1, 1], [1, 2, 2, -1], [0, 1, 2, 3]], integer=True),
    )),
)
def multilabel_margin_loss(input: Array, target: Array, *, reduction: str = "mean") -> Array:
    r"""Multi-label margin loss, :math:`\ell = \frac{1}{C} \sum_{j} \sum_{c \notin Y} \max(0,\, 1 - x_{y_j} + x_c)`.

    :math:`y_j` runs over the target's entries before its first -1 and :math:`Y` is
    the set of those labels.

    Parameters
    ----------
    input : array
        Scores, ``(..., C)``: classes on the last axis, as in torch.
    target : array
        Integer labels of the input's shape: each sample's label indices, ended by
        -1 (what follows the first -1 is not read, but must be in ``[-1, C)``).
    reduction : {"mean", "sum", "none"}
        ``"mean"`` averages over the samples. ``"none"`` returns the per-sample
        losses, of the input's shape without the last axis.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    ValueError
        An entry outside ``[-1, C)`` (eager calls; the sample's loss is NaN under
        tracing).

    Notes
    -----
    Matches ``torch.nn.functional.multilabel_margin_loss`` (which takes ``(N, C)``
    or ``(C,)`` only), repeated labels included: a label listed twice counts twice,
    as in torch. Built from ``(..., C, C)`` pairwise terms.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[0.5, 0.25, 1.0, 2.0]])
    >>> float(polyloss.multilabel_margin_loss(x, np.array([[3, 0, -1, 1]])))  # labels 3 and 0
    0.5625
    """
    xp = array_namespace(input=input, target=target)
    dtype = compute_dtype(xp, input)
    check_reduction(reduction)
    integer_dtype_check(xp, target, "target")
    if input.ndim == 0:
        raise ValueError("input must have a class axis; got a 0-d array")
    check_same_shape(input, target)
    check_nonempty(input)
    num_classes = input.shape[-1]
    _check_label_lists(xp, target, num_classes)
    x = as_compute_dtype(xp, input, dtype)
    # entries before the first negative one count; `safe` is 0 elsewhere
    counted = cumulative_sum(xp, xp.astype(target < 0, xp.int32), axis=-1) == 0
    safe = xp.where(counted & (target < num_classes), target, 0)
    # pairwise (..., j, c): whether label j is class c
    classes = xp.arange(num_classes, dtype=safe.dtype, device=device_of(safe))
    label_is = (xp.expand_dims(safe, axis=-1) == classes) & xp.expand_dims(counted, axis=-1)
    is_label = xp.any(label_is, axis=-2)  # (..., c): class c is a label
    x_label = xp.sum(xp.where(label_is, xp.expand_dims(x, axis=-2), 0.0), axis=-1)  # x at label j
    terms = xp.clip(1.0 - xp.expand_dims(x_label, axis=-1) + xp.expand_dims(x, axis=-2), min=0.0)
    keep = xp.expand_dims(counted, axis=-1) & xp.expand_dims(~is_label, axis=-2)
    loss = xp.sum(xp.sum(xp.where(keep, terms, 0.0), axis=-1), axis=-1) / num_classes
    invalid = xp.any((target < -1) | (target >= num_classes), axis=-1)
    loss = xp.where(invalid, _NAN, loss)
    return reduce(xp, loss, reduction, dtype=input.dtype)


@register(
    "MultiLabelSoftMarginLoss",
    family="margin",
    peers=("torch.nn.functional.multilabel_soft_margin_loss",),
    example=Example((uniform((4, 3), seed=101), binary((4, 3), seed=102)), options={"weight": [0.5, 1.0, 2.0]}),
)
def multilabel_soft_margin_loss(
    input: Array, target: Array, *, weight: Any = None, reduction: str = "mean"
) -> Array:
    r"""Multi-label soft margin loss,
    :math:`\ell = -\frac{1}{C} \sum_c w_c\, [y_c \log \sigma(x_c) + (1 - y_c) \log \sigma(-x_c)]`.

    Computed as :math:`\frac{1}{C} \sum_c w_c\, [(1 - y_c)\, x_c + \operatorname{softplus}(-x_c)]`,
    finite for any logit.

    Parameters
    ----------
    input : array
        Logits, ``(..., C)``: classes on the last axis, as in torch.
    target : array
        Labels in ``[0, 1]``, of the input's shape.
    weight : array_like, optional
        Weights broadcastable to the input's shape (one per class: length C).
    reduction : {"mean", "sum", "none"}
        ``"mean"`` averages over the samples. ``"none"`` returns the per-sample
        losses, of the input's shape without the last axis.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.multilabel_soft_margin_loss``.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x = np.array([[2.0, -1.0, 0.0]])
    >>> polyloss.multilabel_soft_margin_loss(x, np.array([[1.0, 0.0, 1.0]]), reduction="none")
    array([0.37777896])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    if x.ndim == 0:
        raise ValueError("input must have a class axis; got a 0-d array")
    w = option_array(xp, weight, like=x, name="weight")
    check_broadcastable("weight", w, tuple(x.shape))
    loss = (1.0 - y) * x + softplus(xp, -x)
    if w is not None:
        loss = loss * w
    loss = xp.sum(loss, axis=-1) / x.shape[-1]
    return reduce(xp, loss, reduction, dtype=input.dtype)


HingeLoss = loss_object(hinge_loss)
SquaredHingeLoss = loss_object(squared_hinge_loss)
PerceptronLoss = loss_object(perceptron_loss)
SoftMarginLoss = loss_object(soft_margin_loss)
HingeEmbeddingLoss = loss_object(hinge_embedding_loss)
CategoricalHingeLoss = loss_object(categorical_hinge_loss)
MultiMarginLoss = loss_object(multi_margin_loss)
MulticlassHingeLoss = loss_object(multiclass_hinge_loss)
MulticlassPerceptronLoss = loss_object(multiclass_perceptron_loss)
MultiLabelMarginLoss = loss_object(multilabel_margin_loss)
MultiLabelSoftMarginLoss = loss_object(multilabel_soft_margin_loss)
