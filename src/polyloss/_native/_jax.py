"""Native JAX kernels of whole losses (see ``polyloss._native``).

Each gives the numbers of the generic Array API path it replaces, as a program whose
size does not grow with the data: the CTC recursion, which the generic path unrolls
over time in eager Python, is one ``jax.lax.scan`` here, so that ``jax.jit`` of a
thousand frames compiles as fast as that of ten. Imported only once a JAX array has
been seen, or with polyloss when JAX already is.
"""

from __future__ import annotations

import sys
from typing import Any

from .. import _chunked

# Imported only once jax itself is (see polyloss._array.backend_module): never imports it.
jax: Any = sys.modules["jax"]
jnp: Any = jax.numpy
lax: Any = jax.lax

_INF = float("inf")


def _logaddexp(*terms: jax.Array) -> jax.Array:
    """The generic path's stable ``log(sum(exp(terms)))``: -inf with a zero gradient
    where every term is -inf (a double ``where``)."""
    top = terms[0]
    for term in terms[1:]:
        top = jnp.maximum(top, term)
    top = lax.stop_gradient(top)
    finite = jnp.isfinite(top)
    shift = jnp.where(finite, top, 0.0)
    total = jnp.exp(terms[0] - shift)
    for term in terms[1:]:
        total = total + jnp.exp(term - shift)
    return jnp.where(finite, jnp.log(jnp.where(finite, total, 1.0)) + shift, top)


def _shifted(alpha: jax.Array, by: int) -> jax.Array:
    """``alpha[:, s - by]``, -inf for ``s < by``."""
    padded = jnp.pad(alpha, ((0, 0), (by, 0)), constant_values=-_INF)
    return padded[:, : alpha.shape[1]]


