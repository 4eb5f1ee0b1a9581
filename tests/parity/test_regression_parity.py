"""Regression losses against torch.nn.functional and optax, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import polyloss

pytestmark = pytest.mark.parity
torch = F = optax = None  # the peers: set by the `peers` fixture


@pytest.fixture(autouse=True, scope="module")
def peers():
    """Import the peers, with plain imports: in the parity session a missing peer fails
    every test here, never skips it; other sessions only collect this file (``-m "not
    parity"``) and need none of them."""
    global torch, F, optax
    import optax
    import torch

    F = torch.nn.functional


def _data(rng, shape=(4, 3, 5)):
    x = rng.normal(scale=2.0, size=shape)
    y = rng.normal(scale=2.0, size=shape)
    return x, y


def _torch(fn, *arrays, **options):
    return fn(*(torch.tensor(a) for a in arrays), **options).numpy()


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["l1_loss", "mse_loss"])
def test_l1_mse_match_torch(name, weighted, reduction, backend, rng):
    x, y = _data(rng)
    w = rng.uniform(0.0, 3.0, size=x.shape) if weighted else None
    expected = getattr(F, name)(torch.tensor(x), torch.tensor(y), reduction=reduction,
                                weight=None if w is None else torch.tensor(w)).numpy()
    out = getattr(polyloss, name)(backend.asarray(x), backend.asarray(y), weight=w, reduction=reduction)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol, atol=backend.atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 4.0])
def test_smooth_l1_matches_torch(beta, reduction, backend, rng):
    x, y = _data(rng)
    expected = _torch(F.smooth_l1_loss, x, y, beta=beta, reduction=reduction)
    out = polyloss.smooth_l1_loss(backend.asarray(x), backend.asarray(y), beta=beta, reduction=reduction)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol, atol=backend.atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [0.3, 1.0, 4.0])
def test_huber_matches_torch_and_optax(delta, reduction, backend, rng):
    x, y = _data(rng)
    expected = _torch(F.huber_loss, x, y, delta=delta, reduction=reduction)
    out = polyloss.huber_loss(backend.asarray(x), backend.asarray(y), delta=delta, reduction=reduction)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol, atol=backend.atol)
    # optax returns the elementwise form: torch's "none"
    per = np.asarray(optax.losses.huber_loss(np.asarray(x), np.asarray(y), delta=delta), dtype=np.float64)
    agg = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(expected, agg, rtol=1e-12 if _x64() else 1e-5)


def test_huber_delta_zero_is_zero_where_torch_refuses(backend, rng):
    """torch raises for delta=0; the Huber formula gives 0 everywhere, as optax does."""
    x, y = _data(rng)
    per = np.asarray(optax.losses.huber_loss(np.asarray(x), np.asarray(y), delta=0.0))
    out = polyloss.huber_loss(backend.asarray(x), backend.asarray(y), delta=0.0, reduction="none")
    np.testing.assert_array_equal(backend.to_numpy(out), per)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_log_cosh_matches_optax(reduction, backend, rng):
    x, y = _data(rng)
    peer_dtype = np.float64 if _x64() else np.float32  # JAX without x64 has no float64
    per = np.asarray(optax.losses.log_cosh(np.asarray(x, peer_dtype), np.asarray(y, peer_dtype)), dtype=np.float64)
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    out = polyloss.log_cosh_loss(backend.asarray(x), backend.asarray(y), reduction=reduction)
    rtol = backend.rtol if _x64() else 1e-5
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=rtol, atol=backend.atol)


def _x64() -> bool:
    import jax

    return bool(jax.config.jax_enable_x64)
