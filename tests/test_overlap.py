"""Dice, Jaccard, Tversky and generalized Dice on the backend matrix: the article's numbers,
shapes, options, errors, saturation, autodiff transforms and properties. Peers are in
tests/parity/test_overlap_parity.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import polyloss
from natives import seam

OVERLAP = [polyloss.dice_loss, polyloss.jaccard_loss, polyloss.tversky_loss, polyloss.generalized_dice_loss]
IDS = [f.__name__ for f in OVERLAP]

ARTICLE_INPUT = [[[0.2656, 0.4492, 0.3135], [0.8917, 0.2472, 0.4546], [0.3573, 0.1485, 0.3700]],
                 [[0.7022, 0.3999, 0.5945], [0.2945, 0.3459, 0.6240], [0.4438, 0.7022, 0.7051]]]
ARTICLE_TARGET = [[[1., 0., 0.], [0., 0., 1.], [1., 0., 0.]],
                  [[1., 0., 1.], [1., 1., 1.], [0., 1., 1.]]]


def _article_numpy(p, t):
    """The article's DiceLoss in NumPy: per sample ``2(I + 1)/(P + T + 1)``, mean, ``1 -``."""
    n = t.shape[0]
    p, t = p.reshape(n, -1), t.reshape(n, -1)
    return 1 - np.sum(2 * ((p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)) / n


@pytest.mark.parametrize("batched, printed", [(False, 0.3351), (True, 0.3738)])
def test_dice_reproduces_the_article(backend, batched, printed):
    p, t = np.asarray(ARTICLE_INPUT), np.asarray(ARTICLE_TARGET)
    if batched:
        p, t = p[None], t[None]
    got = float(backend.to_numpy(polyloss.dice_loss(backend.asarray(p), backend.asarray(t),
                                                     smooth_nr=2.0, smooth_dr=1.0)))
    np.testing.assert_allclose(got, _article_numpy(p, t), rtol=backend.rtol, atol=backend.atol)
    assert round(got, 4) == printed
    obj = polyloss.DiceLoss(smooth_nr=2.0, smooth_dr=1.0)
    assert float(backend.to_numpy(obj(backend.asarray(p), backend.asarray(t)))) == pytest.approx(got)


def _seg(seed=0, n=2, c=3, h=4, w=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    t = rng.integers(0, c, size=(n, h, w))
    return x, t


def _np_sums(p, t, axes):
    return (p * t).sum(axes), p.sum(axes), t.sum(axes)


@pytest.mark.parametrize("fn", OVERLAP, ids=IDS)
def test_class_map_equals_one_hot_and_channel_last(backend, fn):
    x, t = _seg()
    onehot = np.moveaxis(np.eye(3)[t], -1, 1)
    kw = dict(axis=1, activation="softmax", reduction="none")
    a = backend.to_numpy(fn(backend.asarray(x), backend.asarray(t), **kw))
    b = backend.to_numpy(fn(backend.asarray(x), backend.asarray(onehot), **kw))
    kw["axis"] = -1
    c = backend.to_numpy(fn(backend.asarray(np.moveaxis(x, 1, -1)), backend.asarray(t), **kw))
    np.testing.assert_allclose(a, b, rtol=backend.rtol, atol=backend.atol)
    np.testing.assert_allclose(a, c, rtol=backend.rtol, atol=backend.atol)


@pytest.mark.parametrize("fn", OVERLAP, ids=IDS)
@pytest.mark.parametrize("kw", [
    dict(activation="softmax", ignore_index=-100, include_background=False),
    dict(activation="sigmoid", squared=True, batch=True, weight=[1.0, 2.0, 0.5]),
    dict(activation=None, ignore_index=1, squared=True),
    dict(activation="softmax", ignore_index=2, batch=True, include_background=False, weight=[2.0, 0.5]),
], ids=["ignore-sentinel-nobg", "sigmoid-squared-batch-weight", "none-ignore-class", "ignore-class-batch"])
def test_class_map_equals_one_hot_with_options(backend, fn, kw):
    """A class map (summed without a one-hot) against its one-hot (the dense path): an
    ignored label is an all-zero one-hot row, an ignored class in range drops its pixels."""
    x, t = _seg(7, h=4, w=5)
    if kw["activation"] is None:
        x = 1 / (1 + np.exp(-x))
    ignore = kw.get("ignore_index")
    if ignore is not None and ignore < 0:
        t[0, 1, :3] = ignore
        t[1, 0, 0] = ignore
    onehot = np.moveaxis(np.eye(3)[np.where(t < 0, 0, t)], -1, 1) * (t >= 0)[:, None]
    a = fn(backend.asarray(x), backend.asarray(t), axis=1, reduction="none", **kw)
    b = fn(backend.asarray(x), backend.asarray(onehot), axis=1, reduction="none", **kw)
    np.testing.assert_allclose(backend.to_numpy(a), backend.to_numpy(b), rtol=backend.rtol, atol=backend.atol)
    if backend.has_grad:
        ga = backend.value_and_grad(lambda v: fn(v, backend.asarray(t), axis=1, **kw), x)[1]
        gb = backend.value_and_grad(lambda v: fn(v, backend.asarray(onehot), axis=1, **kw), x)[1]
        np.testing.assert_allclose(ga, gb, rtol=backend.rtol, atol=backend.atol)


def test_dice_against_numpy_formula_and_shapes(backend):
    x, t = _seg(1)
    onehot = np.moveaxis(np.eye(3)[t], -1, 1)
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    i, ps, ts = _np_sums(p ** 1, onehot, (2, 3))
    want = 1 - (2 * i + 0.5) / (ps + ts + 1.5)
    xs, tb = backend.asarray(x), backend.asarray(t)
    kw = dict(axis=1, activation="softmax", smooth_nr=0.5, smooth_dr=1.5)
    np.testing.assert_allclose(backend.to_numpy(polyloss.dice_loss(xs, tb, reduction="none", **kw)), want,
                               rtol=backend.rtol, atol=backend.atol)
    w = np.array([1.0, 2.0, 0.5])
    got = polyloss.dice_loss(xs, tb, weight=w, **kw)
    np.testing.assert_allclose(backend.to_numpy(got), (want * w).sum() / (2 * w.sum()), rtol=backend.rtol)
    # batch=True: (C,); axis=None: (N,), batch: 0-d
    assert tuple(polyloss.dice_loss(xs, tb, batch=True, reduction="none", **kw).shape) == (3,)
    pb = backend.asarray(p[:, 0])
    assert tuple(polyloss.dice_loss(pb, pb, reduction="none").shape) == (2,)
    assert tuple(polyloss.dice_loss(pb, pb, batch=True, reduction="none").shape) == ()
    assert tuple(polyloss.generalized_dice_loss(xs, tb, axis=1, reduction="none").shape) == (2,)
    # squared
    i2, p2, t2 = (p * onehot).sum((2, 3)), (p * p).sum((2, 3)), onehot.sum((2, 3))
    got = polyloss.dice_loss(xs, tb, axis=1, activation="softmax", squared=True, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), 1 - (2 * i2 + 1) / (p2 + t2 + 1), rtol=backend.rtol)


def test_ignore_index_removes_pixels(backend):
    """Ignored pixels count in neither sum: equal to the loss on the kept pixels only."""
    x, t = _seg(2, h=4, w=4)
    t_ign = t.copy()
    t_ign[:, :, 2:] = 255
    for fn in OVERLAP:
        got = fn(backend.asarray(x), backend.asarray(t_ign), axis=1, activation="softmax", ignore_index=255,
                 reduction="none")
        want = fn(x[..., :2], t[..., :2], axis=1, activation="softmax", reduction="none")
        np.testing.assert_allclose(backend.to_numpy(got), want, rtol=backend.rtol * 10, atol=backend.atol)
    # axis=None: a float map with the ignore value
    p = 1 / (1 + np.exp(-x[:, 0]))
    tb = (t > 0).astype(np.float64)
    tb_ign = tb.copy()
    tb_ign[:, 3] = -1
    got = polyloss.dice_loss(backend.asarray(p), backend.asarray(tb_ign), ignore_index=-1, reduction="none")
    want = polyloss.dice_loss(p[:, :3], tb[:, :3], reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=backend.rtol, atol=backend.atol)


def test_every_pixel_ignored_is_finite(backend):
    x, t = _seg(3)
    t[:] = -100
    for fn in OVERLAP:
        out = fn(backend.asarray(x), backend.asarray(t), axis=1, activation="softmax", ignore_index=-100,
                 smooth_nr=0.0, smooth_dr=0.0)
        assert np.isfinite(backend.to_numpy(out)).all()


# --------------------------------------------------------------------------
# errors (SPEC §4)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fn", OVERLAP, ids=IDS)
def test_bad_options_raise(backend, fn):
    x, t = _seg()
    xs, ts = backend.asarray(x), backend.asarray(t)
    with pytest.raises(ValueError, match="activation"):
        fn(xs, ts, axis=1, activation="relu")
    with pytest.raises(ValueError, match="smooth_nr"):
        fn(xs, ts, axis=1, smooth_nr=-1.0)
    with pytest.raises(ValueError, match="smooth_dr"):
        fn(xs, ts, axis=1, smooth_dr=-1e-5)
    with pytest.raises(ValueError, match="reduction"):
        fn(xs, ts, axis=1, reduction="batchmean")
    with pytest.raises(ValueError, match="weight"):
        fn(xs, ts, axis=1, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="weight"):  # length C - 1 after include_background=False
        fn(xs, ts, axis=1, weight=[1.0, 2.0, 3.0], include_background=False)
    bad = t.copy()
    bad[0, 0, 0] = 5
    if backend.library == "dask":  # lazy: nothing is read, the loss is NaN instead
        assert np.isnan(backend.to_numpy(fn(xs, backend.asarray(bad), axis=1)))
    else:
        with pytest.raises(ValueError, match="5"):
            fn(xs, backend.asarray(bad), axis=1)
    with pytest.raises(TypeError, match="integer"):
        fn(xs, backend.asarray(t.astype(np.float64)), axis=1)
    with pytest.raises(ValueError, match="shape"):
        fn(xs, backend.asarray(t[:, :2]), axis=1)
    with pytest.raises(TypeError):
        fn(backend.asarray(t), ts, axis=1)
    with pytest.raises(TypeError, match="target"):
        fn(xs, [0, 1], axis=1)
    with pytest.raises(ValueError, match="softmax"):
        fn(xs[:, 0, ...], backend.asarray(x[:, 0]), activation="softmax")
    with pytest.raises(ValueError, match="batch axis"):
        fn(xs, backend.asarray(x), axis=0)


def test_loss_specific_bad_options(backend):
    x, t = _seg()
    xs, ts = backend.asarray(x), backend.asarray(t)
    with pytest.raises(ValueError, match="w_type"):
        polyloss.generalized_dice_loss(xs, ts, axis=1, w_type="cubic")
    for name in ("alpha", "beta", "gamma"):
        with pytest.raises(ValueError, match=name):
            polyloss.tversky_loss(xs, ts, axis=1, **{name: -0.1})


# --------------------------------------------------------------------------
# saturation, autodiff
# --------------------------------------------------------------------------


def _saturated(c=3):
    x = np.full((2, c, 2, 2), -1e4)
    t = np.array([[[0, 1], [2, 2]], [[1, 1], [0, 2]]]) % c
    x[:, 0] = 1e4  # class 0 certain everywhere: right on some pixels, wrong on others
    return x, t


@pytest.mark.parametrize("fn", OVERLAP, ids=IDS)
@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_finite_gradient_at_saturation(backend, fn, activation):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x, t = _saturated()
    ts = backend.asarray(t)
    gammas = [0.0, 0.5, 1.0, 2.0, 5.0] if fn is polyloss.tversky_loss else [None]
    for gamma in gammas:
        extra = {} if gamma is None else {"gamma": gamma}
        for smooth in (0.0, 1.0):
            value, grad = backend.value_and_grad(
                lambda a, e=extra, s=smooth: fn(a, ts, axis=1, activation=activation, smooth_nr=s, smooth_dr=s, **e),
                x,
            )
            assert np.isfinite(value).all() and np.isfinite(grad).all(), (gamma, smooth)


def test_finite_gradient_with_probabilities_0_and_1(backend):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    p = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    t = backend.asarray(np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    for fn in OVERLAP:
        for gamma in ([0.0, 0.5, 2.0] if fn is polyloss.tversky_loss else [None]):
            extra = {} if gamma is None else {"gamma": gamma}
            value, grad = backend.value_and_grad(lambda a, e=extra, fn=fn: fn(a, t, smooth_nr=0.0, smooth_dr=0.0, **e), p)
            assert np.isfinite(value).all() and np.isfinite(grad).all()


needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax")


@needs_torch
@pytest.mark.parametrize("fn, extra", [(polyloss.dice_loss, {}), (polyloss.tversky_loss, {"gamma": 1.5}),
                                       (polyloss.jaccard_loss, {"squared": True}),
                                       (polyloss.generalized_dice_loss, {"w_type": "simple"})],
                         ids=["dice", "tversky", "jaccard", "gdl"])
def test_torch_gradcheck(fn, extra):
    import torch

    x, t = _seg(4, h=2, w=2)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t)
    assert torch.autograd.gradcheck(lambda a: fn(a, tt, axis=1, activation="softmax", **extra), (xt,))


NATIVE_CASES = [
    (polyloss.dice_loss, dict(activation="softmax"), "float64", 1),
    (polyloss.dice_loss, dict(activation="softmax", ignore_index=-100, include_background=False), "float32", 1),
    (polyloss.dice_loss, dict(activation=None, squared=True, ignore_index=-100), "float64", 1),
    (polyloss.jaccard_loss, dict(activation="sigmoid", squared=True, weight=[1.0, 2.0, 0.5]), "float64", 1),
    (polyloss.jaccard_loss, dict(activation="sigmoid", ignore_index=-100, batch=True), "float32", -1),
    (polyloss.tversky_loss, dict(activation="softmax", alpha=0.3, beta=0.7, gamma=1.5, batch=True), "float64", -1),
    (polyloss.tversky_loss, dict(activation="softmax", squared=True, ignore_index=1), "float64", 1),
    (polyloss.generalized_dice_loss, dict(activation="softmax", w_type="simple", ignore_index=-100), "float64", 1),
    (polyloss.generalized_dice_loss, dict(activation=None, include_background=False), "float32", -1),
]


def _torch_run(fn, x_np, t_np, kw, dtype, *, native):
    """Value and gradient of ``sum(c * fn)`` on torch, with the loss's native kernel (each
    run recorded) or with the generic path only."""
    import torch

    with seam("native" if native else "generic") as runs:
        x = torch.tensor(x_np, dtype=getattr(torch, dtype), requires_grad=True)
        out = fn(x, torch.from_numpy(t_np), **kw)
        c = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
        (g,) = torch.autograd.grad((out * c).sum(), x)
    return out.detach().numpy(), g.numpy(), runs.answers


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("fn, kw, dtype, axis", NATIVE_CASES)
def test_torch_native_matches_generic(fn, kw, dtype, axis, reduction):
    """The torch kernel of the class-map sums (softmax, sigmoid, none; squared; ignored
    pixels and classes; channel-last) against the generic path, value and gradient."""
    x, t = _seg(8, n=3, c=3, h=5, w=4)
    t = t.astype(np.int32 if dtype == "float32" else np.int64)
    if kw.get("ignore_index") == -100:
        t[0, 2, :] = -100
        t[2, 0, 1] = -100
    if kw["activation"] is None:
        x = 1 / (1 + np.exp(-x))
    if axis == -1:
        x = np.moveaxis(x, 1, -1)
    kw = dict(kw, axis=axis, reduction=reduction)
    v1, g1, taken = _torch_run(fn, x, t, kw, dtype, native=True)
    v0, g0, none = _torch_run(fn, x, t, kw, dtype, native=False)
    assert taken == [True] and none == []
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v1, v0, **tol)
    np.testing.assert_allclose(g1, g0, **tol)


