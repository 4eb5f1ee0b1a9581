"""Ranking and metric-learning losses: margin ranking, cosine embedding, triplet margin,
NT-Xent, ranking softmax.

Every distance here is finite in value and gradient where it reaches 0 (equal
embeddings, zero vectors): a double ``where`` keeps ``sqrt`` and fractional powers from
ever seeing 0, and the gradient there is 0, as torch's ``norm`` backward gives it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._array import (
    Array,
    Namespace,
    array_namespace,
    as_compute_dtype,
    class_axis,
    compute_dtype,
    device_of,
    dtype_kind,
    integer_dtype_check,
    is_eager,
    log_softmax,
    option_array,
    power,
    stop_gradient,
)
from ._checks import (
    check_broadcastable,
    check_flag,
    check_nonempty,
    check_nonnegative,
    check_number,
    check_reduction,
    check_same_shape,
    paired_arrays,
)
from ._reduce import reduce
from ._registry import Example, binary, given, loss_object, register, uniform

__all__ = [
    "CosineEmbeddingLoss",
    "MarginRankingLoss",
    "NTXentLoss",
    "RankingSoftmaxLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "ntxent_loss",
    "ranking_softmax_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

_NAN = float("nan")
#: torch's ``EPSILON`` in ``cosine_embedding_loss`` (ATen Loss.cpp), added to each squared norm.
_COSINE_EPSILON = 1e-12
#: torch's ``pairwise_distance`` default, the distance of ``triplet_margin_with_distance_loss``.
_PAIRWISE_EPS = 1e-6


# --------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------


def _floating(reduction: str, **arrays: Array) -> tuple[Namespace, Any]:
    """The namespace of the named floating arrays (one namespace and device), a known
    reduction, and the compute dtype of the first array."""
    xp = array_namespace(**arrays)
    dtypes = [compute_dtype(xp, x, name) for name, x in arrays.items()]
    check_reduction(reduction)
    return xp, dtypes[0]


def _same_shapes(**arrays: Array) -> None:
    """Raise ValueError, naming both shapes, unless the named arrays share one shape,
    and for an empty one."""
    (first, a), *rest = arrays.items()
    for name, b in rest:
        check_same_shape(a, b, names=(first, name))
    check_nonempty(a, first)


def _sign_target(xp: Namespace, target: Array, dtype: Any) -> tuple[Array, Array | None]:
    """A ±1 target in the compute dtype, and where it is ±1: None when the values were
    read and are all ±1 (eager calls raise ValueError naming an offending value)."""
    if dtype_kind(xp, target.dtype) not in ("real floating", "integral"):
        raise TypeError(f"target must hold labels 1 and -1 in an integer or floating array, got dtype {target.dtype}")
    t = as_compute_dtype(xp, target, dtype)
    valid = (t == 1.0) | (t == -1.0)
    if not is_eager(xp, valid):  # a traced or lazy target, or a concrete one inside a trace
        return t, valid
    if not bool(xp.all(valid)):
        offending = float(xp.max(xp.where(valid, -math.inf, t)))
        raise ValueError(f"target must hold labels 1 and -1; got {offending!r}")
    return t, None


def _signed_pair(input1: Array, input2: Array, target: Array, reduction: str, *, vectors: bool):
    """The checks of a loss of two floating arrays and a ±1 target: the namespace, both
    inputs and the target in the compute dtype, and where the target is ±1 (or None).

    With `vectors` the target has the inputs' shape without their last axis."""
    xp = array_namespace(input1=input1, input2=input2, target=target)
    dtype = compute_dtype(xp, input1, "input1")
    compute_dtype(xp, input2, "input2")
    check_reduction(reduction)
    _same_shapes(input1=input1, input2=input2)
    if vectors and input1.ndim == 0:
        raise ValueError("input1 and input2 must have at least one dimension (the vectors' axis, last); got 0-d arrays")
    expected = tuple(input1.shape[:-1]) if vectors else tuple(input1.shape)
    if tuple(target.shape) != expected:
        what = "the inputs' shape without their last axis" if vectors else "the inputs' shape"
        raise ValueError(
            f"target must have {what} {expected}; got target.shape={tuple(target.shape)} and "
            f"input1.shape={tuple(input1.shape)}"
        )
    t, valid = _sign_target(xp, target, dtype)
    return xp, as_compute_dtype(xp, input1, dtype), as_compute_dtype(xp, input2, dtype), t, valid


