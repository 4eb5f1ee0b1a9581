"""Focal losses on the backend matrix: formulas against float64 NumPy, ignore_index,
errors, saturation (logits ±1e4, gamma in {0, 0.5, 1, 2, 5}), autodiff transforms.
Peers (the article, torch, torchvision, MONAI, Leng et al.) are in
tests/parity/test_focal_parity.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import polyloss

GAMMAS = [0.0, 0.5, 1.0, 2.0, 5.0]
SIGMOID = [polyloss.sigmoid_focal_loss, polyloss.poly1_focal_loss]


def _np_focal(x, t, gamma, alpha=None, axis=1):
    x = np.moveaxis(x, axis, -1)
    lp = x - x.max(-1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    keep = t != -100
    lpt = np.take_along_axis(lp, np.where(keep, t, 0)[..., None], -1)[..., 0]
    a = 1.0 if alpha is None else np.asarray(alpha)[np.where(keep, t, 0)]
    loss = np.where(keep, -a * (1 - np.exp(lpt)) ** gamma * lpt, 0.0)
    return loss, keep


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_loss_formula_ignore_index_and_axis(backend, gamma):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5))
    t = rng.integers(0, 4, size=(3, 5))
    t[0, :2] = -100
    alpha = [0.1, 0.2, 0.3, 0.4]
    loss, keep = _np_focal(x, t, gamma, alpha)
    xs, ts = backend.asarray(x), backend.asarray(t)
    tol = dict(rtol=backend.rtol * 10, atol=backend.atol)
    np.testing.assert_allclose(backend.to_numpy(polyloss.focal_loss(xs, ts, gamma=gamma, alpha=alpha,
                                                                    reduction="none")), loss, **tol)
    np.testing.assert_allclose(backend.to_numpy(polyloss.focal_loss(xs, ts, gamma=gamma, alpha=alpha)),
                               loss.sum() / keep.sum(), **tol)
    xl = backend.asarray(np.moveaxis(x, 1, -1))
    np.testing.assert_allclose(backend.to_numpy(polyloss.focal_loss(xl, ts, gamma=gamma, alpha=alpha, axis=-1,
                                                                    reduction="sum")), loss.sum(), **tol)
    # unbatched (C,) input with a 0-d target
    one = polyloss.focal_loss(backend.asarray(x[0, :, 4]), backend.asarray(np.asarray(t[0, 4])), gamma=gamma)
    np.testing.assert_allclose(backend.to_numpy(one), _np_focal(x[0, :, 4][None], t[0, 4][None], gamma)[0][0], **tol)


def test_focal_loss_every_target_ignored_is_zero_with_zero_gradient(backend):
    x = np.random.default_rng(1).normal(size=(2, 3))
    t = backend.asarray(np.array([-100, -100]))
    out = polyloss.focal_loss(backend.asarray(x), t)
    assert float(backend.to_numpy(out)) == 0.0
    if backend.has_grad:
        _, g = backend.value_and_grad(lambda a: polyloss.focal_loss(a, t), x)
        assert np.all(g == 0)


def test_focal_errors(backend):
    x = np.random.default_rng(2).normal(size=(2, 3, 4))
    t = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    xs, ts = backend.asarray(x), backend.asarray(t)
    with pytest.raises(ValueError, match="gamma"):
        polyloss.focal_loss(xs, ts, gamma=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        polyloss.focal_loss(xs, ts, alpha=[0.5, 0.5])
    with pytest.raises(ValueError, match="reduction"):
        polyloss.focal_loss(xs, ts, reduction="avg")
    with pytest.raises(TypeError, match="integer"):
        polyloss.focal_loss(xs, backend.asarray(t.astype(np.float64)))
    with pytest.raises(ValueError, match="shape"):
        polyloss.focal_loss(xs, backend.asarray(t[:, :3]))
    bad = t.copy()
    bad[1, 1] = 3
    if backend.library == "dask":
        assert np.isnan(backend.to_numpy(polyloss.focal_loss(xs, backend.asarray(bad))))
    else:
        with pytest.raises(ValueError, match="3"):
            polyloss.focal_loss(xs, backend.asarray(bad))
    xb, tb = backend.asarray(x[0]), backend.asarray((x[0] > 0).astype(np.float64))
    for fn in SIGMOID:
        with pytest.raises(ValueError, match="gamma"):
            fn(xb, tb, gamma=-0.5)
        with pytest.raises(ValueError, match="alpha"):
            fn(xb, tb, alpha=1.5)
        with pytest.raises(ValueError, match="shape"):
            fn(xb, backend.asarray(np.zeros((3, 3))))
        with pytest.raises(TypeError):
            fn(backend.asarray(t), backend.asarray(t))


# --------------------------------------------------------------------------
# saturation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", GAMMAS)
def test_focal_loss_saturation(backend, gamma):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4], [0.0, 0.0, 0.0]])
    t = backend.asarray(np.array([0, 0, 1, 2]))  # right, wrong, tied, uniform
    value, grad = backend.value_and_grad(lambda a: polyloss.focal_loss(a, t, gamma=gamma, alpha=[0.2, 0.3, 0.5]), x)
    assert np.isfinite(value) and np.isfinite(grad).all()
    # the wrong prediction's loss is its cross-entropy, 2e4 (alpha 0.2), over 4 elements
    assert float(value) == pytest.approx((0.2 * 2e4 + 0.3 * np.log(2) * 0.5 ** gamma
                                          + 0.5 * np.log(3) * (2 / 3) ** gamma) / 4, rel=1e-5)


@pytest.mark.parametrize("fn", SIGMOID, ids=["sigmoid_focal", "poly1_focal"])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_sigmoid_focal_saturation(backend, fn, gamma):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x = np.array([1e4, -1e4, 1e4, -1e4, 50.0, -50.0, 0.0, 1e4])
    t = backend.asarray(np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.3]))  # incl. a soft label
    for alpha in (0.25, None):
        value, grad = backend.value_and_grad(lambda a, al=alpha: fn(a, t, gamma=gamma, alpha=al), x)
        assert np.isfinite(value) and np.isfinite(grad).all(), alpha


needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax")


@needs_torch
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_torch_gradcheck(gamma):
    import torch

    rng = np.random.default_rng(3)
    x = torch.tensor(rng.normal(size=(3, 4, 2)), requires_grad=True)
    t = torch.tensor(rng.integers(0, 4, size=(3, 2)))
    assert torch.autograd.gradcheck(lambda a: polyloss.focal_loss(a, t, gamma=gamma, alpha=[1, 2, 3, 4.0]), (x,))
    xb = torch.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    tb = torch.tensor(rng.uniform(size=(3, 4)))
    for fn in SIGMOID:
        assert torch.autograd.gradcheck(lambda a, fn=fn: fn(a, tb, gamma=gamma), (xb,))


@needs_jax
def test_jax_jit_grad_vmap():
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.normal(size=(3, 4, 2)), dtype=jnp.float32)
    t = jnp.asarray(rng.integers(0, 4, size=(3, 2)))
    f = lambda a, b: polyloss.focal_loss(a, b, gamma=0.5, alpha=[0.1, 0.2, 0.3, 0.4])  # noqa: E731
    np.testing.assert_allclose(jax.jit(f)(x, t), f(x, t), rtol=1e-5)
    assert np.isfinite(np.asarray(jax.grad(f)(x, t))).all()
    v = jax.vmap(f)(jnp.stack([x, -x]), jnp.stack([t, t]))
    np.testing.assert_allclose(v[1], f(-x, t), rtol=1e-5)
    bad = t.at[0, 0].set(9)
    assert np.isnan(float(jax.jit(f)(x, bad)))
    xb, tb = x[:, 0], (x[:, 1] > 0).astype(jnp.float32)
    for fn in SIGMOID:
        g = lambda a, b, fn=fn: fn(a, b, gamma=0.5)  # noqa: E731
        np.testing.assert_allclose(jax.jit(g)(xb, tb), g(xb, tb), rtol=1e-5)
        assert np.isfinite(np.asarray(jax.grad(g)(xb * 1e4, tb))).all()
        np.testing.assert_allclose(jax.vmap(g)(xb, tb), [g(xb[i], tb[i]) for i in range(3)], rtol=1e-5)


@needs_torch
@pytest.mark.slow  # 15-30 s of compilation
def test_torch_compile_fullgraph():
    import torch

    rng = np.random.default_rng(5)
    x = torch.tensor(rng.normal(size=(3, 4, 2)), dtype=torch.float32)
    t = torch.tensor(rng.integers(0, 4, size=(3, 2)))
    f = lambda a, b: polyloss.focal_loss(a, b, gamma=0.5, alpha=[0.1, 0.2, 0.3, 0.4])  # noqa: E731
    compiled = torch.compile(f, fullgraph=True)
    torch.testing.assert_close(compiled(x, t), f(x, t))
    bad = t.clone()
    bad[0, 0] = 9
    assert torch.isnan(compiled(x, bad))
    tb = (x[:, 0] > 0).float()
    g = torch.compile(lambda a, b: polyloss.poly1_focal_loss(a, b, gamma=0.5), fullgraph=True)
    torch.testing.assert_close(g(x[:, 1], tb), polyloss.poly1_focal_loss(x[:, 1], tb, gamma=0.5))