def ctc_loss(
    log_probs: jax.Array, targets: jax.Array, input_lengths: jax.Array, target_lengths: jax.Array, *,
    blank: int,
) -> jax.Array:
    """Per-sample negative log-likelihoods of ``(T, N, C)`` log-probabilities and validated
    padded targets and lengths, by the generic path's alpha recursion as one ``scan``
    over time: inf, with a zero gradient, where no alignment exists."""
    num_steps, batch, _ = log_probs.shape
    width = targets.shape[1]
    states = 2 * width + 1
    s = jnp.arange(states)
    odd = (s % 2) == 1
    if width:
        label = jnp.take(targets, jnp.clip(s - 1, 0) // 2, axis=1)
        extended = jnp.where(odd, label, blank)
    else:
        extended = jnp.full((batch, 1), blank, dtype=targets.dtype)
    emissions = jnp.take_along_axis(
        log_probs, jnp.broadcast_to(extended[None], (num_steps, batch, states)), axis=2
    )
    two_back = jnp.take(extended, jnp.clip(s - 2, 0), axis=1)
    skip = odd & (s >= 3) & (extended != two_back)
    alpha = jnp.where(s == 0, 0.0, jnp.full((batch, states), -_INF, dtype=log_probs.dtype))

    def step(alpha: jax.Array, frame: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, None]:
        emission, t = frame
        jump = jnp.where(skip, _shifted(alpha, 2), -_INF)
        moved = _logaddexp(alpha, _shifted(alpha, 1), jump) + emission
        return jnp.where((t < input_lengths)[:, None], moved, alpha), None

    alpha, _ = lax.scan(step, alpha, (emissions, jnp.arange(num_steps)))
    end = 2 * target_lengths[:, None]
    last = jnp.take_along_axis(alpha, end, axis=1)[:, 0]
    before = jnp.where(target_lengths > 0, jnp.take_along_axis(alpha, jnp.clip(end - 1, 0), axis=1)[:, 0], -_INF)
    return -_logaddexp(last, before)


# --------------------------------------------------------------------------
# large vocabulary: linear cross-entropy by chunks
# --------------------------------------------------------------------------

# polyloss._chunked's per-chunk steps inside lax.scan over the vocabulary's full
# chunks (and once more for a narrower last chunk): the program does not grow with V,
# and the custom_vjp's backward recomputes each chunk's logits instead of keeping them.


def _lce_chunks(plan: _chunked.Plan, weight: jax.Array, bias: jax.Array | None):
    """``(count, slicer)``: the number of full chunks, and a function of a chunk index
    (traced) giving its weight and bias blocks."""
    size = plan.chunk

    def blocks(c: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        start = c * size
        w = lax.dynamic_slice_in_dim(weight, start, size, axis=0)
        b = None if bias is None else lax.dynamic_slice_in_dim(bias, start, size, axis=0)
        return w, b

    return plan.num_classes // size, blocks


def _lce_forward(
    plan: _chunked.Plan, h: jax.Array, weight: jax.Array, bias: jax.Array | None, target: jax.Array
) -> tuple[jax.Array, jax.Array]:
    full, blocks = _lce_chunks(plan, weight, bias)
    state = _chunked.lse_start(jnp, h)
    if full:
        def step(state: tuple[jax.Array, jax.Array], c: jax.Array) -> tuple[tuple[jax.Array, jax.Array], None]:
            w, b = blocks(c)
            x = _chunked.chunk_logits(jnp, h, w, b, overwrite=True)
            return _chunked.lse_update(jnp, state, x, overwrite=True), None

        state, _ = lax.scan(step, state, jnp.arange(full))
    tail = full * plan.chunk
    if tail < plan.num_classes:
        b = None if bias is None else bias[tail:]
        x = _chunked.chunk_logits(jnp, h, weight[tail:], b, overwrite=True)
        state = _chunked.lse_update(jnp, state, x, overwrite=True)
    parts = _chunked.lse_finish(jnp, state)
    return _chunked.row_losses(jnp, h, weight, bias, target, parts, plan), parts[0] + parts[1]


def _lce_backward(
    plan: _chunked.Plan, h: jax.Array, weight: jax.Array, bias: jax.Array | None, target: jax.Array,
    lse: jax.Array, g: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    full, blocks = _lce_chunks(plan, weight, bias)
    coefs = _chunked.coefficients(jnp, lse, g, plan)
    need = (True, True, bias is not None)
    dh = jnp.zeros_like(h)
    dws: list[jax.Array] = []
    dbs: list[jax.Array] = []
    if full:
        def step(dh: jax.Array, c: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array | None]]:
            w, b = blocks(c)
            dh_c, dw_c, db_c = _chunked.chunk_backward(jnp, h, w, b, target, c * plan.chunk, lse, coefs, need)
            return dh + dh_c, (dw_c, db_c)

        dh, (dw_s, db_s) = lax.scan(step, dh, jnp.arange(full))
        dws.append(dw_s.reshape(full * plan.chunk, h.shape[1]))
        if db_s is not None:
            dbs.append(db_s.reshape(full * plan.chunk))
    tail = full * plan.chunk
    if tail < plan.num_classes:
        b = None if bias is None else bias[tail:]
        dh_c, dw_c, db_c = _chunked.chunk_backward(jnp, h, weight[tail:], b, target, tail, lse, coefs, need)
        dh = dh + dh_c
        dws.append(dw_c)
        if db_c is not None:
            dbs.append(db_c)
    dw = dws[0] if len(dws) == 1 else jnp.concatenate(dws)
    db = None if bias is None else (dbs[0] if len(dbs) == 1 else jnp.concatenate(dbs))
    return dh, dw.astype(weight.dtype), db


def _lce_rows(
    plan: _chunked.Plan, h: jax.Array, weight: jax.Array, bias: jax.Array | None, target: jax.Array
) -> jax.Array:
    return _lce_forward(plan, h, weight, bias, target)[0]


def _lce_fwd(
    plan: _chunked.Plan, h: jax.Array, weight: jax.Array, bias: jax.Array | None, target: jax.Array
) -> tuple[jax.Array, tuple[jax.Array, ...]]:
    rows, lse = _lce_forward(plan, h, weight, bias, target)
    return rows, (h, weight, bias, target, lse)


def _lce_bwd(plan: _chunked.Plan, residuals: tuple[Any, ...], g: jax.Array) -> tuple[Any, ...]:
    h, weight, bias, target, lse = residuals
    dh, dw, db = _lce_backward(plan, h, weight, bias, target, lse, g)
    return dh, dw, db, None  # no cotangent for the integer targets


_lce = jax.custom_vjp(_lce_rows, nondiff_argnums=(0,))
_lce.defvjp(_lce_fwd, _lce_bwd)
# compiled once per shape and plan for eager calls too (inlined under an outer jit)
_lce_jit = jax.jit(_lce, static_argnums=(0,))


def linear_cross_entropy(
    h: jax.Array, weight: jax.Array, target: jax.Array, *, bias: jax.Array | None, plan: _chunked.Plan
) -> jax.Array:
    """Row losses of validated ``(N, d)`` hidden states (compute dtype), a ``(V, d)``
    weight, safe ``(N,)`` targets and an optional bias (compute dtype), by chunks under
    ``lax.scan``, with a ``custom_vjp`` that recomputes each chunk's logits."""
    return _lce_jit(plan, h, weight, bias, target)