def _nan_where_invalid(xp: Namespace, loss: Array, valid: Array | None) -> Array:
    """NaN where a traced or lazy ±1 target is neither 1 nor -1."""
    return loss if valid is None else xp.where(valid, loss, _NAN)


def _pairwise_distance(xp: Namespace, a: Array, b: Array, *, p: float, eps: float, axis: int) -> Array:
    r"""torch's ``pairwise_distance``, :math:`\lVert a - b + \epsilon \rVert_p` along `axis`.

    At distance 0 the value is 0 and the gradient 0 (torch's norm backward), never NaN:
    ``p=2`` takes ``sqrt`` behind a double ``where``, other ``p`` go through
    :func:`power`, and :math:`|d|` is :math:`d\,\mathrm{sign}(d)`, whose gradient at 0
    is 0 on every backend (``abs``'s is 1 in JAX).
    """
    d = a - b + eps if eps != 0 else a - b
    if p == 2:
        s = xp.sum(d * d, axis=axis)
        positive = s > 0
        return xp.where(positive, xp.sqrt(xp.where(positive, s, 1.0)), 0.0)
    magnitude = d * xp.sign(d)
    return power(xp, xp.sum(power(xp, magnitude, p), axis=axis), 1.0 / p)


def _triplet(xp: Namespace, distance: Callable[[Array, Array], Array], anchor: Array, positive: Array,
             negative: Array, margin: float, swap: bool) -> Array:
    """``max(margin + d(a, p) - d(a, n), 0)``; with `swap`, ``d(a, n)`` is ``min(d(a, n), d(p, n))``."""
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:
        dist_neg = xp.minimum(dist_neg, distance(positive, negative))
    return xp.clip(margin + dist_pos - dist_neg, min=0.0)


def _triplet_arrays(anchor: Array, positive: Array, negative: Array, reduction: str):
    """The namespace and the three arrays, of one shape, in the compute dtype."""
    xp, dtype = _floating(reduction, anchor=anchor, positive=positive, negative=negative)
    _same_shapes(anchor=anchor, positive=positive, negative=negative)
    return xp, *(as_compute_dtype(xp, x, dtype) for x in (anchor, positive, negative))


def _mask_option(xp: Namespace, where: Any, *, like: Array) -> Array | None:
    """A boolean mask option, nested sequences of bools or an array of any namespace,
    as a bool array in the namespace and on the device of `like`."""
    if where is None:
        return None
    if isinstance(where, (list, tuple)):
        return xp.asarray(where, dtype=xp.bool, device=device_of(like))
    return option_array(xp, where, like=like, name="where", dtype=xp.bool)


# --------------------------------------------------------------------------
# margin ranking and cosine embedding
# --------------------------------------------------------------------------

_MARGIN_RANKING_EXAMPLE = Example(
    (uniform((6,), seed=81), uniform((6,), seed=82), binary((6,), seed=83, low=-1.0)),
    options={"margin": 0.3},
)


@register("MarginRankingLoss", family="ranking", peers=("torch.nn.functional.margin_ranking_loss",),
          example=_MARGIN_RANKING_EXAMPLE)
