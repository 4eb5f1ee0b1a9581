"""JAX kernels of the array layer's primitives.

Each gives the numbers of the generic Array API composition it replaces. Imported
only once a JAX array has been seen, or with polyloss when JAX already is.
"""

from __future__ import annotations

import sys
from typing import Any

# Imported only once jax itself is (see polyloss._array.backend_module): never imports it.
jax: Any = sys.modules["jax"]
jnp: Any = jax.numpy


def stop_gradient(x: jax.Array) -> jax.Array:
    return jax.lax.stop_gradient(x)


def value_range(x: jax.Array) -> tuple[int, int] | None:
    lowest = jnp.min(x)
    if isinstance(lowest, jax.core.Tracer):  # a concrete array closed over by a traced function
        return None
    return int(lowest), int(jnp.max(x))


def logsumexp(x: jax.Array, *, axis: int, keepdims: bool = False) -> jax.Array:
    return jax.nn.logsumexp(x, axis=axis, keepdims=keepdims)


def log_softmax(x: jax.Array, *, axis: int) -> jax.Array:
    return jax.nn.log_softmax(x, axis=axis)


def softplus(x: jax.Array) -> jax.Array:
    return jnp.logaddexp(x, 0.0)