@needs_torch
def test_torch_native_declines_a_middle_class_axis():
    x, t = _seg(9, n=2, c=3, h=4, w=2)
    x = np.moveaxis(x, 1, 2)  # (N, H, C, W): class axis 2
    kw = dict(axis=2, activation="softmax", reduction="none")
    v1, _, taken = _torch_run(polyloss.dice_loss, x, t, kw, "float64", native=True)
    assert taken == [False]
    want = polyloss.dice_loss(np.moveaxis(x, 2, 1), t, axis=1, activation="softmax", reduction="none")
    np.testing.assert_allclose(v1, want, rtol=1e-12)


@needs_jax
def test_jax_jit_grad_vmap():
    import jax
    import jax.numpy as jnp

    x, t = _seg(5)
    xs = jnp.asarray(x, dtype=jnp.float32)
    ts = jnp.asarray(t)
    for fn in OVERLAP:
        f = lambda a, b, fn=fn: fn(a, b, axis=1, activation="softmax")  # noqa: E731
        eager = f(xs, ts)
        np.testing.assert_allclose(jax.jit(f)(xs, ts), eager, rtol=1e-5)
        g = jax.grad(f)(xs, ts)
        assert np.isfinite(np.asarray(g)).all()
        stacked = jax.vmap(f)(jnp.stack([xs, xs * 2]), jnp.stack([ts, ts]))
        np.testing.assert_allclose(stacked[0], eager, rtol=1e-5)
        np.testing.assert_allclose(stacked[1], f(xs * 2, ts), rtol=1e-5)
        obj = polyloss.DiceLoss(axis=1, activation="softmax")
        np.testing.assert_allclose(jax.jit(lambda a, b, obj=obj: obj(a, b))(xs, ts), polyloss.dice_loss(xs, ts, axis=1, activation="softmax"),
                                   rtol=1e-5)
    # an out-of-range class under tracing is NaN, not a finite number
    bad = ts.at[0, 0, 0].set(7)
    assert np.isnan(float(jax.jit(lambda a, b: polyloss.dice_loss(a, b, axis=1))(xs, bad)))


