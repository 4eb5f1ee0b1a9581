"""``linear_cross_entropy`` against the materialised peers, on every backend.

torch: ``F.cross_entropy(h @ W.T + b, t, ignore_index=..., label_smoothing=...)`` plus
the z-loss ``z * logsumexp(h @ W.T + b)**2`` over the non-ignored rows (divided by their
number for ``"mean"``), values on every backend and gradients of hidden, weight and
bias under torch autograd. optax: ``softmax_cross_entropy_with_integer_labels(h @ W.T +
b, t)`` (and ``softmax_cross_entropy`` of ``smooth_labels`` for label smoothing), masked
and averaged over the non-ignored rows, with its gradients under ``jax.grad``.

Each peer is computed in float64 on the float64 data; the backend under test gets the
data in its own dtype (float32 backends compare at rtol 1e-5).
"""

from __future__ import annotations

import numpy as np
import pytest

import polyloss

pytestmark = pytest.mark.parity
torch = F = optax = jax = jnp = None  # the peers: set by the `peers` fixture


@pytest.fixture(autouse=True, scope="module")
def peers():
    """Import the peers, with plain imports: in the parity session a missing peer fails
    every test here, never skips it."""
    global torch, F, optax, jax, jnp
    import jax
    import jax.numpy as jnp
    import optax
    import torch

    F = torch.nn.functional


def _data(seed, lead=(3, 4), d=5, vocab=17, ignored=3):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(*lead, d))
    w = rng.normal(size=(vocab, d)) * 0.7
    b = rng.normal(size=vocab) * 0.5
    t = rng.integers(0, vocab, size=lead)
    flat = t.reshape(-1)
    flat[rng.choice(flat.size, size=ignored, replace=False)] = -100
    return h, w, b, t


def _torch_peer(h, w, b, t, *, label_smoothing, z_loss, reduction):
    """Value and gradients (hidden, weight, bias) of torch's materialised loss, float64."""
    ht, wt = torch.tensor(h, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    tt = torch.tensor(t).reshape(-1)
    logits = ht.reshape(-1, h.shape[-1]) @ wt.T + (0.0 if bt is None else bt)
    loss = F.cross_entropy(logits, tt, label_smoothing=label_smoothing, reduction="none")
    counted = tt != -100
    loss = loss + torch.where(counted, z_loss * torch.logsumexp(logits, dim=1) ** 2, 0.0)
    if reduction == "none":
        loss = loss.reshape(t.shape)
    else:
        loss = loss.sum() if reduction == "sum" else loss.sum() / counted.sum()
    c = torch.tensor(np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape)))
    inputs = [ht, wt] + ([] if bt is None else [bt])
    grads = torch.autograd.grad((loss * c).sum(), inputs)
    return loss.detach().numpy(), [g.numpy() for g in grads]


CASES = [
    ({"label_smoothing": 0.0, "z_loss": 0.0}, True, None),
    ({"label_smoothing": 0.1, "z_loss": 0.0}, False, 5),
    ({"label_smoothing": 0.0, "z_loss": 1e-2}, True, 4),
    ({"label_smoothing": 0.2, "z_loss": 1e-3}, True, 16),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("options", "with_bias", "chunk"), CASES)
def test_values_and_torch_gradients_match_torch(backend, options, with_bias, chunk, reduction):
    h, w, b, t = _data(seed=1)
    b = b if with_bias else None
    value, grads = _torch_peer(h, w, b, t, reduction=reduction, **options)
    ts = backend.asarray(t)
    tol = {"rtol": backend.rtol, "atol": backend.atol}
    args = [backend.asarray(a) for a in (h, w)] + [None if b is None else backend.asarray(b)]
    if backend.library == "torch":
        for a in args:
            if a is not None:
                a.requires_grad_(True)
    out = polyloss.linear_cross_entropy(*args[:2], ts, bias=args[2], chunk_size=chunk, reduction=reduction, **options)
    np.testing.assert_allclose(backend.to_numpy(out), value, **tol)
    if backend.library == "torch":
        c = torch.asarray(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)), dtype=out.dtype)
        used = [a for a in args if a is not None]
        got = torch.autograd.grad((out * c).sum(), used)
        for name, g, e in zip(("hidden", "weight", "bias"), got, grads, strict=False):
            np.testing.assert_allclose(backend.to_numpy(g), e, **tol, err_msg=f"gradient of {name}")


def _optax_peer(h, w, b, t, label_smoothing):
    """optax's mean cross-entropy of the materialised logits over the non-ignored rows."""
    x = h.reshape(-1, h.shape[-1]) @ w.T + b
    tf = t.reshape(-1)
    counted = tf != -100
    safe = jnp.where(counted, tf, 0)
    if label_smoothing:
        labels = optax.smooth_labels(jax.nn.one_hot(safe, w.shape[0], dtype=x.dtype), label_smoothing)
        rows = optax.losses.softmax_cross_entropy(x, labels)
    else:
        rows = optax.losses.softmax_cross_entropy_with_integer_labels(x, safe)
    return jnp.sum(jnp.where(counted, rows, 0.0)) / jnp.sum(counted)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_jax_grad_matches_optax(backend, label_smoothing):
    if backend.library != "jax":
        pytest.skip("jax.grad against optax")
    h, w, b, t = _data(seed=2, lead=(2, 6), d=4, vocab=21, ignored=4)
    hs, ws, bs, ts = (backend.asarray(a) for a in (h, w, b, t))
    h64, w64, b64 = (np.asarray(a, dtype=np.float64) for a in (h, w, b))

    def ours(h_, w_, b_):
        return polyloss.linear_cross_entropy(h_, w_, ts, bias=b_, label_smoothing=label_smoothing, chunk_size=8)

    def theirs(h_, w_, b_):
        return _optax_peer(h_, w_, b_, ts, label_smoothing)

    got_value, got = jax.jit(jax.value_and_grad(ours, argnums=(0, 1, 2)))(hs, ws, bs)
    if backend.dtype == "float64":
        want_value, want = jax.value_and_grad(theirs, argnums=(0, 1, 2))(h64, w64, b64)
    else:  # optax in float32 on the same data (float64 needs x64)
        want_value, want = jax.value_and_grad(theirs, argnums=(0, 1, 2))(hs, ws, bs)
    tol = {"rtol": backend.rtol, "atol": backend.atol}
    np.testing.assert_allclose(np.asarray(got_value), np.asarray(want_value), **tol)
    for name, g, e in zip(("hidden", "weight", "bias"), got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), **tol, err_msg=f"gradient of {name}")
