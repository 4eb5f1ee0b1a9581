"""Sequence and structured losses: CTC and sparsemax.

CTC sums over every alignment of a label sequence with the frames of an input by the
forward (alpha) recursion of Graves et al. (2006), in log space. The generic Array API
path loops over time in eager Python (its program grows with ``T``); under ``jax.jit``
and ``torch.compile`` the backend natives run instead (``jax.lax.scan``, ATen's CTC
kernel), whose programs do not grow with ``T``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ._array import (
    Array,
    Namespace,
    along_axis,
    array_namespace,
    as_compute_dtype,
    compute_dtype,
    cumulative_sum,
    device_of,
    dtype_kind,
    stop_gradient,
    take_class,
    value_range,
)
from ._checks import check_class_indices, check_nonempty, check_reduction
from ._indexed import class_indexed_args, index_masks, reduce_indexed
from ._native import call_native
from ._reduce import reduce
from ._registry import Example, Peer, given, labels, loss_object, register, uniform

__all__ = [
    "CTCLoss",
    "SparsemaxLoss",
    "ctc_loss",
    "sparsemax_loss",
]

_NAN = float("nan")
_INF = float("inf")


def _logaddexp(xp: Namespace, *terms: Array) -> Array:
    """``log(sum(exp(terms)))`` of a few same-shape arrays, elementwise.

    The shift (the largest term) has its gradient stopped; where every term is -inf the
    result is -inf with a zero gradient (the ``log`` sees 1 there, not 0: a double
    ``where``), so unreachable CTC states never give NaN.
    """
    top = terms[0]
    for term in terms[1:]:
        top = xp.maximum(top, term)
    top = stop_gradient(xp, top)
    finite = xp.isfinite(top)
    shift = xp.where(finite, top, 0.0)
    total = xp.exp(terms[0] - shift)
    for term in terms[1:]:
        total = total + xp.exp(term - shift)
    return xp.where(finite, xp.log(xp.where(finite, total, 1.0)) + shift, top)


# --------------------------------------------------------------------------
# CTC
# --------------------------------------------------------------------------


class _CTCArgs(NamedTuple):
    """The validated arguments of a CTC call."""

    xp: Namespace
    log_probs: Array  # (T, N, C), compute dtype
    targets: Array  # (N, S) padded, every entry a class index in [0, C)
    input_lengths: Array  # (N,), in [0, T]
    target_lengths: Array  # (N,), in [0, S]
    invalid: Array | None  # (N,) bool: a length or label out of range (traced or lazy calls only)
    steps: int  # the time steps the recursion needs (max input length where known, else T)
    unbatched: bool


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lengths_array(xp: Namespace, value: Any, name: str, like: Array) -> Array:
    """Lengths given as a Python int or a sequence of ints (torch accepts tuples), as an array."""
    if _is_int(value) or (
        isinstance(value, Sequence) and not isinstance(value, str) and all(_is_int(v) for v in value)
    ):
        return xp.asarray(value, device=device_of(like))
    raise TypeError(
        f"{name} must be an integer array or a sequence of ints, got {type(value).__name__}"
    )


def _index_dtype(xp: Namespace, like: Array) -> Any:
    """The namespace's default integer dtype (torch: int64, JAX: int32 or int64)."""
    return xp.arange(1, device=device_of(like)).dtype