def margin_ranking_loss(
    input1: Array, input2: Array, target: Array, *, margin: float = 0.0, reduction: str = "mean"
) -> Array:
    r"""Margin ranking loss, :math:`\ell = \max(0, -y\,(x_1 - x_2) + \mathrm{margin})`.

    :math:`y = 1` says :math:`x_1` should rank above :math:`x_2`, :math:`y = -1` the
    opposite.

    Parameters
    ----------
    input1, input2 : array
        Scores, floating, of one shape.
    target : array
        Labels 1 and -1 (integer or floating), of the inputs' shape. Another value
        raises ValueError in eager calls; under tracing (``jax.jit``,
        ``torch.compile``) and for Dask its loss is NaN.
    margin : float, default 0.0
        Any finite number.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the inputs' shape.

    Returns
    -------
    array
        In the inputs' namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.margin_ranking_loss``. torch takes any target value
    (a plain multiplier) and broadcasts arrays of one rank; polyloss requires ±1 and
    one shape.

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x1, x2 = np.array([1.0, 0.2, -0.5]), np.array([0.5, 0.4, -0.5])
    >>> polyloss.margin_ranking_loss(x1, x2, np.array([1, 1, -1]), margin=0.1, reduction="none")
    array([0. , 0.3, 0.1])
    """
    check_number("margin", margin)
    xp, x1, x2, t, valid = _signed_pair(input1, input2, target, reduction, vectors=False)
    loss = xp.clip(-t * (x1 - x2) + margin, min=0.0)
    return reduce(xp, _nan_where_invalid(xp, loss, valid), reduction, dtype=input1.dtype)


_COSINE_EXAMPLE = Example(
    (uniform((4, 5), seed=84), uniform((4, 5), seed=85), binary((4,), seed=86, low=-1.0)),
    options={"margin": 0.1},
)


@register("CosineEmbeddingLoss", family="ranking", peers=("torch.nn.functional.cosine_embedding_loss",),
          example=_COSINE_EXAMPLE)
def cosine_embedding_loss(
    input1: Array, input2: Array, target: Array, *, margin: float = 0.0, reduction: str = "mean"
) -> Array:
    r"""Cosine embedding loss: :math:`1 - \cos(x_1, x_2)` for :math:`y = 1`, :math:`\max(0, \cos(x_1, x_2) - \mathrm{margin})` for :math:`y = -1`.

    :math:`\cos(x_1, x_2) = \sum x_1 x_2 \big/ \sqrt{(\sum x_1^2 + \epsilon)(\sum x_2^2 + \epsilon)}`
    along the last axis, with torch's :math:`\epsilon = 10^{-12}`: a zero vector has
    cosine 0, with a finite gradient.

    Parameters
    ----------
    input1, input2 : array
        Vectors on the last axis, ``(..., D)``, floating, of one shape.
    target : array
        Labels 1 (similar) and -1 (dissimilar), of shape ``(...)``: the inputs'
        without their last axis. Another value raises ValueError in eager calls;
        under tracing and for Dask its loss is NaN.
    margin : float, default 0.0
        Any finite number; torch suggests [-1, 1], 0 to 0.5 in practice.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-vector losses, of the target's shape.

    Returns
    -------
    array
        In the inputs' namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.cosine_embedding_loss``, which takes only ``(N, D)``
    inputs with an ``(N,)`` target or ``(D,)`` with a 0-d one (polyloss: any leading
    shape), and gives 0 for a target that is neither 1 nor -1 (polyloss: ValueError,
    or NaN under tracing).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> x1 = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> x2 = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 2.0]])
    >>> polyloss.cosine_embedding_loss(x1, x2, np.array([1, -1, 1]), reduction="none").round(6)
    array([0.292893, 1.      , 1.      ])
    """
    check_number("margin", margin)
    xp, x1, x2, t, valid = _signed_pair(input1, input2, target, reduction, vectors=True)
    dot = xp.sum(x1 * x2, axis=-1)
    squares = (xp.sum(x1 * x1, axis=-1) + _COSINE_EPSILON) * (xp.sum(x2 * x2, axis=-1) + _COSINE_EPSILON)
    cos = dot / xp.sqrt(squares)
    loss = xp.where(t > 0, 1.0 - cos, xp.clip(cos - margin, min=0.0))
    return reduce(xp, _nan_where_invalid(xp, loss, valid), reduction, dtype=input1.dtype)


# --------------------------------------------------------------------------
# triplet margin losses
# --------------------------------------------------------------------------

