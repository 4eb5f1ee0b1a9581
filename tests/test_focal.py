"""Focal losses on the backend matrix: formulas against float64 NumPy, ignore_index,
errors, saturation (logits ±1e4, gamma in {0, 0.5, 1, 2, 5}), autodiff transforms.
Peers (the article, torch, torchvision, MONAI, Leng et al.) are in
tests/parity/test_focal_parity.py."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

import polyloss
from natives import seam

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


# --------------------------------------------------------------------------
# torch's native softmax focal kernel against the generic path
# --------------------------------------------------------------------------
# tests/test_native.py runs every declared native on its registered example; here the
# cases of the softmax focal kernel: layouts, ignore_index, every reduction, gamma on
# both sides of 1, alpha, masked and saturated logits, the cases it must decline.


def _torch_value_grad(backend: Any, fn: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value of ``fn(x)`` and the gradient of ``sum(c * fn(x))`` for a fixed non-uniform c."""
    import torch

    xt = backend.asarray(x).requires_grad_(True)
    out = fn(xt)
    c = torch.linspace(0.5, 1.5, max(out.numel(), 1), dtype=out.dtype).reshape(out.shape)
    (g,) = torch.autograd.grad((out * c).sum(), xt)
    return backend.to_numpy(out.detach()), backend.to_numpy(g)