@needs_torch
@pytest.mark.slow  # 15-30 s of compilation
def test_torch_compile_fullgraph():
    import torch

    x, t = _seg(6)
    xt, tt = torch.tensor(x, dtype=torch.float32), torch.tensor(t)
    tt[1, 0, 0] = -100
    for fn in (polyloss.dice_loss, polyloss.generalized_dice_loss):
        f = lambda a, b, fn=fn: fn(a, b, axis=1, activation="softmax", ignore_index=-100)  # noqa: E731
        eager = f(xt, tt)  # the native kernel is resolved eagerly first: compiled, it is traced
        compiled = torch.compile(f, fullgraph=True)
        torch.testing.assert_close(compiled(xt, tt), eager)
        xg = xt.clone().requires_grad_(True)
        (g_compiled,) = torch.autograd.grad(compiled(xg, tt), xg)
        (g_eager,) = torch.autograd.grad(f(xg, tt), xg)
        torch.testing.assert_close(g_compiled, g_eager)
        bad = tt.clone()
        bad[0, 0, 0] = 9
        assert torch.isnan(compiled(xt, bad))


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

# no subnormal numbers: Tversky's halves of them round to 0, and 0/0 counts as agreement
probs = arrays(np.float64, (2, 3, 4), elements=st.floats(0.0, 1.0, allow_subnormal=False))
smooth = st.floats(0.0, 10.0, allow_subnormal=False)