_TRIPLET_EXAMPLE = Example(
    (uniform((4, 5), seed=87), uniform((4, 5), seed=88), uniform((4, 5), seed=89)),
    options={"margin": 1.5, "p": 3.0, "swap": True},
)


@register(
    "TripletMarginLoss",
    family="ranking",
    peers=("torch.nn.functional.triplet_margin_loss", "optax.losses.triplet_margin_loss"),
    example=_TRIPLET_EXAMPLE,
)
def triplet_margin_loss(
    anchor: Array,
    positive: Array,
    negative: Array,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    axis: int = -1,
    reduction: str = "mean",
) -> Array:
    r"""Triplet margin loss, :math:`\ell = \max(0, \mathrm{margin} + d(a, p) - d(a, n))`.

    :math:`d(u, v) = \lVert u - v + \epsilon \rVert_p` along `axis` (torch's
    ``pairwise_distance``; :math:`\epsilon` is added to every difference). Equal
    embeddings with ``eps=0`` give distance 0 with a zero gradient, not NaN.

    Parameters
    ----------
    anchor, positive, negative : array
        Embeddings, floating, of one shape, the vectors along `axis`.
    margin : float, default 1.0
        Any finite number (torch refuses ``margin <= 0``).
    p : float, default 2.0
        The norm's degree, a finite number > 0.
    eps : float, default 1e-6
        Added to each difference; >= 0.
    swap : bool, default False
        Balntas et al.'s distance swap: :math:`d(a, n)` becomes
        :math:`\min(d(a, n), d(p, n))`.
    axis : int, default -1
        The axis of the vectors.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-triplet losses: the inputs' shape without `axis`.

    Returns
    -------
    array
        In the inputs' namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.triplet_margin_loss`` (which uses the last axis,
    and raises for ``margin <= 0``). ``optax.losses.triplet_margin_loss`` adds its
    ``eps`` to the sum of p-th powers, :math:`(\sum (a - p)^p + \epsilon)^{1/p}`,
    without an absolute value: polyloss with ``eps=0`` and ``reduction="none"`` is
    optax with ``eps=0`` for even ``p`` (``norm_degree``) and any `axis` and
    `margin`; for ``eps > 0`` the two differ by :math:`O(\epsilon)`, and optax has no
    swap. The distance swap is that of Balntas et al. [1]_, whom torch cites.

    References
    ----------
    .. [1] V. Balntas, E. Riba, D. Ponsa, K. Mikolajczyk, "Learning local feature
       descriptors with triplets and shallow convolutional neural networks", BMVC,
       2016. https://bmva-archive.org.uk/bmvc/2016/papers/paper119/index.html

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> a, pos, neg = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.1, 0.1], [1.1, 1.1]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> polyloss.triplet_margin_loss(a, pos, neg, eps=0.0, reduction="none").round(6)
    array([0.141421, 0.141421])
    """
    check_number("margin", margin)
    check_number("p", p)
    if p <= 0:
        raise ValueError(f"p must be a finite number > 0; got {p!r}")
    check_nonnegative("eps", eps)
    check_flag("swap", swap)
    xp, a, pos, neg = _triplet_arrays(anchor, positive, negative, reduction)
    if a.ndim == 0:
        raise ValueError("anchor, positive and negative must have at least one dimension (the vectors' axis)")
    ax = class_axis(a.ndim, axis)

    def distance(u: Array, v: Array) -> Array:
        return _pairwise_distance(xp, u, v, p=p, eps=eps, axis=ax)

    loss = _triplet(xp, distance, a, pos, neg, margin, swap)
    return reduce(xp, loss, reduction, dtype=anchor.dtype)


_TRIPLET_DISTANCE_EXAMPLE = Example(
    (uniform((4, 5), seed=90), uniform((4, 5), seed=91), uniform((4, 5), seed=92)),
    options={"margin": 2.0, "swap": True},
)


