"""Overlap losses for segmentation: Dice, Jaccard (soft IoU), Tversky, generalized Dice.

All four share one computation (:func:`_overlap_sums`): an optional activation,
``ignore_index`` pixels removed from both the prediction and the target, and
per-sample, per-class sums

.. math::

    I = \\sum p\\,t, \\qquad P = \\sum p \\;(\\text{or } \\sum p^2), \\qquad
    T = \\sum t \\;(\\text{or } \\sum t^2)

over the spatial dimensions, from which the background class is dropped on
request (and which are summed over the batch with ``batch=True``). A class-map
target is made a floating one-hot only for ``soft_label``: otherwise ``I`` sums
``p`` where the label is the class and ``T`` counts the labels (on torch's CPU, a
native kernel of gathers and scatters). Each loss is then a line of arithmetic on
``I``, ``P`` and ``T``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ._array import (
    Array,
    Namespace,
    array_namespace,
    as_compute_dtype,
    class_axis,
    compute_dtype,
    device_of,
    integer_dtype_check,
    log_sigmoid,
    log_softmax,
    one_hot,
    option_array,
    power,
    value_range,
)
from ._checks import (
    check_choice,
    check_class_indices,
    check_nonempty,
    check_nonnegative,
    check_option_shape,
    check_real,
    check_reduction,
    check_same_shape,
)
from ._native import call_native
from ._reduce import reduce, safe_divide
from ._registry import Example, Peer, given, labels, loss_object, register, uniform

__all__ = [
    "DiceLoss",
    "GeneralizedDiceLoss",
    "JaccardLoss",
    "TverskyLoss",
    "dice_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "tversky_loss",
]

ACTIVATIONS = (None, "sigmoid", "softmax")
W_TYPES = ("square", "simple", "uniform")


# --------------------------------------------------------------------------
# the shared machinery
# --------------------------------------------------------------------------


def _ratio(xp: Namespace, numerator: Array, denominator: Array) -> Array:
    """``numerator / denominator``, and 1 (two empty masks agree) where the denominator
    is 0: only when ``smooth_dr = 0`` and both the prediction and the target are empty."""
    return safe_divide(xp, numerator, denominator, otherwise=1.0)


def _activate(xp: Namespace, x: Array, activation: str | None, axis: int | None) -> Array:
    if activation == "sigmoid":
        return xp.exp(log_sigmoid(xp, x))
    if activation == "softmax":
        return xp.exp(log_softmax(xp, x, axis=axis))  # type: ignore[arg-type]
    return x


def _sum(xp: Namespace, x: Array, axes: tuple[int, ...]) -> Array:
    return xp.sum(x, axis=axes) if axes else x


class OverlapSums(NamedTuple):
    """The per-sample, per-class sums of an overlap loss (see :func:`_overlap_sums`)."""

    xp: Namespace
    intersection: Array  # I = sum p t
    prediction: Array  # P = sum p (sum p^2 with squared)
    truth: Array  # T = sum t (sum t^2 with squared)
    volume: Array  # sum t, the generalized-Dice weights' volume
    weight: Array | None  # per-class weights


_SUM_OPTIONS = (
    "axis", "activation", "squared", "batch", "include_background", "weight", "ignore_index",
    "reduction", "smooth_nr", "smooth_dr", "soft_label",
)


def _overlap_sums(name: str, input: Array, target: Array, options: Mapping[str, Any]) -> OverlapSums:
    """Validate, activate, mask and sum (through the loss `name`'s native where it has one).

    `options` holds the keyword options shared by every overlap loss (a loss passes
    its ``locals()``). The sums have shape ``(N, C)`` (``(C,)``
    with `batch`) for a class axis, ``(N,)`` (``()`` with `batch`) for
    ``axis=None``; ``C`` counts the classes left after `include_background`.
    """
    (axis, activation, squared, batch, include_background, weight, ignore_index, reduction,
     smooth_nr, smooth_dr, soft_label) = (options[key] for key in _SUM_OPTIONS)
    xp = array_namespace(input=input, target=target)
    dtype = compute_dtype(xp, input)
    check_real(xp, target, "target")
    check_reduction(reduction)
    check_choice("activation", activation, ACTIVATIONS)
    check_nonnegative("smooth_nr", smooth_nr)
    check_nonnegative("smooth_dr", smooth_dr)
    check_nonempty(input)
    x = as_compute_dtype(xp, input, dtype)

    if axis is None:
        if activation == "softmax":
            raise ValueError(
                "activation='softmax' needs a class axis; with axis=None (binary) use "
                "activation=None or 'sigmoid'"
            )
        if weight is not None:
            raise ValueError(
                "weight is per class and needs a class axis; it must be None with axis=None"
            )
        if not include_background:
            raise ValueError(
                "include_background=False needs a class axis; with axis=None it must be True"
            )
        check_same_shape(input, target)
        p = _activate(xp, x, activation, None)
        t = as_compute_dtype(xp, target, dtype)
        if ignore_index is not None:
            keep = target != ignore_index
            p = xp.where(keep, p, 0.0)
            t = xp.where(keep, t, 0.0)
        sums = _dense_sums(xp, p, t, tuple(range(1, input.ndim)), squared, soft_label)
        w = None
    else:
        if input.ndim < 2:
            raise ValueError(
                f"input of shape {tuple(input.shape)} has no class axis; overlap losses with a class "
                "axis need (N, C, ...) inputs (use axis=None for a binary (N, ...) input)"
            )
        cax = class_axis(input.ndim, axis)
        if cax == 0:
            raise ValueError(f"axis={axis} is the batch axis 0; the class axis must be another one")
        num_classes = input.shape[cax]
        if activation == "softmax" and num_classes == 1:
            raise ValueError(
                "activation='softmax' over a single class is constant 1; use activation='sigmoid' "
                "for a one-channel input"
            )
        axes = tuple(i for i in range(1, input.ndim) if i != cax)
        if target.ndim == input.ndim - 1:
            integer_dtype_check(xp, target, "target")
            expected = tuple(s for i, s in enumerate(input.shape) if i != cax)
            if tuple(target.shape) != expected:
                raise ValueError(
                    f"a class-map target must have the input's shape without the class axis {cax}: "
                    f"input.shape={tuple(input.shape)} needs target.shape={expected}; "
                    f"got target.shape={tuple(target.shape)}"
                )
            sums = _class_map_sums(
                name, xp, x, target, cax, axes, activation=activation, squared=squared,
                ignore_index=ignore_index, soft_label=soft_label,
            )
        else:
            check_same_shape(input, target)
            p = _activate(xp, x, activation, cax)
            t = as_compute_dtype(xp, target, dtype)
            if ignore_index is not None:
                if 0 <= ignore_index < num_classes:  # pixels of that class are ignored
                    pick = _classes(xp, num_classes, input.ndim, cax, device_of(t)) == ignore_index
                    keep = xp.sum(xp.where(pick, t, 0.0), axis=cax, keepdims=True) == 0
                else:  # a sentinel: unlabelled (all-zero) pixels are ignored
                    keep = xp.any(t != 0, axis=cax, keepdims=True)
                p = xp.where(keep, p, 0.0)
                t = xp.where(keep, t, 0.0)
            sums = _dense_sums(xp, p, t, axes, squared, soft_label)
        if not include_background:
            if num_classes == 1:
                raise ValueError(
                    "include_background=False drops the only class of a one-channel input"
                )
            sums = tuple(s[:, 1:] for s in sums)  # the sums are per class: drop class 0's
            num_classes -= 1
        w = option_array(xp, weight, like=sums[0], name="weight")
        check_option_shape("weight", w, (num_classes,))
    if batch:
        sums = tuple(xp.sum(s, axis=0) for s in sums)
    return OverlapSums(xp, *sums, w)


def _classes(xp: Namespace, num_classes: int, ndim: int, cax: int, device: Any) -> Array:
    """``arange(num_classes)`` shaped to broadcast along the class axis `cax`."""
    shape = [1] * ndim
    shape[cax] = num_classes
    return xp.reshape(xp.arange(num_classes, device=device), tuple(shape))


def _dense_sums(
    xp: Namespace, p: Array, t: Array, axes: tuple[int, ...], squared: bool, soft_label: bool
) -> tuple[Array, Array, Array, Array]:
    """I, P, T and the volume ``sum t`` of masked predictions and targets of one shape,
    summed over `axes`."""
    truth = _sum(xp, t, axes)
    if soft_label:
        # MONAI's soft-label sums (Wang et al., JDTLosses): from the L1 norms (the squared L2
        # norms with `squared`) of p, t and p - t, I = (|p| + |t| - |p - t|) / 2, which is
        # sum(min(p, t)) for p, t >= 0 (sum(p t) again with `squared`)
        d = p - t
        if squared:
            pred, truth_o, diff = _sum(xp, p * p, axes), _sum(xp, t * t, axes), _sum(xp, d * d, axes)
        else:
            pred, truth_o, diff = _sum(xp, xp.abs(p), axes), _sum(xp, xp.abs(t), axes), _sum(xp, xp.abs(d), axes)
        return (pred + truth_o - diff) / 2.0, pred, truth_o, truth
    intersection = _sum(xp, p * t, axes)
    pred = _sum(xp, p * p if squared else p, axes)
    truth_sq = _sum(xp, t * t, axes) if squared else truth
    return intersection, pred, truth_sq, truth


def _class_map_sums(
    name: str, xp: Namespace, x: Array, target: Array, cax: int, axes: tuple[int, ...], *,
    activation: str | None, squared: bool, ignore_index: int | None, soft_label: bool,
) -> tuple[Array, Array, Array, Array]:
    """I, P, T and the volume (T again) of scores `x` (before the activation) and an
    integer class map `target`, per sample and class, without a floating one-hot.

    ``I = sum(where(t == c, p, 0))`` and ``T = sum(t == c)`` per class; the loss's
    native kernel makes them where it has one. Out-of-range labels raise in eager
    calls; where they cannot be read (traced or lazy), the sums of their samples are NaN.
    """
    num_classes = x.shape[cax]
    bounds = value_range(xp, target)
    if bounds is not None:
        lowest, highest = bounds
        if lowest < 0 or highest >= num_classes:  # ignored pixels, or a ValueError naming target
            check_class_indices(xp, target, num_classes, ignore_index=ignore_index)
        if ignore_index is not None and not lowest <= ignore_index <= highest:
            ignore_index = None  # no pixel is ignored
    native = NotImplemented
    if not soft_label:
        native = call_native(
            name, xp, x, target, like=x, axis=cax, activation=activation, squared=squared,
            ignore_index=ignore_index,
        )
    if native is not NotImplemented:
        sums = (native[0, ...], native[1, ...], native[2, ...], native[2, ...])
    else:
        p = _activate(xp, x, activation, cax)
        if ignore_index is not None:
            kept = xp.expand_dims(target != ignore_index, axis=cax)
            p = xp.where(kept, p, 0.0)
        if soft_label:  # MONAI's sums need |p - t| on every class: the one-hot is made
            t = one_hot(xp, target, num_classes, axis=cax, dtype=p.dtype)
            if ignore_index is not None:
                t = xp.where(kept, t, 0.0)
            sums = _dense_sums(xp, p, t, axes, squared, soft_label)
        else:
            classes = _classes(xp, num_classes, x.ndim, cax, device_of(target))
            if ignore_index is not None and 0 <= ignore_index < num_classes:
                classes = xp.where(classes == ignore_index, num_classes, classes)  # that class: no pixel
            hit = xp.expand_dims(target, axis=cax) == classes
            truth = _sum(xp, xp.astype(hit, p.dtype), axes)
            sums = (_sum(xp, xp.where(hit, p, 0.0), axes), _sum(xp, p * p if squared else p, axes), truth, truth)
    if bounds is None:  # an out-of-range class under tracing: NaN, never a finite number
        invalid = (target < 0) | (target >= num_classes)
        if ignore_index is not None:
            invalid = invalid & (target != ignore_index)
        bad = xp.any(invalid, axis=tuple(range(1, target.ndim))) if target.ndim > 1 else invalid
        bad = xp.expand_dims(bad, axis=-1)
        i, p_sum, t_sum, volume = sums
        sums = (xp.where(bad, float("nan"), i), p_sum, xp.where(bad, float("nan"), t_sum),
                xp.where(bad, float("nan"), volume))
    return sums


_COMMON_DOC = """\
    input : array
        Predictions: probabilities, or logits with ``activation``. ``(N, C, ...)``
        with the class axis at `axis`; ``(N, ...)`` with ``axis=None``.
    target : array
        One-hot or soft labels of the input's shape, or (with a class axis) an
        integer class map of the input's shape without the class axis, made
        one-hot inside.
    axis : int or None, default None
        The class axis (``1`` for ``(N, C, H, W)``, ``-1`` for channel-last); it
        may not be the batch axis 0. ``None`` is the binary mode: dim 0 is the
        batch and each sample's remaining elements are pooled.
    activation : {None, "sigmoid", "softmax"}
        Applied to `input` first ("softmax" along `axis`).
    smooth_nr, smooth_dr : float, default 1.0
        Added to the numerator and the denominator of the ratio; >= 0. A ratio
        ``0/0`` (both 0 and both masks empty) counts as 1.
    squared : bool, default False
        Use :math:`\\sum p^2` and :math:`\\sum t^2` in the denominator (V-Net).
    batch : bool, default False
        Sum over the batch too before the ratio (one global score per class).
    include_background : bool, default True
        False drops class 0 (needs a class axis and at least two classes).
    weight : array_like, optional
        Per-class weights, of length C after `include_background` is applied (as
        MONAI). ``"mean"`` is :math:`\\sum w_c \\ell_c / \\sum w_c` (over samples
        too); ``"sum"`` and ``"none"`` give :math:`w_c \\ell_c`.
    ignore_index : int, optional
        Pixels whose class-map label equals it are removed from the prediction
        and target sums. With one-hot targets (as MONAI): a class index in
        ``[0, C)`` removes that class's pixels, any other value removes unlabelled
        (all-zero) pixels. With ``axis=None``: pixels whose target equals it.
    soft_label : bool, default False
        MONAI's soft-label sums: :math:`I = (\\|p\\|_1 + \\|t\\|_1 - \\|p - t\\|_1) / 2`
        (:math:`\\sum \\min(p, t)` for non-negative arrays) and :math:`P = \\|p\\|_1`,
        :math:`T = \\|t\\|_1`, so that a soft target equal to the prediction scores
        a perfect overlap (:math:`\\sum p t` does not). With hard 0/1 targets and
        probabilities in [0, 1] it changes nothing. With `squared` the sums are the
        squared L2 norms and :math:`I = \\sum p t` as without it.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the loss per sample and class, shape ``(N, C)``
        (``(C,)`` with `batch`); ``(N,)`` (0-d with `batch`) for ``axis=None``."""


_TORCH_KERNEL_DOC = """\
    On torch (CPU), a class-map target is summed by a native kernel: a one-hot made
    by one comparison, three sums, and with a softmax a closed-form backward; it
    keeps p and p t, two arrays of the input's size, for the backward."""


def _docstring(doc: str) -> str:
    return doc.replace("    {common}", _COMMON_DOC).replace("    {torch_kernel}", _TORCH_KERNEL_DOC)


# --------------------------------------------------------------------------
# the losses
# --------------------------------------------------------------------------

_DICE_EXAMPLE = Example(
    (uniform((2, 3, 4), seed=11), labels((2, 4), 3, seed=12)),
    options={"axis": 1, "activation": "softmax", "smooth_nr": 0.5, "smooth_dr": 0.5},
)


@register(
    "DiceLoss",
    family="overlap",
    peers=("monai.losses.DiceLoss", "segmentation_models_pytorch.losses.DiceLoss", "keras.losses.Dice",
           Peer("article", "DiceLoss")),
    natives=("torch",),
    example=_DICE_EXAMPLE,
)
def dice_loss(
    input: Array,
    target: Array,
    *,
    axis: int | None = None,
    activation: str | None = None,
    smooth_nr: float = 1.0,
    smooth_dr: float = 1.0,
    squared: bool = False,
    batch: bool = False,
    include_background: bool = True,
    weight: Any = None,
    ignore_index: int | None = None,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    r"""Dice loss, :math:`1 - (2I + s_{nr}) / (P + T + s_{dr})`.

    :math:`I = \sum p t`, :math:`P = \sum p` and :math:`T = \sum t` over the spatial
    dimensions of each sample and class (:math:`\sum p^2`, :math:`\sum t^2` with
    ``squared=True``).

    Parameters
    ----------
    {common}

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``monai.losses.DiceLoss`` (pass its smoothing explicitly: MONAI's
    default is ``1e-5``; ``softmax``/``sigmoid`` are `activation`, ``to_onehot_y``
    is a class-map target). The ``DiceLoss`` of the article "深度学习 ② 常用损失函数 2)" is
    ``smooth_nr=2.0, smooth_dr=1.0`` with ``axis=None``. MONAI's weighted
    ``"mean"`` divides by the number of classes, polyloss by the total weight.

    The soft Dice loss, with ``squared=True``, is that of Milletari et al.'s V-Net
    [1]_.

    {torch_kernel}

    References
    ----------
    .. [1] F. Milletari, N. Navab, S.-A. Ahmadi, "V-Net: Fully Convolutional Neural
       Networks for Volumetric Medical Image Segmentation", 3DV, 2016.
       https://arxiv.org/abs/1606.04797

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> p = np.array([[0.9, 0.8, 0.1, 0.2]])
    >>> t = np.array([[1.0, 1.0, 0.0, 0.0]])
    >>> round(float(polyloss.dice_loss(p, t)), 6)
    0.12
    """
    xp, i, p, t, volume, w = _overlap_sums("dice_loss", input, target, locals())
    loss = 1.0 - _ratio(xp, 2.0 * i + smooth_nr, p + t + smooth_dr)
    return reduce(xp, loss, reduction, weight=w, dtype=input.dtype)


_JACCARD_EXAMPLE = Example(
    (uniform((2, 3, 4), seed=21), labels((2, 4), 3, seed=22)),
    options={"axis": 1, "activation": "sigmoid", "squared": True, "weight": [1.0, 2.0, 0.5]},
)


@register(
    "JaccardLoss",
    family="overlap",
    peers=(Peer("monai", "monai.losses.DiceLoss", "jaccard=True"),
           "segmentation_models_pytorch.losses.JaccardLoss"),
    natives=("torch",),
    example=_JACCARD_EXAMPLE,
)
def jaccard_loss(
    input: Array,
    target: Array,
    *,
    axis: int | None = None,
    activation: str | None = None,
    smooth_nr: float = 1.0,
    smooth_dr: float = 1.0,
    squared: bool = False,
    batch: bool = False,
    include_background: bool = True,
    weight: Any = None,
    ignore_index: int | None = None,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    r"""Jaccard (soft IoU) loss, :math:`1 - (2I + s_{nr}) / (2(P + T - I) + s_{dr})`.

    With no smoothing this is :math:`1 - I / (P + T - I)`, the soft IoU; the factor
    2 follows MONAI, so that the smoothing terms mean what they mean for Dice.

    Parameters
    ----------
    {common}

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``monai.losses.DiceLoss(jaccard=True)``. segmentation_models_pytorch's
    ``JaccardLoss(smooth=s)`` (:math:`1 - (I + s)/(P + T - I + s)`) is
    ``smooth_nr = smooth_dr = 2s``.

    The soft IoU as a loss to optimise directly is that of Rahman and Wang [1]_.

    {torch_kernel}

    References
    ----------
    .. [1] M. A. Rahman, Y. Wang, "Optimizing Intersection-Over-Union in Deep Neural
       Networks for Image Segmentation", ISVC, 2016.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> p = np.array([[0.9, 0.8, 0.1, 0.2]])
    >>> t = np.array([[1.0, 1.0, 0.0, 0.0]])
    >>> round(float(polyloss.jaccard_loss(p, t, smooth_nr=0.0, smooth_dr=0.0)), 6)
    0.26087
    """
    xp, i, p, t, volume, w = _overlap_sums("jaccard_loss", input, target, locals())
    loss = 1.0 - _ratio(xp, 2.0 * i + smooth_nr, 2.0 * (p + t - i) + smooth_dr)
    return reduce(xp, loss, reduction, weight=w, dtype=input.dtype)


_TVERSKY_EXAMPLE = Example(
    (uniform((2, 3, 2, 2), seed=31), labels((2, 2, 2), 3, seed=32, ignored=(3,))),
    options={"axis": 1, "activation": "softmax", "alpha": 0.3, "beta": 0.7, "gamma": 1.5, "ignore_index": -100},
)


@register("TverskyLoss", family="overlap", peers=("monai.losses.TverskyLoss",), natives=("torch",),
          example=_TVERSKY_EXAMPLE)
def tversky_loss(
    input: Array,
    target: Array,
    *,
    axis: int | None = None,
    activation: str | None = None,
    alpha: float = 0.5,
    beta: float = 0.5,
    gamma: float = 1.0,
    smooth_nr: float = 1.0,
    smooth_dr: float = 1.0,
    squared: bool = False,
    batch: bool = False,
    include_background: bool = True,
    weight: Any = None,
    ignore_index: int | None = None,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    r"""Tversky loss, :math:`(1 - TI)^\gamma`, :math:`TI = (I + s_{nr}) / (I + \alpha FP + \beta FN + s_{dr})`.

    :math:`FP = P - I = \sum p(1 - t)` and :math:`FN = T - I = \sum (1 - p) t`.
    ``gamma != 1`` is the focal Tversky loss (Abraham and Khan, 2019); it is
    computed as :math:`\exp(\gamma \log(1 - TI))` with a finite gradient at
    :math:`TI = 1`, and a negative :math:`1 - TI` (possible only when
    ``smooth_nr > smooth_dr``) counts as 0 then.

    Parameters
    ----------
    alpha : float, default 0.5
        Weight of the false positives; >= 0.
    beta : float, default 0.5
        Weight of the false negatives; >= 0.
    gamma : float, default 1.0
        Focal exponent on :math:`1 - TI`; >= 0.
    {common}

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``monai.losses.TverskyLoss`` (``gamma=1``). With ``alpha = beta = 0.5``,
    ``tversky_loss(smooth_nr=s, smooth_dr=s)`` equals
    ``dice_loss(smooth_nr=2s, smooth_dr=2s)``.

    The Tversky index as a loss, trading false positives against false negatives
    for unbalanced segmentation, is that of Salehi et al. [1]_.

    {torch_kernel}

    References
    ----------
    .. [1] S. S. M. Salehi, D. Erdogmus, A. Gholipour, "Tversky loss function for
       image segmentation using 3D fully convolutional deep networks", MLMI, 2017.
       https://arxiv.org/abs/1706.05721

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> p = np.array([[0.9, 0.8, 0.1, 0.2]])
    >>> t = np.array([[1.0, 1.0, 0.0, 0.0]])
    >>> round(float(polyloss.tversky_loss(p, t, alpha=0.3, beta=0.7, smooth_nr=0.0, smooth_dr=0.0)), 6)
    0.15
    """
    check_nonnegative("alpha", alpha)
    check_nonnegative("beta", beta)
    check_nonnegative("gamma", gamma)
    xp, i, p, t, volume, w = _overlap_sums("tversky_loss", input, target, locals())
    index = _ratio(xp, i + smooth_nr, i + alpha * (p - i) + beta * (t - i) + smooth_dr)
    loss = power(xp, 1.0 - index, gamma)
    return reduce(xp, loss, reduction, weight=w, dtype=input.dtype)


_GDL_EXAMPLE = Example(
    (
        uniform((3, 3, 4), seed=41),
        # class 2 absent from sample 0, 0 and 2 from sample 2
        given([[0, 1, 1, 0], [2, 2, 0, 2], [1, 1, 1, 1]], integer=True),
    ),
    options={"axis": 1, "activation": "softmax", "w_type": "square"},
)


def _class_weights(xp: Namespace, volume: Array, w_type: str, batch: bool) -> Array:
    """Sudre et al.'s class weights ``1 / T`` or ``1 / T²``; an absent class (an infinite
    weight) takes the largest finite weight of its sample (of the batch with `batch`),
    as MONAI does."""
    if w_type == "uniform":
        return xp.ones_like(volume)
    q = volume * volume if w_type == "square" else volume
    absent = q == 0
    raw = 1.0 / xp.where(absent, 1.0, q)
    absent = absent | xp.isinf(raw)
    finite = xp.where(absent, 0.0, raw)
    largest = xp.max(finite) if batch else xp.max(finite, axis=-1, keepdims=True)
    return xp.where(absent, largest, finite)


@register(
    "GeneralizedDiceLoss",
    family="overlap",
    peers=("monai.losses.GeneralizedDiceLoss",),
    natives=("torch",),
    example=_GDL_EXAMPLE,
)
def generalized_dice_loss(
    input: Array,
    target: Array,
    *,
    axis: int | None = None,
    activation: str | None = None,
    w_type: str = "square",
    smooth_nr: float = 1.0,
    smooth_dr: float = 1.0,
    squared: bool = False,
    batch: bool = False,
    include_background: bool = True,
    weight: Any = None,
    ignore_index: int | None = None,
    soft_label: bool = False,
    reduction: str = "mean",
) -> Array:
    r"""Generalized Dice loss (Sudre et al., 2017), :math:`1 - (2\sum_c w_c I_c + s_{nr}) / (\sum_c w_c (P_c + T_c) + s_{dr})`.

    The class weights come from the target volume :math:`V_c = \sum t_c`:
    :math:`w_c = 1/V_c^2` (``"square"``), :math:`1/V_c` (``"simple"``) or 1
    (``"uniform"``). A class absent from a sample (:math:`V_c = 0`, an infinite
    weight) takes the largest finite weight of that sample, or of the batch with
    ``batch=True``, as in MONAI. A per-class `weight` multiplies :math:`w_c`.

    Parameters
    ----------
    w_type : {"square", "simple", "uniform"}
        How the class weights follow from the target volume.
    {common}

    Returns
    -------
    array
        In the input's namespace, device and floating dtype. The classes are
        combined inside the ratio, so ``reduction="none"`` gives one loss per
        sample, shape ``(N,)`` (0-d with ``batch=True``).

    Notes
    -----
    Matches ``monai.losses.GeneralizedDiceLoss`` (MONAI computes the weights in
    float32; polyloss in the input's dtype).

    The loss and its class weights are those of Sudre et al. [1]_.

    {torch_kernel}

    References
    ----------
    .. [1] C. H. Sudre, W. Li, T. Vercauteren, S. Ourselin, M. J. Cardoso, "Generalised
       Dice overlap as a deep learning loss function for highly unbalanced
       segmentations", DLMIA, 2017. https://arxiv.org/abs/1707.03237

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> p = np.array([[[0.9, 0.8, 0.1, 0.2], [0.1, 0.2, 0.9, 0.8]]])
    >>> t = np.array([[0, 0, 1, 1]])
    >>> round(float(polyloss.generalized_dice_loss(p, t, axis=1, smooth_nr=0.0, smooth_dr=0.0)), 6)
    0.15
    """
    check_choice("w_type", w_type, W_TYPES)
    if axis is None and weight is not None:
        raise ValueError(
            "weight is per class and needs a class axis; it must be None with axis=None"
        )
    xp, i, p, t, volume, w = _overlap_sums("generalized_dice_loss", input, target, locals())
    if axis is None:  # one class per sample: the weight then only scales against the smoothing
        # (no generator here: it would make xp a cell, which locals() above reads unset
        # under torch.compile)
        i, p = xp.expand_dims(i, axis=-1), xp.expand_dims(p, axis=-1)
        t, volume = xp.expand_dims(t, axis=-1), xp.expand_dims(volume, axis=-1)
    cw = _class_weights(xp, volume, w_type, batch)
    if w is not None:
        cw = cw * w
    numerator = 2.0 * xp.sum(cw * i, axis=-1)
    denominator = xp.sum(cw * (p + t), axis=-1)
    loss = 1.0 - _ratio(xp, numerator + smooth_nr, denominator + smooth_dr)
    return reduce(xp, loss, reduction, dtype=input.dtype)


for _f in (dice_loss, jaccard_loss, tversky_loss, generalized_dice_loss):
    _f.__doc__ = _docstring(_f.__doc__ or "")

DiceLoss = loss_object(dice_loss)
JaccardLoss = loss_object(jaccard_loss)
TverskyLoss = loss_object(tversky_loss)
GeneralizedDiceLoss = loss_object(generalized_dice_loss)
