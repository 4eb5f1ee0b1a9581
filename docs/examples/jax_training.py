"""Train a softmax classifier with JAX and polyloss: jit, grad and vmap.

Run: python docs/examples/jax_training.py   (JAX_ENABLE_X64=1 for float64)
"""

import functools

import jax
import jax.numpy as jnp

import polyloss

# float32 is JAX's default. For float64 set JAX_ENABLE_X64=1 in the environment or call
# jax.config.update("jax_enable_x64", True) before creating any array: polyloss then
# computes in float64 too, since it follows the dtype of its input.
dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32

n, d, c = 512, 8, 3
kx, kw = jax.random.split(jax.random.key(0))
x = jax.random.normal(kx, (n, d), dtype)
y = jnp.argmax(x @ jax.random.normal(kw, (d, c), dtype), axis=1)  # int32 or int64 labels

# A loss object is immutable and hashable: close over it, or pass it as a static argument.
criterion = polyloss.CrossEntropyLoss(label_smoothing=0.05)


def loss_fn(params, x, y):
    logits = x @ params["w"] + params["b"]
    return criterion(logits, y)


@jax.jit
def step(params, x, y, lr=0.5):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, loss


params = {"w": jnp.zeros((d, c), dtype), "b": jnp.zeros(c, dtype)}
for epoch in range(200):
    params, loss = step(params, x, y)
    if epoch % 50 == 0:
        print(f"epoch {epoch:3d}  loss {float(loss):.4f}")

logits = x @ params["w"] + params["b"]
accuracy = float(jnp.mean(jnp.argmax(logits, axis=1) == y))
print(f"final loss {float(loss):.4f}, accuracy {accuracy:.3f}, dtype {loss.dtype}")
assert accuracy > 0.9 and loss.dtype == dtype

# Per-example losses, two ways: reduction="none", or vmap over unbatched calls
# (an unbatched (C,) input takes a 0-d target, as in torch).
per_example = polyloss.cross_entropy(logits, y, reduction="none")
vmapped = jax.vmap(polyloss.cross_entropy)(logits, y)
assert per_example.shape == (n,) and jnp.allclose(per_example, vmapped, rtol=1e-5)

# Per-example gradients: vmap of grad.
per_example_grads = jax.vmap(jax.grad(loss_fn), in_axes=(None, 0, 0))(
    params, x[:, None], y[:, None]
)
print("per-example gradient of w:", per_example_grads["w"].shape)  # (n, d, c)


# The loss object as a static argument of jit: changing its options recompiles.
@functools.partial(jax.jit, static_argnames="loss")
def evaluate(params, x, y, loss):
    return loss(x @ params["w"] + params["b"], y)


print("focal loss:", float(evaluate(params, x, y, loss=polyloss.FocalLoss(gamma=2.0))))
print(
    "poly-1 CE: ", float(evaluate(params, x, y, loss=polyloss.Poly1CrossEntropyLoss(epsilon=1.0)))
)
