"""Large-vocabulary cross-entropy: the classifier head and the loss in one, by chunks."""

from __future__ import annotations

import numbers
from typing import Any

from . import _chunked
from ._array import (
    Array,
    array_namespace,
    as_compute_dtype,
    compute_dtype,
    integer_dtype_check,
    is_eager,
    option_array,
)
from ._checks import (
    check_in_interval,
    check_nonempty,
    check_nonnegative,
    check_option_shape,
    check_real,
    check_reduction,
)
from ._indexed import index_masks, reduce_indexed
from ._native import call_native
from ._registry import Example, Peer, labels, loss_object, register, uniform

__all__ = ["LinearCrossEntropyLoss", "linear_cross_entropy"]


def _check_int(name: str, value: Any, minimum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} or None; got {value!r}")


# d = V = 6 (registry-driven tests read the number of classes off the first array's last
# axis); chunks of 4 classes: a narrower last one
_EXAMPLE = Example(
    (uniform((2, 3, 6), seed=81), uniform((6, 6), seed=82, low=-1.0, high=1.0),
     labels((2, 3), 6, seed=83, ignored=(4,))),
    options={"bias": [0.1, -0.2, 0.3, 0.0, -0.1, 0.2], "label_smoothing": 0.1, "z_loss": 0.01, "chunk_size": 4},
)


