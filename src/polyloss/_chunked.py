"""The chunk arithmetic of a linear layer followed by a softmax cross-entropy.

``linear_cross_entropy`` (``vocabulary.py``) and its natives (``_native/_torch.py``,
``_native/_jax.py``) share these functions, so the arithmetic is written once: the
family module runs :func:`forward` on every backend, the torch ``autograd.Function``
runs :func:`forward` and :func:`backward`, and the JAX ``custom_vjp`` runs the same
per-chunk steps (:func:`chunk_logits`, :func:`lse_update`, :func:`chunk_backward`)
inside ``jax.lax.scan``.

The logits ``x = h W^T + b`` of ``N`` rows and ``V`` classes are never held whole:
the vocabulary is cut into chunks of ``plan.chunk`` classes, the ``(N, chunk)`` logits
of one chunk are computed, folded into a running (online) log-sum-exp and dropped.
The backward recomputes each chunk's logits and turns them into that chunk's block
of the gradient of the logits,

    G = g (1 + 2 z lse) softmax(x) - g (1 - eps) onehot(t) - g eps / V,

from which it accumulates ``dh += G W_c``, and writes ``dW_c = G^T h`` and
``db_c = sum(G)``: memory ``O(N d + N chunk)`` beyond the arguments and the
gradients, against ``O(N V)`` for the materialised logits. The eager loops (the torch
native) write every chunk's logits into one scratch array, in place, and the matrix
products straight into ``dh`` and ``dW``: one ``(N, chunk)`` array and no temporaries
of that size.

Row losses (torch's cross-entropy with label smoothing ``eps``, plus PaLM's z-loss):

    loss = lse - (1 - eps) x_t - (eps / V) sum_c x_c + z lse^2,

with the target's logit ``x_t = h . W[t] + b[t]`` (a gather, no chunk needed) and
``sum_c x_c = h . sum_c W_c + sum_c b_c``. Here ``h`` and ``bias`` are in the compute
dtype; ``weight`` may be narrower (bfloat16, float16), and is cast a chunk at a time.
Targets must already be safe to gather with (in range); the caller masks ignored and
invalid rows.

This module sits in the shared-rules layer: it imports only ``_array``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ._array import (
    Array,
    Namespace,
    add_at_columns,
    as_compute_dtype,
    device_of,
    exp_in_place,
    matmul_into,
    stop_gradient,
)

__all__ = [
    "CHUNK_BYTES",
    "MIN_CHUNK",
    "Plan",
    "auto_chunk",
    "backward",
    "chunk_backward",
    "chunk_logits",
    "coefficients",
    "forward",
    "lse_finish",
    "lse_start",
    "lse_update",
    "row_losses",
    "spans",
]

#: The automatic chunk's budget: one chunk's ``(N, chunk)`` logits take at most this
#: many bytes in the compute dtype (unless that would make the chunk narrower than
#: :data:`MIN_CHUNK` classes).
CHUNK_BYTES = 4 * 2**20
#: The narrowest automatic chunk, in classes: narrower matrix products run slowly.
MIN_CHUNK = 128


class Plan(NamedTuple):
    """The static parameters of a chunked computation (hashable: a static argument of
    ``jax.custom_vjp`` and of a torch ``autograd.Function``)."""

    num_classes: int  # V
    chunk: int  # classes per chunk, 1 <= chunk <= V
    label_smoothing: float
    z_loss: float


def auto_chunk(rows: int, num_classes: int, itemsize: int) -> int:
    """The automatic chunk: as many classes as keep one chunk's ``(rows, chunk)`` logits
    within :data:`CHUNK_BYTES`, in multiples of :data:`MIN_CHUNK`, at least
    :data:`MIN_CHUNK` and at most `num_classes`."""
    fits = CHUNK_BYTES // max(rows * itemsize, 1)
    chunk = max(MIN_CHUNK, fits // MIN_CHUNK * MIN_CHUNK)
    return min(chunk, num_classes)


def spans(plan: Plan) -> list[tuple[int, int]]:
    """The ``(start, stop)`` class ranges of the chunks; the last may be narrower."""
    return [(s, min(s + plan.chunk, plan.num_classes)) for s in range(0, plan.num_classes, plan.chunk)]


# --------------------------------------------------------------------------
# one chunk
# --------------------------------------------------------------------------


def chunk_logits(
    xp: Namespace, h: Array, weight: Array, bias: Array | None, *, overwrite: bool = False, out: Array | None = None
) -> Array:
    """``h W^T + b`` of one chunk: ``(N, d)`` rows by a ``(chunk, d)`` weight block, in
    the dtype of `h` (the block is cast to it). With `overwrite`, the bias is added in
    place (rebinding where arrays are immutable): no second ``(N, chunk)`` array, but
    not for autodiff; `out` (a scratch array of the result's shape) also takes the
    product."""
    w = as_compute_dtype(xp, weight, h.dtype)
    x = matmul_into(xp, h, xp.matrix_transpose(w), out)
    if bias is None:
        return x
    if overwrite or out is not None:
        x += bias
        return x
    return x + bias


def lse_start(xp: Namespace, h: Array) -> tuple[Array, Array]:
    """The running log-sum-exp of no chunk: ``(top, total) = (-inf, 0)`` per row."""
    n = h.shape[0]
    dev = device_of(h)
    return xp.full((n,), -math.inf, dtype=h.dtype, device=dev), xp.zeros((n,), dtype=h.dtype, device=dev)


def _finite(xp: Namespace, top: Array) -> Array:
    return xp.where(xp.isfinite(top), top, 0.0)


def lse_update(
    xp: Namespace, state: tuple[Array, Array], x: Array, *, overwrite: bool = False
) -> tuple[Array, Array]:
    """Fold a chunk's logits into the running log-sum-exp (with `overwrite`, `x` is
    shifted and exponentiated in place: no second ``(N, chunk)`` array, but not for
    autodiff).

    The state is the largest logit seen so far (``top``, gradient stopped, -inf before
    any) and ``total = sum exp(x - top)`` over the logits seen (shifted by 0 where
    ``top`` is not finite). The old total is rescaled by ``exp(old - new) <= 1``
    (clipped, so that a -inf start gives ``0 * 1``, never ``0 * inf``).
    """
    top, total = state
    chunk_top = xp.max(stop_gradient(xp, x), axis=1)
    new = xp.where(chunk_top > top, chunk_top, top)
    shift = _finite(xp, new)
    rescale = xp.exp(xp.clip(_finite(xp, top) - shift, max=0.0))
    if overwrite:
        x -= xp.expand_dims(shift, axis=1)
        x = exp_in_place(xp, x)
    else:
        x = xp.exp(x - xp.expand_dims(shift, axis=1))
    total = total * rescale + xp.sum(x, axis=1)
    return new, total


def lse_finish(xp: Namespace, state: tuple[Array, Array]) -> tuple[Array, Array]:
    """``(shift, log_total)`` with ``lse = shift + log_total``; a row of all -inf
    logits gets ``log_total = 0`` with a zero gradient (a double ``where``)."""
    top, total = state
    positive = total > 0.0
    return _finite(xp, top), xp.where(positive, xp.log(xp.where(positive, total, 1.0)), 0.0)


def coefficients(xp: Namespace, lse: Array, g: Array, plan: Plan) -> tuple[Array, Array, Array | None]:
    """Per-row factors of the logits' gradient ``G = scale p - rest - hit onehot(t)``
    for the upstream gradient `g` of the row losses: ``scale = g (1 + 2 z lse)``,
    ``hit = g (1 - eps)``, ``rest = g eps / V`` (None without smoothing)."""
    eps, z = plan.label_smoothing, plan.z_loss
    scale = g if z == 0.0 else g * (1.0 + (2.0 * z) * lse)
    hit = g if eps == 0.0 else g * (1.0 - eps)
    rest = None if eps == 0.0 else g * (eps / plan.num_classes)
    return scale, hit, rest


def chunk_backward(
    xp: Namespace,
    h: Array,
    weight: Array,
    bias: Array | None,
    target: Array,
    start: Any,
    lse: Array,
    coefs: tuple[Array, Array, Array | None],
    need: tuple[bool, bool, bool],
    *,
    out: Array | None = None,
    into: tuple[Array | None, Array | None] = (None, None),
) -> tuple[Array | None, Array | None, Array | None]:
    """One chunk's contributions ``(G W_c, G^T h, sum_rows G)`` to the gradients of
    ``h``, of its weight block and of its bias block (None where `need` says not).

    `start` (a Python int, or a traced integer inside ``lax.scan``) is the chunk's first
    class; `coefs` come from :func:`coefficients`. `out` is a scratch array for ``G``;
    `into` holds ``dh``, to which ``G W_c`` is added, and the weight block's slice of
    ``dW``, into which ``G^T h`` is written (the first two results are then those).
    """
    # in-place updates (rebinding where arrays are immutable); nothing here is differentiated
    w = as_compute_dtype(xp, weight, h.dtype)
    grad = chunk_logits(xp, h, w, bias, overwrite=True, out=out)
    grad -= xp.expand_dims(lse, axis=1)
    grad = exp_in_place(xp, grad)
    scale, hit, rest = coefs
    grad *= xp.expand_dims(scale, axis=1)
    if rest is not None:
        grad -= xp.expand_dims(rest, axis=1)
    grad = add_at_columns(xp, grad, target - start, -hit)
    dh = matmul_into(xp, grad, w, into[0], add=True) if need[0] else None
    dw = matmul_into(xp, xp.matrix_transpose(grad), h, into[1]) if need[1] else None
    db = xp.sum(grad, axis=0) if need[2] else None
    return dh, dw, db


def row_losses(
    xp: Namespace,
    h: Array,
    weight: Array,
    bias: Array | None,
    target: Array,
    lse_parts: tuple[Array, Array],
    plan: Plan,
) -> Array:
    """``log_total + (1 - eps)(shift - x_t) + eps (shift - mean_c x_c) + z lse^2`` per row.

    ``shift - x_t`` is taken before ``log_total`` is added, so that a large common
    offset of the logits costs no precision (as ``cross_entropy``'s shifted logits).
    """
    shift, log_total = lse_parts
    eps, z = plan.label_smoothing, plan.z_loss
    w_t = as_compute_dtype(xp, xp.take(weight, target, axis=0), h.dtype)
    x_t = xp.sum(h * w_t, axis=1)
    if bias is not None:
        x_t = x_t + xp.take(bias, target, axis=0)
    loss = shift - x_t
    if eps != 0.0:
        mean_w = xp.sum(weight, axis=0, dtype=h.dtype) / plan.num_classes
        mean_x = xp.sum(h * mean_w, axis=1)
        if bias is not None:
            mean_x = mean_x + xp.mean(bias)
        loss = (1.0 - eps) * loss + eps * (shift - mean_x)
    loss = loss + log_total
    if z != 0.0:
        lse = shift + log_total
        loss = loss + z * (lse * lse)
    return loss


# --------------------------------------------------------------------------
# all chunks, in eager Python loops (the generic path and the torch native)
# --------------------------------------------------------------------------


def forward(
    xp: Namespace, h: Array, weight: Array, bias: Array | None, target: Array, plan: Plan, *,
    overwrite: bool = False,
) -> tuple[Array, Array]:
    """The row losses and the rows' log-sum-exp, by chunks of the vocabulary.

    Differentiable by autodiff (the shifts' gradients are stopped), though autodiff
    keeps every chunk's logits for its backward: the natives pair it with
    :func:`backward` instead, and pass `overwrite` (each chunk's logits written into
    one scratch array, in place, which autodiff does not allow).
    """
    state = lse_start(xp, h)
    scratch = _scratch(xp, h, plan) if overwrite else None
    for start, stop in spans(plan):
        b = None if bias is None else bias[start:stop]
        out = None if scratch is None else _block(xp, scratch, h.shape[0], stop - start)
        x = chunk_logits(xp, h, weight[start:stop, ...], b, overwrite=overwrite, out=out)
        state = lse_update(xp, state, x, overwrite=overwrite)
    parts = lse_finish(xp, state)
    return row_losses(xp, h, weight, bias, target, parts, plan), parts[0] + parts[1]


def backward(
    xp: Namespace,
    h: Array,
    weight: Array,
    bias: Array | None,
    target: Array,
    lse: Array,
    g: Array,
    plan: Plan,
    need: tuple[bool, bool, bool] = (True, True, True),
) -> tuple[Array | None, Array | None, Array | None]:
    """Gradients of ``sum(g * rows)`` for `h`, `weight` and `bias` (None where `need`
    says not, or without a bias), recomputing each chunk's logits into one scratch
    array. The gradients are allocated once, in the compute dtype, and written chunk by
    chunk."""
    coefs = coefficients(xp, lse, g, plan)
    n, d = h.shape
    dev = device_of(h)
    need = (need[0], need[1], need[2] and bias is not None)
    dh = xp.zeros((n, d), dtype=h.dtype, device=dev) if need[0] else None
    dw = xp.empty((plan.num_classes, d), dtype=h.dtype, device=dev) if need[1] else None
    db = xp.empty((plan.num_classes,), dtype=h.dtype, device=dev) if need[2] else None
    scratch = _scratch(xp, h, plan)
    for start, stop in spans(plan):
        b = None if bias is None else bias[start:stop]
        dw_c = None if dw is None else dw[start:stop, :]
        _, _, db_c = chunk_backward(xp, h, weight[start:stop, ...], b, target, start, lse, coefs, need,
                                    out=_block(xp, scratch, n, stop - start), into=(dh, dw_c))
        if db is not None:
            db[start:stop] = db_c
    return dh, dw, db


def _scratch(xp: Namespace, h: Array, plan: Plan) -> Array:
    """Room for one chunk's ``(N, chunk)`` logits, flat."""
    return xp.empty((h.shape[0] * plan.chunk,), dtype=h.dtype, device=device_of(h))


def _block(xp: Namespace, scratch: Array, rows: int, width: int) -> Array:
    """The ``(rows, width)`` array at the start of `scratch` (a view where the backend has them)."""
    return xp.reshape(scratch[: rows * width], (rows, width))