def _ctc_args(
    log_probs: Array,
    targets: Array,
    input_lengths: Any,
    target_lengths: Any,
    *,
    blank: int,
    zero_infinity: bool,
    time_axis: int,
    reduction: str,
) -> _CTCArgs:
    check_reduction(reduction)
    if not _is_int(time_axis) or time_axis not in (0, 1):
        raise ValueError(f"time_axis must be one of 0, 1; got {time_axis!r}")
    if not _is_int(blank):
        raise TypeError(f"blank must be an int (a class index), got {type(blank).__name__} {blank!r}")
    if not isinstance(zero_infinity, bool):
        raise TypeError(f"zero_infinity must be a bool, got {type(zero_infinity).__name__} {zero_infinity!r}")
    arrays = {"log_probs": log_probs, "targets": targets}
    for name, value in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if not (_is_int(value) or isinstance(value, (list, tuple))):
            arrays[name] = value
    xp = array_namespace(**arrays)
    if "input_lengths" not in arrays:
        input_lengths = _lengths_array(xp, input_lengths, "input_lengths", log_probs)
    if "target_lengths" not in arrays:
        target_lengths = _lengths_array(xp, target_lengths, "target_lengths", log_probs)
    dtype = compute_dtype(xp, log_probs, "log_probs")
    for name, value in (("targets", targets), ("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if dtype_kind(xp, value.dtype) != "integral":
            raise TypeError(f"{name} must hold integers, got dtype {value.dtype}")

    # shapes: (T, N, C) or (N, T, C); unbatched (T, C)
    if log_probs.ndim not in (2, 3):
        raise ValueError(
            "log_probs must have shape (T, N, C) (time_axis=0), (N, T, C) (time_axis=1) or "
            f"(T, C) (unbatched); got shape {tuple(log_probs.shape)}"
        )
    check_nonempty(log_probs, "log_probs")
    unbatched = log_probs.ndim == 2
    if unbatched:
        if time_axis != 0:
            raise ValueError(f"an unbatched (T, C) log_probs has its time on axis 0; got time_axis={time_axis}")
        steps, num_classes = log_probs.shape
        for name, value in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
            if tuple(value.shape) not in ((), (1,)):
                raise ValueError(
                    f"{name} of an unbatched (T, C) log_probs must have shape () or (1,); got {tuple(value.shape)}"
                )
        if targets.ndim != 1:
            raise ValueError(f"targets of an unbatched (T, C) log_probs must be 1-D; got shape {tuple(targets.shape)}")
        x = xp.reshape(log_probs, (steps, 1, num_classes))
        targets = xp.reshape(targets, (1, targets.shape[0]))
        input_lengths = xp.reshape(input_lengths, (1,))
        target_lengths = xp.reshape(target_lengths, (1,))
    else:
        x = log_probs if time_axis == 0 else xp.permute_dims(log_probs, (1, 0, 2))
        steps, batch, num_classes = x.shape
        if targets.ndim not in (1, 2) or (targets.ndim == 2 and targets.shape[0] != batch):
            raise ValueError(
                f"targets must have shape (N, S) = ({batch}, S) (padded) or (sum(target_lengths),) "
                f"(concatenated) for log_probs of shape {tuple(log_probs.shape)} with time_axis={time_axis}; "
                f"got targets.shape={tuple(targets.shape)}"
            )
        for name, value in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
            if tuple(value.shape) != (batch,):
                raise ValueError(
                    f"{name} must have shape (N,) = ({batch},) for log_probs of shape "
                    f"{tuple(log_probs.shape)} with time_axis={time_axis}; got {name}.shape={tuple(value.shape)}"
                )
    if not 0 <= blank < num_classes:
        raise ValueError(f"blank must be a class index in [0, {num_classes}); got {blank}")
    x = as_compute_dtype(xp, x, dtype)
    index = _index_dtype(xp, x)
    tl = as_compute_dtype(xp, target_lengths, index)
    il = as_compute_dtype(xp, input_lengths, index)
    targets = as_compute_dtype(xp, targets, index)

    # eager calls: the values are checked; traced and lazy ones mark the bad samples NaN
    il_range, tl_range = value_range(xp, il), value_range(xp, tl)
    concatenated = targets.ndim == 1
    if concatenated:
        targets = _padded_targets(xp, targets, tl, width=None if tl_range is None else tl_range[1])
    width = targets.shape[1]
    if il_range is not None:
        _check_range("input_lengths", il_range, steps, f"the T={steps} time steps of log_probs")
    if tl_range is not None and not concatenated:
        _check_range("target_lengths", tl_range, width, f"the width S={width} of targets")
    position = xp.arange(width, device=device_of(x))
    used = position < xp.expand_dims(tl, axis=1)
    labels_known = width == 0 or value_range(xp, targets) is not None
    if il_range is not None and tl_range is not None and labels_known:
        if width:
            check_class_indices(xp, xp.where(used, targets, 0), num_classes, ignore_index=None, name="targets")
        invalid = None
    else:
        label_bad = used & ((targets < 0) | (targets >= num_classes))
        invalid = (il < 0) | (il > steps) | (tl < 0) | (tl > width) | xp.any(label_bad, axis=1)
        if concatenated:
            invalid = invalid | _concatenation_overflow(xp, tl, width)
        il = xp.clip(il, min=0, max=steps)
        tl = xp.clip(tl, min=0, max=width)
    targets = xp.where((targets >= 0) & (targets < num_classes), targets, blank)
    run = steps if il_range is None else max(0, min(steps, il_range[1]))
    return _CTCArgs(xp, x, targets, il, tl, invalid, run, unbatched)


def _check_range(name: str, bounds: tuple[int, int], high: int, what: str) -> None:
    low, top = bounds
    if low < 0:
        raise ValueError(f"{name} holds {low}; lengths must be >= 0")
    if top > high:
        raise ValueError(f"{name} holds {top}, more than {what}")


def _padded_targets(xp: Namespace, flat: Array, tl: Array, *, width: int | None) -> Array:
    """Concatenated targets ``(sum(target_lengths),)`` as padded ``(N, width)`` rows.

    `width` is the largest target length where its value is known (eager calls, where
    the lengths are checked against the targets' size here); traced and lazy calls use
    the whole size (rows past a target length are never read).
    """
    total = flat.shape[0]
    if width is not None:
        low = value_range(xp, tl)
        if low is not None and low[0] < 0:
            raise ValueError(f"target_lengths holds {low[0]}; lengths must be >= 0")
        needed = int(xp.sum(tl))
        if needed > total:
            raise ValueError(
                f"target_lengths sum to {needed}, more than the {total} concatenated targets"
            )
    else:
        width = total
    if width == 0 or total == 0:
        return xp.zeros((tl.shape[0], 0), dtype=flat.dtype, device=device_of(flat))
    start = cumulative_sum(xp, tl, axis=0) - tl
    index = xp.expand_dims(start, axis=1) + xp.arange(width, device=device_of(flat))
    index = xp.clip(index, min=0, max=total - 1)
    rows = xp.take(flat, xp.reshape(index, (-1,)), axis=0)
    return xp.reshape(rows, (tl.shape[0], width))


def _concatenation_overflow(xp: Namespace, tl: Array, total: int) -> Array:
    """Samples whose concatenated targets run past the end of `targets` (traced calls)."""
    return (cumulative_sum(xp, xp.clip(tl, min=0), axis=0) > total) & (tl > 0)


def _ctc_nll(xp: Namespace, x: Array, targets: Array, il: Array, tl: Array, *, blank: int, steps: int) -> Array:
    """The negative log-likelihood of each sample by the alpha recursion (the generic path).

    ``alpha[n, s]`` is the log-probability of the first ``s + 1`` extended labels (the
    target with a blank before, between and after its labels: ``2S + 1`` states) after
    the frames seen so far. It starts as ``[0, -inf, ...]`` (before the first frame),
    and each frame ``t < input_lengths[n]`` moves it by the CTC transitions (stay, step
    by one, and skip a blank between two different labels); the loss is
    ``-logaddexp(alpha[2 S_n], alpha[2 S_n - 1])``: inf, with a zero gradient, when no
    alignment exists.
    """
    num_steps, batch, num_classes = x.shape
    width = targets.shape[1]
    states = 2 * width + 1
    dev = device_of(x)
    s = xp.arange(states, device=dev)
    odd = (s % 2) == 1
    if width:
        label = xp.take(targets, xp.clip(s - 1, min=0) // 2, axis=1)
        extended = xp.where(odd, label, blank)  # (N, 2S+1)
    else:
        extended = xp.full((batch, 1), blank, dtype=targets.dtype, device=dev)
    n = xp.arange(batch, device=dev)
    # emissions[t, n, s] = x[t, n, extended[n, s]]
    flat_index = xp.reshape(xp.expand_dims(n, axis=1) * num_classes + extended, (-1,))
    emissions = xp.take(xp.reshape(x, (num_steps, batch * num_classes)), flat_index, axis=1)
    emissions = xp.reshape(emissions, (num_steps, batch, states))
    one_back, two_back = xp.clip(s - 1, min=0), xp.clip(s - 2, min=0)
    skip = odd & (s >= 3) & (extended != xp.take(extended, two_back, axis=1))
    step = s >= 1
    active = xp.expand_dims(xp.arange(num_steps, device=dev), axis=1) < xp.expand_dims(il, axis=0)  # (T, N)

    alpha = xp.where(s == 0, 0.0, xp.full((batch, states), -_INF, dtype=x.dtype, device=dev))
    for t in range(steps):
        stay = alpha
        advance = xp.where(step, xp.take(alpha, one_back, axis=1), -_INF)
        jump = xp.where(skip, xp.take(alpha, two_back, axis=1), -_INF)
        moved = _logaddexp(xp, stay, advance, jump) + emissions[t, ...]
        alpha = xp.where(xp.expand_dims(active[t, ...], axis=1), moved, alpha)

    flat_alpha = xp.reshape(alpha, (batch * states,))
    end = n * states + 2 * tl
    last = xp.take(flat_alpha, end, axis=0)
    before = xp.where(tl > 0, xp.take(flat_alpha, xp.clip(end - 1, min=0), axis=0), -_INF)
    return -_logaddexp(xp, last, before)


_CTC_EXAMPLE = Example(
    (
        uniform((6, 2, 4), seed=61, low=-3.0, high=-0.2),
        given([[1, 2, 2], [0, 1, -1]], integer=True),
        given([6, 5], integer=True),
        given([3, 2], integer=True),
    ),
    options={"blank": 3, "zero_infinity": True},
)


@register(
    "CTCLoss",
    family="structured",
    peers=(
        Peer("torch", "torch.nn.functional.ctc_loss", "gradient compared through log_softmax"),
        Peer(
            "optax",
            "optax.losses.ctc_loss",
            "per-sequence losses of logits and paddings: ctc_loss(log_softmax(logits), labels, "
            "T - sum(logit_paddings), N - sum(label_paddings), time_axis=1, reduction='none')",
        ),
    ),
    example=_CTC_EXAMPLE,
    natives=("torch", "jax"),
)
def ctc_loss(
    log_probs: Array,
    targets: Array,
    input_lengths: Array,
    target_lengths: Array,
    *,
    blank: int = 0,
    zero_infinity: bool = False,
    time_axis: int = 0,
    reduction: str = "mean",
) -> Array:
    r"""Connectionist temporal classification, :math:`\ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_n)} \prod_{t < T_n} p_t(\pi_t)`.

    The sum runs over every alignment :math:`\pi` of the frames with the target
    :math:`y_n` (labels, repeated and separated by blanks, that collapse to
    :math:`y_n`), computed by the forward (alpha) recursion in log space (Graves et al.,
    2006).

    Parameters
    ----------
    log_probs : array
        Log-probabilities ``(T, N, C)`` (``time_axis=0``, torch's layout) or
        ``(N, T, C)`` (``time_axis=1``); unbatched ``(T, C)``. Normally the output of a
        log-softmax over the classes; any real values are accepted.
    targets : array
        Integer class indices: padded ``(N, S)`` (entries past a target's length are not
        read), or the targets of all samples concatenated, ``(sum(target_lengths),)``;
        ``(S,)`` for an unbatched input.
    input_lengths : array or sequence of int
        ``(N,)``: the frames of each sample, in ``[0, T]``.
    target_lengths : array or sequence of int
        ``(N,)``: the labels of each target, in ``[0, S]``.
    blank : int, default 0
        The class index of the blank, in ``[0, C)``.
    zero_infinity : bool, default False
        Give the losses of infeasible samples (no alignment: the target needs more
        frames than the input has) 0 with a zero gradient instead of inf.
    time_axis : {0, 1}, default 0
        The time axis of `log_probs`.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides each sample's loss by its target length (at least 1) and
        averages over the batch, as torch does; ``"none"`` returns the ``(N,)`` losses
        (a 0-d array for an unbatched input).

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Raises
    ------
    ValueError
        In eager calls, for an input length outside ``[0, T]``, a target length outside
        ``[0, S]``, or a label (within its target length) outside ``[0, C)``. Under
        tracing (``jax.jit``, ``torch.compile``) and on Dask, those samples' losses are
        NaN instead.

    Notes
    -----
    Matches ``torch.nn.functional.ctc_loss`` (values, every reduction and option) and
    ``optax.losses.ctc_loss``: optax's per-sequence loss of ``logits`` with paddings is
    ``ctc_loss(log_softmax(logits), labels, T - sum(logit_paddings),
    N - sum(label_paddings), time_axis=1, reduction="none")`` (right-padded labels; optax
    gives a large finite loss instead of inf where no alignment exists).

    The gradient is the exact gradient with respect to `log_probs`. torch's CTC
    backward returns the gradient of the logits under a log-softmax instead (it adds
    ``exp(log_probs)`` on every frame within the input length), so that the two agree
    through ``log_softmax`` but not for `log_probs` themselves; polyloss' torch native
    corrects it. The gradient of an infinite loss is 0 (torch's is NaN unless
    ``zero_infinity=True``). Labels equal to `blank` inside a target are accepted and
    read as torch reads them.

    Cost: the recursion does :math:`O(T \cdot N \cdot S)` work. The generic path
    (NumPy, array-api-strict, CuPy, Dask, and torch under ``vmap``) takes ``T`` eager
    Python steps and, under autodiff, keeps ``T \cdot N \cdot (2S + 1)`` numbers; its
    traced program would grow with ``T``, so JAX (``jax.lax.scan``) and torch (ATen's
    CTC kernel; under ``torch.compile`` an opaque custom op, ``polyloss::ctc_nll``, whose
    graph does not grow with ``T``) use natives. Dask is supported: the recursion builds
    a lazy graph of ``T`` steps (chunked over the batch; nothing is computed), and
    invalid lengths or labels give NaN there, as under tracing.

    The loss and its forward recursion are those of Graves et al. [1]_.

    References
    ----------
    .. [1] A. Graves, S. Fernández, F. Gomez, J. Schmidhuber, "Connectionist Temporal
       Classification: Labelling Unsegmented Sequence Data with Recurrent Neural
       Networks", ICML, 2006. https://www.cs.toronto.edu/~graves/icml_2006.pdf

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> log_probs = np.log(np.full((4, 1, 3), 1 / 3))
    >>> round(float(polyloss.ctc_loss(log_probs, np.array([[1, 2]]), [4], [2])), 6)
    0.843199
    """
    args = _ctc_args(
        log_probs, targets, input_lengths, target_lengths,
        blank=blank, zero_infinity=zero_infinity, time_axis=time_axis, reduction=reduction,
    )
    xp, x, tg, il, tl = args.xp, args.log_probs, args.targets, args.input_lengths, args.target_lengths
    nll = call_native("ctc_loss", xp, x, tg, il, tl, like=x, blank=blank)
    if nll is NotImplemented:
        nll = _ctc_nll(xp, x, tg, il, tl, blank=blank, steps=args.steps)
    if zero_infinity:
        nll = xp.where(nll == _INF, 0.0, nll)
    if args.invalid is not None:
        nll = xp.where(args.invalid, _NAN, nll)
    if reduction == "mean":
        nll = nll / xp.astype(xp.clip(tl, min=1), nll.dtype)
    out = reduce(xp, nll, reduction, dtype=log_probs.dtype)
    return xp.reshape(out, ()) if args.unbatched and reduction == "none" else out


# --------------------------------------------------------------------------
# sparsemax
# --------------------------------------------------------------------------


@register(
    "SparsemaxLoss",
    family="structured",
    peers=(Peer("optax", "optax.losses.multiclass_sparsemax_loss", "per-sample losses, (N, C) scores"),),
    example=Example((uniform((4, 5), seed=62, low=-1.5, high=1.5), labels((4,), 5, seed=63))),
)
def sparsemax_loss(input: Array, target: Array, *, axis: int = 1, reduction: str = "mean") -> Array:
    r"""Sparsemax loss, :math:`\ell = \sum_c p_c (z_c - z_y) + \tfrac12 (1 - \lVert p \rVert^2)` with :math:`p = \operatorname{sparsemax}(z)`.

    :math:`\operatorname{sparsemax}(z)` is the Euclidean projection of the scores onto
    the probability simplex, :math:`p_c = \max(z_c - \tau, 0)` with the threshold
    :math:`\tau` found from the sorted scores (Martins and Astudillo, 2016). The loss is
    0 when the target's score leads the others by at least 1, and its gradient is
    :math:`p - e_y`.

    Parameters
    ----------
    input : array
        Scores, ``(N, C, d1, ..., dk)`` with the class axis at `axis`, or ``(C,)``.
    target : array
        Integer class indices, of the input's shape without the class axis.
    axis : int, default 1
        The class axis.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the element losses, of the target's shape.

    Returns
    -------
    array
        In the input's namespace, device and floating dtype.

    Notes
    -----
    Matches ``optax.losses.multiclass_sparsemax_loss`` (which returns the per-sample
    losses of ``(N, C)`` scores: ``reduction="none"``), in value and ``jax.grad``.
    The threshold comes from a sort and a cumulative sum along the class axis (the
    largest :math:`k` with :math:`1 + k\,u_k > \sum_{j \le k} u_j` for the sorted
    scores :math:`u`); the gradient flows through the sort. The scores are shifted by
    their (gradient-stopped) maximum first, which changes neither the loss nor its
    gradient.

    Sparsemax and its loss are those of Martins and Astudillo [1]_.

    References
    ----------
    .. [1] A. F. T. Martins, R. F. Astudillo, "From Softmax to Sparsemax: A Sparse
       Model of Attention and Multi-Label Classification", ICML, 2016.
       https://arxiv.org/abs/1602.02068

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> z = np.array([[2.0, 0.5, -1.0], [0.2, 0.4, 0.3]])
    >>> round(float(polyloss.sparsemax_loss(z, np.array([1, 0]))), 6)
    0.971667
    """
    xp, x, target, cax, num_classes, _, _ = class_indexed_args(
        input, target, axis=axis, reduction=reduction, weight=None, allow_probabilities=False
    )
    masks = index_masks(xp, target, num_classes, None)
    z = x - stop_gradient(xp, xp.max(x, axis=cax, keepdims=True))
    u = xp.sort(z, axis=cax, descending=True)
    cumulative = cumulative_sum(xp, u, axis=cax)
    k = along_axis(xp, xp.arange(1, num_classes + 1, dtype=x.dtype, device=device_of(x)), x.ndim, cax)
    support = 1.0 / k + (u - cumulative / k) > 0
    size = xp.sum(xp.astype(support, x.dtype), axis=cax)  # >= 1: the largest score is always in
    index = xp.astype(size, _index_dtype(xp, x)) - 1
    tau = xp.expand_dims((take_class(xp, cumulative, index, axis=cax) - 1.0) / size, axis=cax)
    p = xp.clip(z - tau, min=0.0)
    z_target = xp.expand_dims(take_class(xp, z, masks.safe, axis=cax), axis=cax)
    loss = xp.sum(xp.where(p > 0, p * (z - z_target), 0.0), axis=cax) + 0.5 * (1.0 - xp.sum(p * p, axis=cax))
    return reduce_indexed(xp, loss, reduction, masks, target_weight=None, like=input)


CTCLoss = loss_object(ctc_loss)
SparsemaxLoss = loss_object(sparsemax_loss)
