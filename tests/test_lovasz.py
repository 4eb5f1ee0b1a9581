"""Lovász-softmax, Lovász hinge and MCC losses on the backend matrix: against an
independent NumPy transcription of the formulas (pixels removed, one sort per class and
image), edge cases (empty foreground, every pixel ignored, one pixel, masked logits),
errors, the bound 0 <= Lovász-softmax <= 1, autodiff transforms and Dask.
The peer (segmentation_models_pytorch, transcribed) is in
tests/parity/test_lovasz_parity.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyloss

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax")
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
IGNORE = 255


# --------------------------------------------------------------------------
# NumPy transcription of the formulas
# --------------------------------------------------------------------------


def _np_lovasz_grad(gt):
    total = gt.sum()
    jaccard = 1.0 - (total - np.cumsum(gt)) / (total + np.cumsum(1.0 - gt))
    return np.concatenate([jaccard[:1], np.diff(jaccard)])


def _np_extension(errors, gt, hinge=False):
    order = np.argsort(-errors, kind="stable")
    e = errors[order]
    return float(np.maximum(e, 0.0) @ _np_lovasz_grad(gt[order]) if hinge else e @ _np_lovasz_grad(gt[order]))


def _np_softmax_flat(p, t, classes):
    """p: (P, C) probabilities of the counted pixels, t: (P,) their classes."""
    if t.size == 0:
        return 0.0
    losses = []
    for c in range(p.shape[1]):
        fg = (t == c).astype(np.float64)
        if classes == "present" and fg.sum() == 0:
            continue
        losses.append(_np_extension(np.abs(fg - p[:, c]), fg))
    return float(np.mean(losses)) if losses else 0.0


def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def np_lovasz_softmax(x, t, *, axis=1, activation="softmax", classes="present", per_image=False, ignore=None):
    """The batch loss (a float) or, with per_image, the loss of each image (N,)."""
    p = _softmax(x, axis) if activation == "softmax" else x
    p = np.moveaxis(p, axis, -1)
    C = p.shape[-1]

    def flat(pi, ti):
        pi, ti = pi.reshape(-1, C), ti.reshape(-1)
        keep = np.ones(ti.shape, bool) if ignore is None else ti != ignore
        return _np_softmax_flat(pi[keep], ti[keep], classes)

    if per_image:
        return np.array([flat(p[i], t[i]) for i in range(t.shape[0])])
    return flat(p, t)


def np_lovasz_hinge(x, t, *, per_image=False, ignore=None):
    def flat(xi, ti):
        xi, ti = xi.reshape(-1), ti.reshape(-1)
        keep = np.ones(ti.shape, bool) if ignore is None else ti != ignore
        xi, ti = xi[keep], ti[keep]
        if ti.size == 0:
            return 0.0
        return _np_extension(1.0 - xi * (2.0 * ti - 1.0), ti, hinge=True)

    if per_image:
        return np.array([flat(x[i], t[i]) for i in range(x.shape[0])])
    return flat(x, t)


def np_mcc(p, y, eps=1e-5):
    tp = (p * y).sum() + eps
    tn = ((1 - p) * (1 - y)).sum() + eps
    fp = (p * (1 - y)).sum() + eps
    fn = ((1 - p) * y).sum() + eps
    return 1.0 - (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))


def _reduced(per_image_losses, reduction):
    return {"none": per_image_losses, "mean": per_image_losses.mean(), "sum": per_image_losses.sum()}[reduction]


def _multiclass(seed=0, shape=(3, 4, 3, 5), ignored=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 2.0
    t = rng.integers(0, shape[1], size=(shape[0], *shape[2:]))
    if ignored:
        t[0, 0, :3] = IGNORE
        t[1, 1] = IGNORE
    t[-1] = np.where(t[-1] == shape[1] - 1, 0, t[-1])  # the last class absent from the last image
    return x, t


def _binary(seed=0, shape=(3, 4, 5), ignored=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 2.0
    t = (rng.uniform(size=shape) < 0.4).astype(np.float64)
    if ignored:
        t[0, 0, :2] = IGNORE
    return x, t


def _close(backend, got, want, factor=10):
    np.testing.assert_allclose(backend.to_numpy(got), np.asarray(want, dtype=np.float64),
                               rtol=backend.rtol * factor, atol=backend.atol)


# --------------------------------------------------------------------------
# formulas
# --------------------------------------------------------------------------


@pytest.mark.parametrize("classes", ["present", "all"])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_softmax_formula(backend, classes, per_image):
    x, t = _multiclass(1)
    xs, ts = backend.asarray(x), backend.asarray(t)
    want = np_lovasz_softmax(x, t, classes=classes, per_image=per_image, ignore=IGNORE)
    for reduction in ("mean", "sum", "none"):
        got = polyloss.lovasz_softmax_loss(xs, ts, classes=classes, per_image=per_image, ignore_index=IGNORE,
                                           reduction=reduction)
        if per_image:
            _close(backend, got, _reduced(want, reduction))
        else:  # one loss of the batch: every reduction is it, 0-d
            assert got.shape == ()
            _close(backend, got, want)


def test_lovasz_softmax_axis_activation_and_unbatched(backend):
    x, t = _multiclass(2, shape=(2, 3, 4, 2), ignored=False)
    p = _softmax(x, 1)
    want = np_lovasz_softmax(x, t)
    _close(backend, polyloss.lovasz_softmax_loss(backend.asarray(p), backend.asarray(t), activation=None), want)
    x_last = np.moveaxis(x, 1, -1)
    _close(backend, polyloss.lovasz_softmax_loss(backend.asarray(x_last), backend.asarray(t), axis=-1), want)
    # an unbatched (C,) input with a 0-d target is one pixel: the loss is 1 - p_target
    one = polyloss.lovasz_softmax_loss(backend.asarray(x[0, :, 0, 0]), backend.asarray(np.asarray(t[0, 0, 0])))
    _close(backend, one, 1.0 - p[0, t[0, 0, 0], 0, 0])


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_hinge_formula(backend, per_image):
    x, t = _binary(3)
    xs, ts = backend.asarray(x), backend.asarray(t)
    want = np_lovasz_hinge(x, t, per_image=per_image, ignore=IGNORE)
    for reduction in ("mean", "sum", "none"):
        got = polyloss.lovasz_hinge_loss(xs, ts, per_image=per_image, ignore_index=IGNORE, reduction=reduction)
        _close(backend, got, _reduced(want, reduction) if per_image else want)
    # integer labels are the same labels
    got = polyloss.lovasz_hinge_loss(xs, backend.asarray(t.astype(np.int64)), ignore_index=IGNORE)
    _close(backend, got, np_lovasz_hinge(x, t, ignore=IGNORE))


@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_mcc_formula(backend, eps):
    rng = np.random.default_rng(4)
    p = rng.uniform(size=(3, 4, 5))
    y = (rng.uniform(size=p.shape) < 0.3).astype(np.float64)
    for reduction in ("mean", "sum", "none"):
        got = polyloss.mcc_loss(backend.asarray(p), backend.asarray(y), eps=eps, reduction=reduction)
        assert got.shape == ()
        _close(backend, got, np_mcc(p, y, eps))


# --------------------------------------------------------------------------
# edge cases
# --------------------------------------------------------------------------


def _grad(backend, fn, x):
    if not backend.has_grad:
        return None
    _, g = backend.value_and_grad(fn, x)
    return g


@pytest.mark.parametrize("per_image", [False, True])
def test_every_pixel_ignored_is_zero_with_zero_gradient(backend, per_image):
    x, t = _multiclass(5)
    t[:] = IGNORE
    ts = backend.asarray(t)
    for classes in ("present", "all"):
        f = lambda a, classes=classes: polyloss.lovasz_softmax_loss(  # noqa: E731
            a, ts, classes=classes, per_image=per_image, ignore_index=IGNORE)
        assert float(backend.to_numpy(f(backend.asarray(x)))) == 0.0
        g = _grad(backend, f, x)
        assert g is None or np.all(g == 0)
    xb, tb = _binary(5)
    tb[:] = IGNORE
    tbs = backend.asarray(tb)
    h = lambda a: polyloss.lovasz_hinge_loss(a, tbs, per_image=per_image, ignore_index=IGNORE)  # noqa: E731
    assert float(backend.to_numpy(h(backend.asarray(xb)))) == 0.0
    g = _grad(backend, h, xb)
    assert g is None or np.all(g == 0)


def test_an_image_fully_ignored_counts_as_zero_in_the_per_image_mean(backend):
    x, t = _multiclass(6)
    t[1] = IGNORE
    got = polyloss.lovasz_softmax_loss(backend.asarray(x), backend.asarray(t), per_image=True,
                                       ignore_index=IGNORE, reduction="none")
    want = np_lovasz_softmax(x, t, per_image=True, ignore=IGNORE)
    assert want[1] == 0.0
    _close(backend, got, want)
    mean = polyloss.lovasz_softmax_loss(backend.asarray(x), backend.asarray(t), per_image=True, ignore_index=IGNORE)
    _close(backend, mean, want.sum() / 3)
    xb, tb = _binary(6)
    tb[2] = IGNORE
    got = polyloss.lovasz_hinge_loss(backend.asarray(xb), backend.asarray(tb), per_image=True, ignore_index=IGNORE)
    _close(backend, got, np_lovasz_hinge(xb, tb, per_image=True, ignore=IGNORE).mean())


def test_empty_foreground(backend):
    x, t = _multiclass(7, ignored=False)
    t[:] = 0  # one class present: "present" is that class alone
    xs, ts = backend.asarray(x), backend.asarray(t)
    p = _softmax(x, 1)
    # fg everywhere: the errors 1 - p_0 dotted with the gradient of an all-foreground truth
    _close(backend, polyloss.lovasz_softmax_loss(xs, ts), np_lovasz_softmax(x, t))
    # an absent class scores the largest probability it gives anywhere
    want_all = (np_lovasz_softmax(x, t) + sum(p[:, c].max() for c in range(1, 4))) / 4
    _close(backend, polyloss.lovasz_softmax_loss(xs, ts, classes="all"), want_all)
    # hinge with no foreground: the Jaccard of an empty truth is 1 for any non-empty
    # prediction, so the loss is the largest positive hinge error, max(1 + x, 0)
    xb, _ = _binary(7, ignored=False)
    zeros = np.zeros_like(xb)
    _close(backend, polyloss.lovasz_hinge_loss(backend.asarray(xb), backend.asarray(zeros)),
           max(1.0 + xb.max(), 0.0))
    g = _grad(backend, lambda a: polyloss.lovasz_hinge_loss(a, backend.asarray(zeros)), xb)
    if g is not None:
        want = np.zeros_like(xb)
        want[np.unravel_index(np.argmax(xb), xb.shape)] = 1.0
        np.testing.assert_allclose(g, want, atol=backend.atol)


def test_one_pixel_and_masked_logits(backend):
    # one pixel per image: the Lovász gradient is [1], the loss is the error
    x = np.array([[[0.5], [-1.0], [2.0]]])  # (N=1, C=3, 1 pixel)
    p = _softmax(x, 1)
    _close(backend, polyloss.lovasz_softmax_loss(backend.asarray(x), backend.asarray(np.array([[2]]))),
           1.0 - p[0, 2, 0])
    if not backend.has_grad:
        return
    # a logit of -inf is a probability of 0: finite value and gradient
    xm = np.array([[[0.5, -np.inf], [-1.0, 1.0], [2.0, 0.0]]])
    tm = backend.asarray(np.array([[2, 1]]))
    value, g = backend.value_and_grad(lambda a: polyloss.lovasz_softmax_loss(a, tm, classes="all"), xm)
    assert np.isfinite(value) and np.isfinite(g).all()
    np.testing.assert_allclose(value, np_lovasz_softmax(xm, np.array([[2, 1]]), classes="all"),
                               rtol=backend.rtol * 10, atol=backend.atol)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


def test_errors(backend):
    x, t = _multiclass(8, ignored=False)
    xs, ts = backend.asarray(x), backend.asarray(t)
    with pytest.raises(ValueError, match="activation"):
        polyloss.lovasz_softmax_loss(xs, ts, activation="sigmoid")
    with pytest.raises(ValueError, match="classes"):
        polyloss.lovasz_softmax_loss(xs, ts, classes="some")
    with pytest.raises(ValueError, match="reduction"):
        polyloss.lovasz_softmax_loss(xs, ts, reduction="avg")
    with pytest.raises(TypeError, match="per_image"):
        polyloss.lovasz_softmax_loss(xs, ts, per_image=1)
    with pytest.raises(TypeError, match="ignore_index"):
        polyloss.lovasz_softmax_loss(xs, ts, ignore_index=1.5)
    with pytest.raises(TypeError, match="integer"):
        polyloss.lovasz_softmax_loss(xs, backend.asarray(t.astype(np.float64)))
    with pytest.raises(TypeError, match="real floating"):
        polyloss.lovasz_softmax_loss(backend.asarray(t), ts)
    with pytest.raises(ValueError, match=r"\(3, 3, 5\)"):
        polyloss.lovasz_softmax_loss(xs, backend.asarray(t[:, :, :3]))
    with pytest.raises(ValueError, match="empty"):
        polyloss.lovasz_softmax_loss(backend.asarray(x[:0]), backend.asarray(t[:0]))
    with pytest.raises(TypeError, match="input"):
        polyloss.lovasz_softmax_loss(x.tolist(), ts)
    bad = t.copy()
    bad[1, 1, 1] = 4
    if backend.library == "dask":  # lazy: no eager check, NaN instead
        assert np.isnan(backend.to_numpy(polyloss.lovasz_softmax_loss(xs, backend.asarray(bad))))
    else:
        with pytest.raises(ValueError, match="4"):
            polyloss.lovasz_softmax_loss(xs, backend.asarray(bad))

    xb, tb = _binary(8, ignored=False)
    xbs, tbs = backend.asarray(xb), backend.asarray(tb)
    with pytest.raises(TypeError, match="per_image"):
        polyloss.lovasz_hinge_loss(xbs, tbs, per_image="yes")
    with pytest.raises(TypeError, match="ignore_index"):
        polyloss.lovasz_hinge_loss(xbs, tbs, ignore_index=True)
    with pytest.raises(ValueError, match="shape"):
        polyloss.lovasz_hinge_loss(xbs, backend.asarray(tb[:, :2]))
    with pytest.raises(TypeError, match="real floating"):
        polyloss.lovasz_hinge_loss(backend.asarray(tb.astype(np.int64)), tbs)
    with pytest.raises(ValueError, match="reduction"):
        polyloss.lovasz_hinge_loss(xbs, tbs, reduction="batchmean")

    pb = backend.asarray(_softmax(xb, -1))
    with pytest.raises(ValueError, match="eps"):
        polyloss.mcc_loss(pb, tbs, eps=-1e-5)
    with pytest.raises(ValueError, match="eps"):
        polyloss.mcc_loss(pb, tbs, eps=float("nan"))
    with pytest.raises(TypeError, match="eps"):
        polyloss.mcc_loss(pb, tbs, eps="small")
    with pytest.raises(ValueError, match="shape"):
        polyloss.mcc_loss(pb, backend.asarray(tb[:2]))


def test_mcc_eps_zero_degenerate_is_finite(backend):
    p = np.ones((2, 3))
    y = np.ones((2, 3))  # one class in truth and prediction: the denominator is 0
    out = polyloss.mcc_loss(backend.asarray(p), backend.asarray(y), eps=0.0)
    assert float(backend.to_numpy(out)) == 1.0
    g = _grad(backend, lambda a: polyloss.mcc_loss(a, backend.asarray(y), eps=0.0), p)
    assert g is None or np.all(g == 0)


# --------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 6)),
    classes=st.sampled_from(["present", "all"]),
    per_image=st.booleans(),
    sharp=st.floats(0.1, 20.0),
)
def test_lovasz_softmax_of_probabilities_is_in_0_1(seed, shape, classes, per_image, sharp):
    rng = np.random.default_rng(seed)
    n, c, pixels = shape
    p = _softmax(rng.normal(size=(n, c, pixels)) * sharp, 1)
    t = rng.integers(-1, c, size=(n, pixels))  # -1: ignored
    out = polyloss.lovasz_softmax_loss(p, t, activation=None, classes=classes, per_image=per_image,
                                       ignore_index=-1, reduction="none")
    assert np.all(out >= -1e-12) and np.all(out <= 1.0 + 1e-12)
    np.testing.assert_allclose(out, np_lovasz_softmax(p, t, activation=None, classes=classes,
                                                      per_image=per_image, ignore=-1), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30))
def test_lovasz_hinge_is_nonnegative_and_mcc_in_0_2(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n,)) * 3
    y = (rng.uniform(size=n) < 0.5).astype(np.float64)
    assert float(polyloss.lovasz_hinge_loss(x, y)) >= 0.0
    mcc = float(polyloss.mcc_loss(1 / (1 + np.exp(-x)), y))
    assert -1e-12 <= mcc <= 2.0 + 1e-12


# --------------------------------------------------------------------------
# autodiff transforms, torch.compile, Dask
# --------------------------------------------------------------------------


@needs_torch
def test_torch_gradcheck():
    import torch

    x, t = _multiclass(9, shape=(2, 3, 2, 3))
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    for per_image in (False, True):
        assert torch.autograd.gradcheck(
            lambda a, p=per_image: polyloss.lovasz_softmax_loss(a, tt, per_image=p, ignore_index=IGNORE), (xt,))
    xb, tb = _binary(9)
    xbt, tbt = torch.tensor(xb, requires_grad=True), torch.tensor(tb)
    assert torch.autograd.gradcheck(lambda a: polyloss.lovasz_hinge_loss(a, tbt, ignore_index=IGNORE), (xbt,))
    p = torch.tensor(np.random.default_rng(9).uniform(size=(3, 4)), requires_grad=True)
    y = torch.tensor((np.random.default_rng(10).uniform(size=(3, 4)) < 0.5).astype(np.float64))
    assert torch.autograd.gradcheck(lambda a: polyloss.mcc_loss(a, y), (p,))


@needs_jax
def test_jax_jit_grad_vmap():
    import jax
    import jax.numpy as jnp

    x, t = _multiclass(10)
    xj, tj = jnp.asarray(x), jnp.asarray(t)
    f = lambda a, b: polyloss.lovasz_softmax_loss(a, b, per_image=True, ignore_index=IGNORE)  # noqa: E731
    np.testing.assert_allclose(jax.jit(f)(xj, tj), np_lovasz_softmax(x, t, per_image=True, ignore=IGNORE).mean(),
                               rtol=1e-6)
    g = jax.jit(jax.grad(f))(xj, tj)
    np.testing.assert_allclose(g, jax.grad(f)(xj, tj), rtol=1e-6, atol=1e-12)
    assert np.isfinite(np.asarray(g)).all()
    # vmap over images: the per-image loss of each
    v = jax.vmap(lambda a, b: polyloss.lovasz_softmax_loss(a, b, ignore_index=IGNORE))(xj[:, None], tj[:, None])
    np.testing.assert_allclose(v, np_lovasz_softmax(x, t, per_image=True, ignore=IGNORE), rtol=1e-6)
    # an out-of-range class under jit: NaN
    assert np.isnan(float(jax.jit(f)(xj, tj.at[0, 1, 1].set(7))))
    xb, tb = _binary(10)
    h = lambda a, b: polyloss.lovasz_hinge_loss(a, b, ignore_index=IGNORE)  # noqa: E731
    xbj, tbj = jnp.asarray(xb), jnp.asarray(tb)
    np.testing.assert_allclose(jax.jit(h)(xbj, tbj), np_lovasz_hinge(xb, tb, ignore=IGNORE), rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(h)(xbj, tbj), np_lovasz_hinge(xb, tb, per_image=True, ignore=IGNORE),
                               rtol=1e-6)
    assert np.isfinite(np.asarray(jax.grad(h)(xbj, tbj))).all()
    m = jax.jit(jax.grad(lambda a, b: polyloss.mcc_loss(a, b)))(jax.nn.sigmoid(xbj), (tbj == 1).astype(xbj.dtype))
    assert np.isfinite(np.asarray(m)).all()


@needs_torch
@pytest.mark.slow  # compilation
def test_torch_compile_fullgraph():
    import torch

    x, t = _multiclass(11)
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    tt = torch.tensor(t)
    f = lambda a, b: polyloss.lovasz_softmax_loss(a, b, per_image=True, ignore_index=IGNORE)  # noqa: E731
    compiled = torch.compile(f, fullgraph=True)
    out = compiled(xt, tt)
    torch.testing.assert_close(out, f(xt, tt))
    (g,) = torch.autograd.grad(out, xt)
    (g_eager,) = torch.autograd.grad(f(xt, tt), xt)
    torch.testing.assert_close(g, g_eager)
    xb, tb = _binary(11)
    h = torch.compile(lambda a, b: polyloss.lovasz_hinge_loss(a, b, ignore_index=IGNORE), fullgraph=True)
    xbt, tbt = torch.tensor(xb, dtype=torch.float32), torch.tensor(tb, dtype=torch.float32)
    torch.testing.assert_close(h(xbt, tbt), polyloss.lovasz_hinge_loss(xbt, tbt, ignore_index=IGNORE))


def test_dask_is_lazy_with_the_sorted_axis_chunked(backend):
    """On Dask the sort axis is split into chunks: array-api-compat's argsort joins each
    sorted row into one chunk, the gather is a 1-D take; nothing is computed inside."""
    if backend.library != "dask":
        pytest.skip("Dask only")
    import dask
    import dask.array as da

    def raising(*args, **kwargs):
        raise AssertionError("a dask graph was executed inside polyloss")

    x, t = _multiclass(12)
    xb, tb = _binary(12)
    pb = _softmax(xb, -1)
    chunks = lambda a: da.from_array(a, chunks=tuple(1 for _ in a.shape))  # noqa: E731
    with dask.config.set(scheduler=raising):
        out = polyloss.lovasz_softmax_loss(chunks(x), chunks(t), per_image=True, ignore_index=IGNORE,
                                           reduction="none")
        batch = polyloss.lovasz_softmax_loss(chunks(x), chunks(t), classes="all", ignore_index=IGNORE)
        hinge = polyloss.lovasz_hinge_loss(chunks(xb), chunks(tb), ignore_index=IGNORE, per_image=True,
                                           reduction="none")
        mcc = polyloss.mcc_loss(chunks(pb), chunks(np.where(tb == IGNORE, 0.0, tb)))
    assert all(isinstance(a, da.Array) for a in (out, batch, hinge, mcc))
    np.testing.assert_allclose(out.compute(), np_lovasz_softmax(x, t, per_image=True, ignore=IGNORE), rtol=1e-12)
    np.testing.assert_allclose(batch.compute(), np_lovasz_softmax(x, t, classes="all", ignore=IGNORE), rtol=1e-12)
    np.testing.assert_allclose(hinge.compute(), np_lovasz_hinge(xb, tb, per_image=True, ignore=IGNORE), rtol=1e-12)
    np.testing.assert_allclose(mcc.compute(), np_mcc(pb, np.where(tb == IGNORE, 0.0, tb)), rtol=1e-12)