@settings(max_examples=60, deadline=None)
@given(p=probs, t=probs, s=smooth, extra=st.floats(0.0, 5.0, allow_subnormal=False), squared=st.booleans(),
       batch=st.booleans())
def test_dice_properties(p, t, s, extra, squared, batch):
    kw = dict(axis=1, squared=squared, batch=batch, reduction="none")
    d = polyloss.dice_loss(p, t, smooth_nr=s, smooth_dr=s + extra, **kw)
    assert np.all(d >= -1e-12) and np.all(d <= 1 + 1e-12)
    j = polyloss.jaccard_loss(p, t, smooth_nr=s, smooth_dr=s + extra, **kw)
    assert np.all(j >= d - 1e-12)
    if not squared:
        tv = polyloss.tversky_loss(p, t, alpha=0.5, beta=0.5, smooth_nr=s / 2, smooth_dr=(s + extra) / 2, **kw)
        np.testing.assert_allclose(tv, d, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(labels=arrays(np.int64, (2, 5), elements=st.integers(0, 2)), s=smooth, squared=st.booleans(),
       batch=st.booleans())
def test_perfect_prediction_is_zero(labels, s, squared, batch):
    onehot = np.moveaxis(np.eye(3)[labels], -1, 1)
    for fn in OVERLAP:
        out = fn(onehot, labels, axis=1, smooth_nr=s, smooth_dr=s, squared=squared, batch=batch, reduction="none")
        np.testing.assert_allclose(out, 0.0, atol=1e-12)