@register(
    "LinearCrossEntropyLoss",
    family="large_vocabulary",
    peers=(Peer("torch", "torch.nn.functional.cross_entropy", "of hidden @ weight.T + bias"),),
    natives=("torch", "jax"),
    example=_EXAMPLE,
)
def linear_cross_entropy(
    hidden: Array,
    weight: Array,
    target: Array,
    *,
    bias: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    chunk_size: int | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Cross-entropy of a linear head's logits, never formed whole, :math:`\ell_i = \operatorname{CE}(h_i W^\top + b,\, t_i) + z\, \operatorname{lse}_i^2`.

    Equal to ``cross_entropy(hidden @ weight.T + bias, target, ignore_index=...,
    label_smoothing=...)`` plus PaLM's auxiliary z-loss
    :math:`z \operatorname{lse}_i^2`, :math:`\operatorname{lse}_i = \log \sum_c
    e^{x_{ic}}`: with label smoothing :math:`\varepsilon` and :math:`V` classes,
    :math:`\ell_i = \operatorname{lse}_i - (1-\varepsilon) x_{i t_i}
    - \frac{\varepsilon}{V} \sum_c x_{ic} + z \operatorname{lse}_i^2` (torch's
    formula). The ``(N, V)`` logits are never held: the vocabulary is cut into chunks,
    and each chunk's logits are computed, folded into an online log-sum-exp and
    dropped; the gradient recomputes them chunk by chunk (a torch
    ``autograd.Function`` and a JAX ``custom_vjp``), so that memory grows with
    :math:`N d + N \cdot \mathrm{chunk}`, not :math:`N V`.

    Parameters
    ----------
    hidden : array
        Hidden states, ``(..., d)``; the leading dimensions (batch, sequence) are
        flattened to the ``N`` rows. float16 and bfloat16 accumulate in float32.
    weight : array
        The classifier's weight, ``(V, d)`` as ``torch.nn.Linear(d, V).weight``;
        it may be narrower than float32 (cast a chunk at a time).
    target : array
        Integer class indices, of the shape of `hidden` without its last dimension.
    bias : array_like, optional
        The classifier's bias, ``(V,)``. Pass an array of the arguments' namespace
        to get its gradient (a loss object freezes its options: there it is a
        constant).
    ignore_index : int, default -100
        Targets equal to it contribute 0 and do not count in the mean. In eager
        calls their rows are dropped before any product with `weight`.
    label_smoothing : float, default 0.0
        In ``[0, 1]``: torch's smoothing towards the uniform distribution.
    z_loss : float, default 0.0
        Factor of the auxiliary loss :math:`z \operatorname{lse}^2` (PaLM uses
        1e-4); >= 0.
    chunk_size : int, optional
        Classes per chunk. By default the largest multiple of 128 (at least 128,
        at most V) whose ``(N, chunk)`` logits take at most 4 MiB in the compute
        dtype: 256 for N = 4096 float32 rows.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides the cross-entropy and the z-loss by the number of
        non-ignored rows (0 with a zero gradient when every target is ignored).
        ``"none"`` returns one loss per row, of the target's shape (0 where ignored).

    Returns
    -------
    array
        In the namespace and device of `hidden`, with its floating dtype.

    Raises
    ------
    TypeError
        Integer or complex `hidden` or `weight`, floating `target`, a non-integer
        `chunk_size` or `ignore_index`.
    ValueError
        ``weight.shape[1] != hidden.shape[-1]``, a target shape other than
        ``hidden.shape[:-1]``, a bias not of shape ``(V,)``, an empty array,
        ``label_smoothing`` outside ``[0, 1]``, a negative `z_loss`, ``chunk_size
        < 1``, a class index outside ``[0, V)`` that is not `ignore_index` (eager
        calls; traced calls give NaN).

    Notes
    -----
    Matches ``torch.nn.functional.cross_entropy(hidden @ weight.T + bias, target)``
    (and optax's ``softmax_cross_entropy_with_integer_labels`` of the same logits),
    values and gradients for `hidden`, `weight` and `bias`, except that a batch whose
    targets are all ignored gives 0 with a zero gradient (torch: NaN). It plays the
    part of Liger-Kernel's fused linear cross-entropy and Apple's Cut Cross-Entropy
    (torch and Triton only) on every backend. NumPy, Dask and array-api-strict
    compute the value by the same chunks. Under ``torch.compile`` and ``jax.jit``
    the custom gradients are traced as they are (``jax.lax.scan`` over the chunks,
    whose program does not grow with V). On torch and JAX without their natives
    (``vmap`` on torch), autodiff of the chunked forward gives the same gradients,
    but keeps every chunk's logits for the backward.

    The chunked computation follows Cut Cross-Entropy, Wijmans et al. [1]_; the
    z-loss is PaLM's, Chowdhery et al. [2]_.

    References
    ----------
    .. [1] E. Wijmans, B. Huval, A. Hertzberg, V. Koltun, P. Krähenbühl, "Cut Your
       Losses in Large-Vocabulary Language Models", ICLR, 2025.
       https://arxiv.org/abs/2411.09009
    .. [2] A. Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", JMLR,
       2023. https://arxiv.org/abs/2204.02311

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> h = np.array([[0.5, -1.0], [2.0, 0.3], [-0.7, 0.1]])
    >>> w = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0], [0.5, 0.5]])
    >>> t = np.array([0, 3, -100])
    >>> round(float(polyloss.linear_cross_entropy(h, w, t)), 6)
    0.973152
    >>> round(float(polyloss.linear_cross_entropy(h, w, t, z_loss=1e-4, chunk_size=3)), 6)
    0.973524
    """
    xp = array_namespace(hidden=hidden, weight=weight, target=target)
    dtype = xp.result_type(compute_dtype(xp, hidden, "hidden"), compute_dtype(xp, weight, "weight"))
    integer_dtype_check(xp, target, "target")
    check_reduction(reduction)
    check_in_interval("label_smoothing", label_smoothing, 0.0, 1.0)
    check_nonnegative("z_loss", z_loss)
    _check_int("ignore_index", ignore_index)
    if chunk_size is not None:
        _check_int("chunk_size", chunk_size, minimum=1)
    if hidden.ndim == 0 or weight.ndim != 2 or weight.shape[1] != hidden.shape[-1]:
        raise ValueError(
            f"weight must be (V, d) for hidden (..., d); got hidden.shape={tuple(hidden.shape)} "
            f"and weight.shape={tuple(weight.shape)}"
        )
    if tuple(target.shape) != tuple(hidden.shape[:-1]):
        raise ValueError(
            f"target must have the shape of hidden without its last dimension {tuple(hidden.shape[:-1])}; "
            f"got hidden.shape={tuple(hidden.shape)} and target.shape={tuple(target.shape)}"
        )
    check_nonempty(hidden, "hidden")
    check_nonempty(weight, "weight")
    num_classes, d = weight.shape
    h = as_compute_dtype(xp, xp.reshape(hidden, (-1, d)), dtype)
    t = xp.reshape(target, (-1,))
    b = option_array(xp, bias, like=h, name="bias")
    if b is not None:
        check_real(xp, b, "bias")
        check_option_shape("bias", b, (num_classes,))
    rows = h.shape[0]
    chunk = chunk_size or _chunked.auto_chunk(rows, num_classes, _itemsize(xp, dtype))
    plan = _chunked.Plan(num_classes, min(chunk, num_classes), float(label_smoothing), float(z_loss))
    masks = index_masks(xp, t, num_classes, ignore_index)
    kept = _kept_rows(xp, masks, rows)
    if kept is None:
        loss = _row_losses(xp, h, weight, b, masks.safe, plan)
    else:  # eager, some rows ignored: only the others meet the weight
        index, position = kept
        loss = _row_losses(xp, xp.take(h, index, axis=0), weight, b, xp.take(masks.safe, index), plan)
        loss = xp.take(loss, position)  # ignored rows get a kept row's value, masked below
    out = reduce_indexed(xp, loss, reduction, masks, target_weight=None, like=hidden)
    return xp.reshape(out, tuple(target.shape)) if reduction == "none" else out


def _row_losses(xp: Any, h: Array, weight: Array, bias: Array | None, target: Array, plan: _chunked.Plan) -> Array:
    """The rows' losses, by the native kernel or the chunked forward."""
    out = call_native("linear_cross_entropy", xp, h, weight, target, like=h, bias=bias, plan=plan)
    if out is NotImplemented:
        out, _ = _chunked.forward(xp, h, weight, bias, target, plan)
    return out


def _kept_rows(xp: Any, masks: Any, rows: int) -> tuple[Array, Array] | None:
    """In eager calls where some but not all targets are ignored: the indices of the
    other rows, and for each row its position among them (clipped to 0)."""
    if masks.ignored is None or not is_eager(xp, masks.ignored):
        return None
    counted = ~masks.ignored
    count = int(xp.sum(xp.astype(counted, masks.safe.dtype)))
    if count in (0, rows):
        return None
    index = xp.nonzero(counted)[0]
    position = xp.cumulative_sum(xp.astype(counted, index.dtype)) - 1
    return index, xp.clip(position, min=0)


def _itemsize(xp: Any, dtype: Any) -> int:
    return xp.finfo(dtype).bits // 8


LinearCrossEntropyLoss = loss_object(linear_cross_entropy)
