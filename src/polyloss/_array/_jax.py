"""Native JAX kernels behind the array layer's fast-path seam.

Each function gives the numbers of the generic Array API composition it replaces
(the conformance tests compare the two) and is imported only once a JAX array has
been seen.
"""

from __future__ import annotations

import sys
from typing import Any

# Imported only once jax itself is (see polyloss._array.native): never imports it.
jax: Any = sys.modules["jax"]
jnp: Any = jax.numpy


def stop_gradient(x: jax.Array) -> jax.Array:
    return jax.lax.stop_gradient(x)


def logsumexp(x: jax.Array, *, axis: int, keepdims: bool = False) -> jax.Array:
    return jax.nn.logsumexp(x, axis=axis, keepdims=keepdims)


def log_softmax(x: jax.Array, *, axis: int) -> jax.Array:
    return jax.nn.log_softmax(x, axis=axis)


def softplus(x: jax.Array) -> jax.Array:
    return jnp.logaddexp(x, 0.0)


# --------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------


def cross_entropy(
    x: jax.Array, target: jax.Array, *, weight: jax.Array | None, ignore_index: int,
    label_smoothing: float, axis: int, reduction: str,
) -> jax.Array:
    """Class-index cross-entropy in one pass over the logits.

    The same operations as the generic composition, in an order XLA fuses without
    materialising the shifted logits: the class logit is gathered from `x` and then
    shifted (``x_t - m``, the very subtraction the generic path does on the whole
    array), so the numbers are identical.
    """
    if jnp.issubdtype(target.dtype, jnp.floating):
        return NotImplemented
    num_classes = x.shape[axis]
    _check_indices(target, num_classes, ignore_index)
    m = jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    lse = jnp.log(jnp.sum(jnp.exp(x - m), axis=axis))
    in_range = (target >= 0) & (target < num_classes)
    ignored = target == ignore_index
    valid = in_range | ignored
    safe = jnp.where(in_range, target, 0)
    x_t = jnp.squeeze(jnp.take_along_axis(x, jnp.expand_dims(safe, axis), axis=axis), axis)
    logp_t = (x_t - jnp.squeeze(m, axis)) - lse
    w_t = None if weight is None else jnp.take(weight, safe, axis=0)
    loss = -logp_t if w_t is None else -(w_t * logp_t)
    eps = float(label_smoothing)
    if eps != 0.0:
        if weight is None:
            smooth = num_classes * lse - jnp.sum(x - m, axis=axis)
        else:
            shape = [1] * x.ndim
            shape[axis] = num_classes
            w_c = jnp.reshape(weight, shape)
            smooth = jnp.sum(weight) * lse - jnp.sum((x - m) * w_c, axis=axis)
        loss = (1.0 - eps) * loss + (eps / num_classes) * smooth
    return _reduce_indexed(loss, reduction, valid=valid, ignored=ignored, w_t=w_t)


def nll_loss(
    x: jax.Array, target: jax.Array, *, weight: jax.Array | None, ignore_index: int,
    axis: int, reduction: str,
) -> jax.Array:
    num_classes = x.shape[axis]
    _check_indices(target, num_classes, ignore_index)
    in_range = (target >= 0) & (target < num_classes)
    ignored = target == ignore_index
    valid = in_range | ignored
    safe = jnp.where(in_range, target, 0)
    picked = jnp.squeeze(jnp.take_along_axis(x, jnp.expand_dims(safe, axis), axis=axis), axis)
    w_t = None if weight is None else jnp.take(weight, safe, axis=0)
    loss = -picked if w_t is None else -(w_t * picked)
    return _reduce_indexed(loss, reduction, valid=valid, ignored=ignored, w_t=w_t)


def _reduce_indexed(
    loss: jax.Array, reduction: str, *, valid: jax.Array, ignored: jax.Array, w_t: jax.Array | None
) -> jax.Array:
    """NaN at out-of-range indices, 0 at ignored ones; the mean over the total weight of
    the entries that count, 0 with a zero gradient when nothing counts (as the generic
    ``_reduce_indexed`` and ``reduce``)."""
    counts = ~ignored
    loss = jnp.where(counts, jnp.where(valid, loss, jnp.nan), 0.0)
    if reduction == "none":
        return loss
    total = jnp.sum(loss)
    if reduction == "sum":
        return total
    if w_t is None:
        divisor = jnp.sum(counts.astype(loss.dtype))
    else:
        divisor = jnp.sum(jnp.where(counts, w_t, 0.0))
    nonzero = divisor != 0
    return jnp.where(nonzero, total / jnp.where(nonzero, divisor, 1.0), 0.0)


def _check_indices(target: jax.Array, num_classes: int, ignore_index: int) -> None:
    """polyloss' eager validation (ValueError naming the index); nothing under tracing,
    where out-of-range indices give NaN. Lets the losses call the native unvalidated."""
    if isinstance(target, jax.core.Tracer):
        return
    import array_api_compat

    from .._checks import check_class_indices

    check_class_indices(array_api_compat.array_namespace(target), target, num_classes,
                        ignore_index=ignore_index)