def _native_conforms(backend: Any, fn: Any, x: np.ndarray, *, taken: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The native's value and gradient equal the generic path's (float64: rtol 1e-12,
    float32: 1e-5); `taken`: whether the native must answer (else it must decline)."""
    with seam("native") as runs:
        v1, g1 = _torch_value_grad(backend, fn, x)
    with seam("generic"):
        v0, g0 = _torch_value_grad(backend, fn, x)
    assert runs.answers, "the focal_loss native was not asked"
    assert all(runs.answers) if taken else not any(runs.answers), runs.answers
    tol = {"rtol": 1e-12, "atol": 1e-13} if backend.dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}
    assert v1.dtype == v0.dtype
    np.testing.assert_allclose(v1, v0, **tol)
    np.testing.assert_allclose(g1, g0, **tol)
    return v1, g1


def _torch_only(backend: Any) -> None:
    if backend.library != "torch":
        pytest.skip("torch's native kernel")


# (input shape, class axis): batched, K-dim, channel-last, a middle axis, unbatched
LAYOUTS = {"2d": ((6, 4), 1), "kdim": ((2, 4, 3, 2), 1), "channel_last": ((2, 3, 4), -1),
           "middle": ((2, 3, 4, 2), 2), "unbatched": ((4,), 0)}
NATIVE_CASES = [
    *[("kdim", "ignored", g, a, r) for g in (0.0, 0.5, 2.0) for a in (False, True) for r in ("mean", "sum", "none")],
    *[(lay, tg, 2.0, True, r) for lay in LAYOUTS for tg in ("valid", "ignored", "all_ignored")
      for r in ("mean", "none") if not (lay == "unbatched" and tg == "ignored")],
]


def _layout(layout: str, targets: str, seed: int = 7) -> tuple[np.ndarray, np.ndarray, int]:
    shape, axis = LAYOUTS[layout]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 2
    ax = axis % len(shape)
    t = rng.integers(0, 4, size=tuple(d for i, d in enumerate(shape) if i != ax))
    if targets == "ignored":
        t.reshape(-1)[::3] = -100
    elif targets == "all_ignored":
        t[...] = -100
    return x, t, axis


@pytest.mark.parametrize(("layout", "targets", "gamma", "weighted", "reduction"), NATIVE_CASES,
                         ids=["-".join(map(str, c)) for c in NATIVE_CASES])
def test_native_focal_matches_generic_and_numpy(backend, layout, targets, gamma, weighted, reduction):
    _torch_only(backend)
    x, t, axis = _layout(layout, targets)
    alpha = [0.1, 0.2, 0.3, 0.4] if weighted else None
    ts = backend.asarray(t)

    def fn(a: Any) -> Any:
        return polyloss.focal_loss(a, ts, gamma=gamma, alpha=alpha, axis=axis, reduction=reduction)

    value, grad = _native_conforms(backend, fn, x)
    loss, keep = _np_focal(x.astype(backend.dtype).astype(np.float64), t, gamma, alpha, axis=axis % x.ndim)
    want = {"none": loss, "sum": loss.sum(), "mean": loss.sum() / max(keep.sum(), 1)}[reduction]
    np.testing.assert_allclose(value, want, rtol=backend.rtol * 10, atol=backend.atol)
    assert np.isfinite(grad).all()
    if targets == "all_ignored":
        assert not grad.any() and not np.any(value)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_native_focal_saturation(backend, gamma):
    """Logits of ±1e4 (p_t = 1 and p_t = 0 to working precision): the generic path's
    values and (finite) gradients."""
    _torch_only(backend)
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4], [0.0, 0.0, 0.0], [30.0, 0.0, 0.0]])
    t = backend.asarray(np.array([0, 0, 1, 2, 0]))
    for reduction in ("mean", "none"):
        _, grad = _native_conforms(backend, lambda a, r=reduction: polyloss.focal_loss(
            a, t, gamma=gamma, alpha=[0.2, 0.3, 0.5], reduction=r), x)
        assert np.isfinite(grad).all()


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_native_focal_masked_logits(backend, gamma):
    """-inf logits of other classes: taken, no contribution; an ignored row of all -inf
    logits (its log-softmax is NaN): declined, 0 with a zero gradient; a -inf target
    logit: +inf."""
    _torch_only(backend)
    inf = np.inf
    x = np.array([[1.0, -inf, 0.5, 0.2], [2.0, -inf, -inf, -inf], [0.3, 0.1, -0.2, 1.0]])
    t = backend.asarray(np.array([2, 0, 3]))
    _, g = _native_conforms(backend, lambda a: polyloss.focal_loss(a, t, gamma=gamma), x)
    assert not g[0, 1] and not g[1].any()
    padded = np.concatenate([x, np.full((1, 4), -inf)])
    tp = backend.asarray(np.array([2, 0, 3, -100]))
    _, g = _native_conforms(backend, lambda a: polyloss.focal_loss(a, tp, gamma=gamma), padded, taken=False)
    assert np.isfinite(g).all() and not g[3].any()
    with seam("native") as runs:
        out = polyloss.focal_loss(backend.asarray(x), backend.asarray(np.array([1, 0, 3])), gamma=gamma,
                                  reduction="none")
    assert runs.answers == [True]
    assert backend.to_numpy(out)[0] == inf


def test_native_focal_target_dtypes_and_ignore_index(backend):
    """int32 and uint8 targets; an ignore_index inside [0, C) (the background class);
    one a uint8 target cannot hold (nothing is ignored)."""
    _torch_only(backend)
    import torch

    x, t, _ = _layout("kdim", "valid")
    for dtype, ignore in ((torch.int32, -100), (torch.uint8, -100), (torch.int64, 0), (torch.int32, 3)):
        ts = torch.as_tensor(t).to(dtype)
        for reduction in ("mean", "none"):
            value, _ = _native_conforms(backend, lambda a, r=reduction, ts=ts, ig=ignore: polyloss.focal_loss(
                a, ts, ignore_index=ig, alpha=[0.1, 0.2, 0.3, 0.4], reduction=r), x)
            kept = t if ignore < 0 else np.where(t == ignore, -100, t)
            loss, keep = _np_focal(x.astype(backend.dtype).astype(np.float64), kept, 2.0, [0.1, 0.2, 0.3, 0.4])
            want = loss if reduction == "none" else loss.sum() / keep.sum()
            np.testing.assert_allclose(value, want, rtol=backend.rtol * 10, atol=backend.atol)


def test_native_focal_declines_and_errors(backend):
    """Out-of-range indices raise the ValueError naming the index (ignored ones do not);
    NaN logits and torch.func transforms take the generic path; half precision keeps
    its dtype; a second derivative raises instead of dropping terms."""
    _torch_only(backend)
    import torch

    x, t, _ = _layout("kdim", "ignored")
    xs = backend.asarray(x)
    for bad in (4, -3):
        tb = t.copy()
        tb[1, 2, 1] = bad
        with seam("native") as runs, pytest.raises(ValueError, match=f"target holds class index {bad}"):
            polyloss.focal_loss(xs, backend.asarray(tb))
        assert runs.answers == []  # raised inside the native
    assert t[0, 0, 0] == -100 and t[0, 0, 1] != -100
    for pixel in ((0, 0), (0, 1)):  # a NaN logit in an ignored row and in a counted one
        xn = x.copy()
        xn[(0, 1, *pixel)] = np.nan
        tn = backend.asarray(t)
        with seam("native") as runs:
            polyloss.focal_loss(backend.asarray(xn), tn)
        assert runs.answers == [False]
        with seam("native"):
            native = backend.to_numpy(polyloss.focal_loss(backend.asarray(xn), tn, reduction="none"))
        with seam("generic"):
            generic = backend.to_numpy(polyloss.focal_loss(backend.asarray(xn), tn, reduction="none"))
        np.testing.assert_array_equal(native, generic)
    ts = backend.asarray(t)
    with seam("native") as runs:
        g = torch.func.grad(lambda a: polyloss.focal_loss(a, ts))(xs)
    assert runs.answers == [False]
    _, want = backend.value_and_grad(lambda a: polyloss.focal_loss(a, ts), x)
    np.testing.assert_allclose(backend.to_numpy(g), want, rtol=backend.rtol, atol=backend.atol)
    half = polyloss.focal_loss(xs.to(torch.float16), ts, reduction="none")
    assert half.dtype == torch.float16
    np.testing.assert_allclose(half.float().numpy(), _np_focal(x.astype(np.float16).astype(np.float64), t, 2.0)[0],
                               rtol=2e-3, atol=1e-3)
    xg = xs.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(polyloss.focal_loss(xg, ts), xg, create_graph=True)
    assert not g.requires_grad  # once differentiable: no silent second derivative