@register(
    "TripletMarginWithDistanceLoss",
    family="ranking",
    peers=("torch.nn.functional.triplet_margin_with_distance_loss",),
    example=_TRIPLET_DISTANCE_EXAMPLE,
)
def triplet_margin_with_distance_loss(
    anchor: Array,
    positive: Array,
    negative: Array,
    *,
    distance_function: Callable[[Array, Array], Array] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Array:
    r"""Triplet margin loss with a distance of your own, :math:`\ell = \max(0, \mathrm{margin} + d(a, p) - d(a, n))`.

    Parameters
    ----------
    anchor, positive, negative : array
        Embeddings, floating, of one shape.
    distance_function : callable, optional
        ``d(u, v)`` on two arrays of the inputs' namespace (in the compute dtype:
        float32 for half-precision inputs), returning the per-triplet distances.
        None is torch's default, ``pairwise_distance``: :math:`\lVert u - v +
        10^{-6} \rVert_2` along the last axis (0 with a zero gradient at distance 0).
        A plain function (not a lambda made per call) keeps the loss object equal
        across calls, e.g. for ``jax.jit``'s static arguments.
    margin : float, default 1.0
        Any finite number (torch refuses ``margin <= 0``).
    swap : bool, default False
        :math:`d(a, n)` becomes :math:`\min(d(a, n), d(p, n))`.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-triplet losses, of the distances' shape.

    Returns
    -------
    array
        In the inputs' namespace, device and floating dtype.

    Notes
    -----
    Matches ``torch.nn.functional.triplet_margin_with_distance_loss`` (which raises for
    ``margin <= 0`` and only checks the inputs' ranks; polyloss wants one shape).
    The distance swap is that of Balntas et al. [1]_, whom torch cites.

    References
    ----------
    .. [1] V. Balntas, E. Riba, D. Ponsa, K. Mikolajczyk, "Learning local feature
       descriptors with triplets and shallow convolutional neural networks", BMVC,
       2016. https://bmva-archive.org.uk/bmvc/2016/papers/paper119/index.html

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> a, pos, neg = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.1, 0.1], [1.1, 1.1]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> l1 = lambda u, v: np.sum(np.abs(u - v), axis=-1)
    >>> polyloss.triplet_margin_with_distance_loss(a, pos, neg, distance_function=l1, reduction="none").round(6)
    array([0.2, 0.2])
    """
    check_number("margin", margin)
    check_flag("swap", swap)
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"distance_function must be a callable or None, got {type(distance_function).__name__}")
    xp, a, pos, neg = _triplet_arrays(anchor, positive, negative, reduction)
    if distance_function is None:
        if a.ndim == 0:
            raise ValueError("anchor, positive and negative must have at least one dimension (the vectors' axis)")

        def distance_function(u: Array, v: Array) -> Array:
            return _pairwise_distance(xp, u, v, p=2.0, eps=_PAIRWISE_EPS, axis=-1)

    loss = _triplet(xp, distance_function, a, pos, neg, margin, swap)
    return reduce(xp, loss, reduction, dtype=anchor.dtype)


# --------------------------------------------------------------------------
# NT-Xent
# --------------------------------------------------------------------------

_NTXENT_EXAMPLE = Example(
    (uniform((6, 3), seed=93), given([0, 1, 0, 2, 1, 2], integer=True)),
    options={"temperature": 0.5},
)


@register("NTXentLoss", family="ranking", peers=("optax.losses.ntxent",), example=_NTXENT_EXAMPLE,
          per_sample=False)
def ntxent_loss(embeddings: Array, labels: Array, *, temperature: float = 0.07, reduction: str = "mean") -> Array:
    r"""NT-Xent (SimCLR) loss, :math:`\ell_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k: y_k \ne y_i} e^{s_{ik}}}` for each positive pair.

    :math:`s_{ij} = \cos(e_i, e_j)/T` and the positive pairs are :math:`i \ne j` with
    :math:`y_i = y_j`; the denominator holds the pair itself and the anchor's
    negatives (not its other positives). The cosine normalizes each embedding by
    :math:`\sqrt{\max(\lVert e \rVert^2, \epsilon)}`, :math:`\epsilon` the machine
    epsilon of the embeddings' dtype, so a zero embedding is finite with a finite
    gradient.

    Parameters
    ----------
    embeddings : array
        ``(N, D)``, floating.
    labels : array
        ``(N,)`` integer group labels: embeddings with one label are positive pairs.
    temperature : float, default 0.07
        :math:`T`, a finite number > 0.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` averages over the positive pairs (0 with a zero gradient when there
        is none); ``"none"`` returns the ``(N, N)`` matrix of :math:`\ell_{ij}`, anchor
        by row, 0 off the positive pairs.

    Returns
    -------
    array
        In the embeddings' namespace, device and floating dtype.

    Notes
    -----
    Matches ``optax.losses.ntxent`` (which returns the mean only, and NaN when no
    pair is positive). The similarities are one matrix product of the normalized
    embeddings, where optax sums products over a ``(N, N, D)`` broadcast: equal up
    to rounding. optax takes labels of any dtype; polyloss wants integers.

    The loss is SimCLR's, Chen et al. [1]_ (the paper optax cites).

    References
    ----------
    .. [1] T. Chen, S. Kornblith, M. Norouzi, G. Hinton, "A Simple Framework for
       Contrastive Learning of Visual Representations", ICML, 2020.
       https://arxiv.org/abs/2002.05709

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> round(float(polyloss.ntxent_loss(e, np.array([0, 0, 1, 1]), temperature=0.5)), 6)
    0.43019
    """
    check_number("temperature", temperature)
    if temperature <= 0:
        raise ValueError(f"temperature must be a finite number > 0; got {temperature!r}")
    xp = array_namespace(embeddings=embeddings, labels=labels)
    dtype = compute_dtype(xp, embeddings, "embeddings")
    check_reduction(reduction)
    integer_dtype_check(xp, labels, "labels")
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (N, D); got shape {tuple(embeddings.shape)}")
    n = embeddings.shape[0]
    if tuple(labels.shape) != (n,):
        raise ValueError(
            f"labels must have shape ({n},), the embeddings' leading dimension; got "
            f"labels.shape={tuple(labels.shape)} and embeddings.shape={tuple(embeddings.shape)}"
        )
    check_nonempty(embeddings, "embeddings")
    e = as_compute_dtype(xp, embeddings, dtype)
    floor = float(xp.finfo(embeddings.dtype).eps)  # optax's: that of the embeddings' own dtype
    unit = e / xp.sqrt(xp.clip(xp.sum(e * e, axis=-1, keepdims=True), min=floor))
    s = xp.matmul(unit, xp.matrix_transpose(unit)) / temperature
    index = xp.arange(n, device=device_of(embeddings))
    self_pair = index[:, None] == index[None, :]
    same = labels[:, None] == labels[None, :]
    positive, negative = same & ~self_pair, ~same
    # the row shift of optax: the largest similarity off the diagonal (gradient stopped)
    shift = stop_gradient(xp, xp.max(xp.where(self_pair, -math.inf, s), axis=1, keepdims=True))
    shift = xp.where(xp.isfinite(shift), shift, 0.0)
    shifted = s - shift
    negatives = xp.sum(xp.where(negative, xp.exp(xp.where(negative, shifted, 0.0)), 0.0), axis=1, keepdims=True)
    pair = xp.where(positive, shifted, 0.0)  # exp of the diagonal could overflow: never taken
    loss = xp.log(xp.exp(pair) + negatives) - pair
    return reduce(xp, loss, reduction, mask=positive, dtype=embeddings.dtype)


# --------------------------------------------------------------------------
# ranking softmax
# --------------------------------------------------------------------------

_RANKING_SOFTMAX_EXAMPLE = Example(
    (uniform((3, 5), seed=94), given([[0.0, 1.0, 0.0, 2.0, 0.0], [1.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 3.0, 0.0, 1.0]])),
    options={
        "where": [[True, True, False, True, True], [True, True, True, True, True], [False, True, True, True, False]],
        "weight": uniform((5,), seed=95, low=0.5, high=1.5).values,
    },
)


@register("RankingSoftmaxLoss", family="ranking", peers=("optax.losses.ranking_softmax_loss",),
          example=_RANKING_SOFTMAX_EXAMPLE)
def ranking_softmax_loss(
    input: Array, target: Array, *, where: Any = None, weight: Any = None, reduction: str = "mean"
) -> Array:
    r"""Ranking softmax (ListNet-style) loss, :math:`\ell = -\sum_i w_i y_i \log \operatorname{softmax}(s)_i` per list.

    The lists lie on the last axis; the softmax runs over a list's valid items.

    Parameters
    ----------
    input : array
        Scores :math:`s`, ``(..., L)``, floating.
    target : array
        Relevance labels :math:`y` of the input's shape (integer or floating; not
        normalized).
    where : array_like of bool, optional
        Which items are valid, broadcastable to the input's shape. Invalid items take
        no part in the softmax nor in the sum; a list without a valid item has loss 0
        and does not count in the mean.
    weight : array_like, optional
        Item weights :math:`w`, broadcastable to the input's shape (optax's
        ``weights``).
    reduction : {"mean", "sum", "none"}
        ``"mean"`` averages over the lists with a valid item (0 with a zero gradient
        when there is none); ``"none"`` returns the per-list losses, of shape
        ``input.shape[:-1]``.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``optax.losses.ranking_softmax_loss``: its ``reduce_fn`` ``jnp.mean``,
    ``jnp.sum`` and None are ``reduction="mean"``, ``"sum"`` and ``"none"``. Unlike
    optax, the gradient is finite for a list without a valid item (0).

    optax cites no paper for it; the softmax over a list's scores against its
    relevance labels is the top-one probability model of ListNet, Cao et al. [1]_.

    References
    ----------
    .. [1] Z. Cao, T. Qin, T.-Y. Liu, M.-F. Tsai, H. Li, "Learning to Rank: From
       Pairwise Approach to Listwise Approach", ICML, 2007.
       https://doi.org/10.1145/1273496.1273513

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> s, y = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0]]), np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    >>> polyloss.ranking_softmax_loss(s, y, where=[[True, True, True], [True, True, False]], reduction="none").round(6)
    array([0.407606, 0.693147])
    """
    xp, x, y = paired_arrays(input, target, reduction)
    if x.ndim == 0:
        raise ValueError("input must have at least one dimension (the lists' axis, last); got a 0-d array")
    w = option_array(xp, weight, like=x, name="weight")
    check_broadcastable("weight", w, tuple(x.shape))
    valid = _mask_option(xp, where, like=x)
    check_broadcastable("where", valid, tuple(x.shape))
    relevance = y if w is None else y * w
    if valid is None:
        loss = -xp.sum(relevance * log_softmax(xp, x, axis=-1), axis=-1)
        return reduce(xp, loss, reduction, dtype=input.dtype)
    valid = xp.broadcast_to(valid, x.shape)
    listed = xp.any(valid, axis=-1)
    # log-softmax over the valid items, with nothing invalid reaching exp or log
    shift = stop_gradient(xp, xp.max(xp.where(valid, x, -math.inf), axis=-1, keepdims=True))
    shift = xp.where(xp.isfinite(shift), shift, 0.0)
    shifted = xp.where(valid, x - shift, 0.0)
    total = xp.sum(xp.where(valid, xp.exp(shifted), 0.0), axis=-1, keepdims=True)
    log_total = xp.log(xp.where(total > 0, total, 1.0))
    loss = -xp.sum(xp.where(valid, relevance * (shifted - log_total), 0.0), axis=-1)
    return reduce(xp, loss, reduction, mask=listed, dtype=input.dtype)


MarginRankingLoss = loss_object(margin_ranking_loss)
CosineEmbeddingLoss = loss_object(cosine_embedding_loss)
TripletMarginLoss = loss_object(triplet_margin_loss)
TripletMarginWithDistanceLoss = loss_object(triplet_margin_with_distance_loss)
NTXentLoss = loss_object(ntxent_loss)
RankingSoftmaxLoss = loss_object(ranking_softmax_loss)
