"""Margin losses against torch.nn.functional, optax and Keras, on every backend.

Each peer is computed in float64 on the float64 data (Keras' NumPy backend computes in
float32 whatever it is given: it is compared at rtol 1e-5); the backend under test gets
the data in its own dtype. Gradients: torch autograd of the torch peer, or jax.grad of
the optax peer, against the autodiff gradient of polyloss on the backend under test.

Disagreements between the peers, and where polyloss stands:
- 0/1 targets of the hinge losses: Keras converts them to ±1 when every target is 0 or
  1; optax converts nothing (a 0 target gives the loss 1). polyloss follows Keras.
- Keras averages the last axis before reducing; polyloss' "none" is per element (its
  "mean" is Keras' mean).
- torch's multi_margin_loss sums the hinge terms of the other classes and divides by C;
  optax's multiclass_hinge_loss (Crammer–Singer) takes their maximum. Both are here,
  under their own names.
- Keras and optax put the classes on the last axis; polyloss' class-axis losses default
  to axis=1 (torch layout).
- torch's soft_margin_loss overflows to inf beyond |margin| ~ 88 (float32) / 709
  (float64); polyloss' softplus stays finite.
- optax one-hot encodes out-of-range class labels to zeros (a finite loss); polyloss
  raises in eager calls and gives NaN under tracing.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")

import jax
import keras
import optax
import torch

import polyloss

pytestmark = pytest.mark.parity
F = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
KERAS_RTOL, KERAS_ATOL = 1e-5, 1e-6  # Keras' NumPy backend casts float64 to float32


def _x64() -> bool:
    return bool(jax.config.jax_enable_x64)


def _close(backend, out, expected, rtol=None, atol=None):
    got = out if isinstance(out, np.ndarray) else backend.to_numpy(out)
    np.testing.assert_allclose(got, np.asarray(expected, dtype=np.float64),
                               rtol=backend.rtol if rtol is None else rtol, atol=backend.atol if atol is None else atol)


def _optax_rtol(backend):
    return backend.rtol if _x64() else max(backend.rtol, 1e-5)


def _grad_rtol(backend, optax_peer=False):
    return 1e-10 if backend.dtype == "float64" and (_x64() or not optax_peer) else 1e-4


def _reduced(per, reduction):
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


def _grad(backend, fn, x):
    """The gradient of the scalar polyloss ``fn`` at NumPy ``x`` on the backend under test."""
    return backend.value_and_grad(fn, x)[1]


def _torch_grad(fn, x):
    t = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(fn(t), t)
    return g.numpy()


def _optax_grad(fn, x):
    return np.asarray(jax.grad(fn)(jax.numpy.asarray(x)), dtype=np.float64)


def _data(rng, shape=(4, 3, 5), scale=2.0):
    return rng.normal(scale=scale, size=shape)


def _labels(rng, kind, shape):
    if kind == "pm1":
        return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)
    if kind == "01":
        return (rng.uniform(size=shape) < 0.5).astype(np.float64)
    return rng.integers(-1, 2, size=shape).astype(np.float64)  # -1, 0, 1 mixed: not converted


def _keras_sign(y):
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


# --------------------------------------------------------------------------
# hinge, squared hinge: optax (±1) and Keras (with its 0/1 conversion)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pm1", "01", "mixed"])
def test_hinge_matches_optax_and_keras(kind, backend, rng):
    x = _data(rng)
    y = _labels(rng, kind, x.shape)
    per = np.asarray(optax.losses.hinge_loss(x, _keras_sign(y)), dtype=np.float64)
    xs, ys = backend.asarray(x), backend.asarray(y)
    for reduction in REDUCTIONS:
        out = polyloss.hinge_loss(xs, ys, reduction=reduction)
        _close(backend, out, _reduced(per, reduction), rtol=_optax_rtol(backend))
    if kind == "01":  # optax converts nothing: a 0 target gives 1
        raw = np.asarray(optax.losses.hinge_loss(x, y))
        assert np.all(raw[y == 0] == 1.0)
    none = backend.to_numpy(polyloss.hinge_loss(xs, ys, reduction="none"))
    np.testing.assert_allclose(none.mean(-1), keras.losses.hinge(y, x), rtol=KERAS_RTOL, atol=KERAS_ATOL)
    _close(backend, polyloss.hinge_loss(xs, ys), keras.losses.Hinge()(y, x), rtol=KERAS_RTOL, atol=KERAS_ATOL)
    _close(backend, polyloss.HingeLoss()(xs, ys), keras.losses.Hinge()(y, x), rtol=KERAS_RTOL, atol=KERAS_ATOL)


@pytest.mark.parametrize("kind", ["pm1", "01", "mixed"])
def test_squared_hinge_matches_keras(kind, backend, rng):
    x = _data(rng)
    y = _labels(rng, kind, x.shape)
    xs, ys = backend.asarray(x), backend.asarray(y)
    none = backend.to_numpy(polyloss.squared_hinge_loss(xs, ys, reduction="none"))
    np.testing.assert_allclose(none.mean(-1), keras.losses.squared_hinge(y, x), rtol=KERAS_RTOL, atol=KERAS_ATOL)
    _close(backend, polyloss.squared_hinge_loss(xs, ys), keras.losses.SquaredHinge()(y, x), rtol=KERAS_RTOL,
           atol=KERAS_ATOL)
    # the square of optax's hinge at Keras' converted targets, in float64
    per = np.asarray(optax.losses.hinge_loss(x, _keras_sign(y)), dtype=np.float64) ** 2
    for reduction in REDUCTIONS:
        _close(backend, polyloss.squared_hinge_loss(xs, ys, reduction=reduction), _reduced(per, reduction),
               rtol=_optax_rtol(backend) * 10)


def test_hinge_and_perceptron_gradients_match_optax(backend, rng):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x = _data(rng)
    y = _labels(rng, "pm1", x.shape)
    ys, yj = backend.asarray(y), jax.numpy.asarray(y)
    for mine, peer in ((polyloss.hinge_loss, optax.losses.hinge_loss),
                       (polyloss.perceptron_loss, optax.losses.perceptron_loss)):
        want = _optax_grad(lambda a, peer=peer: peer(a, yj).mean(), x)
        got = _grad(backend, lambda a, mine=mine: mine(a, ys), x)
        np.testing.assert_allclose(got, want, rtol=_grad_rtol(backend, True), atol=backend.atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_perceptron_matches_optax(reduction, backend, rng):
    x = _data(rng)
    y = _labels(rng, "pm1", x.shape)
    per = np.asarray(optax.losses.perceptron_loss(x, y), dtype=np.float64)
    out = polyloss.perceptron_loss(backend.asarray(x), backend.asarray(y), reduction=reduction)
    _close(backend, out, _reduced(per, reduction), rtol=_optax_rtol(backend))


# --------------------------------------------------------------------------
# categorical hinge: Keras
# --------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 1])
def test_categorical_hinge_matches_keras(axis, backend, rng):
    c = 4
    x = _data(rng, (3, 2, c))
    x[0, 0] = [2.0, -1.0, -0.5, -3.0]  # every other score negative: Keras' negative term is 0
    t = np.eye(c)[rng.integers(0, c, size=(3, 2))]
    t[0, 0] = np.eye(c)[0]
    per = np.asarray(keras.losses.categorical_hinge(t, x), dtype=np.float64)
    mean = keras.losses.CategoricalHinge()(t, x)
    if axis == 1:  # polyloss' torch layout: classes on axis 1
        x, t = np.moveaxis(x, -1, 1), np.moveaxis(t, -1, 1)
    xs, ts = backend.asarray(x), backend.asarray(t)
    out = polyloss.categorical_hinge_loss(xs, ts, axis=axis, reduction="none")
    _close(backend, out, per, rtol=KERAS_RTOL, atol=KERAS_ATOL)
    _close(backend, polyloss.categorical_hinge_loss(xs, ts, axis=axis), mean, rtol=KERAS_RTOL, atol=KERAS_ATOL)
    _close(backend, polyloss.categorical_hinge_loss(xs, ts, axis=axis, reduction="sum"), per.sum(),
           rtol=KERAS_RTOL, atol=KERAS_ATOL)


# --------------------------------------------------------------------------
# multi_margin_loss: torch
# --------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("options", [{}, {"margin": 0.3, "weight": True}, {"margin": -0.5}],
                         ids=["default", "margin_weight", "negative_margin"])
def test_multi_margin_matches_torch(p, options, backend, rng):
    n, c = 7, 5
    x = _data(rng, (n, c), scale=1.0)
    t = rng.integers(0, c, size=n)
    margin = options.get("margin", 1.0)
    w = rng.uniform(0.2, 3.0, size=c) if options.get("weight") else None
    kw = dict(p=p, margin=margin, weight=None if w is None else torch.tensor(w))
    xs, ts = backend.asarray(x), backend.asarray(t)
    for reduction in REDUCTIONS:
        expected = F.multi_margin_loss(torch.tensor(x), torch.tensor(t), reduction=reduction, **kw).numpy()
        out = polyloss.multi_margin_loss(xs, ts, p=p, margin=margin, weight=w, reduction=reduction)
        _close(backend, out, expected)
    # channel-last with extra dimensions: torch on the flattened samples
    x3, t3 = _data(rng, (2, 3, c)), rng.integers(0, c, size=(2, 3))
    expected = F.multi_margin_loss(torch.tensor(x3.reshape(-1, c)), torch.tensor(t3.reshape(-1)),
                                   reduction="none", **kw).numpy().reshape(2, 3)
    out = polyloss.multi_margin_loss(backend.asarray(x3), backend.asarray(t3), p=p, margin=margin, weight=w,
                                     axis=-1, reduction="none")
    _close(backend, out, expected)
    # unbatched (C,)
    expected = F.multi_margin_loss(torch.tensor(x[0]), torch.tensor(t[0]), **kw).numpy()
    _close(backend, polyloss.multi_margin_loss(backend.asarray(x[0]), backend.asarray(np.asarray(t[0])), p=p,
                                               margin=margin, weight=w), expected)
    if backend.has_grad:
        want = _torch_grad(lambda a: F.multi_margin_loss(a, torch.tensor(t), **kw), x)
        got = _grad(backend, lambda a: polyloss.multi_margin_loss(a, ts, p=p, margin=margin, weight=w), x)
        np.testing.assert_allclose(got, want, rtol=_grad_rtol(backend), atol=backend.atol)


# --------------------------------------------------------------------------
# Crammer–Singer hinge and multi-class perceptron: optax
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["multiclass_hinge_loss", "multiclass_perceptron_loss"])
@pytest.mark.parametrize("axis", [-1, 1])
def test_multiclass_matches_optax(name, axis, backend, rng):
    c = 5
    x = _data(rng, (4, 3, c), scale=0.7)
    t = rng.integers(0, c, size=(4, 3))
    peer = getattr(optax.losses, name)
    mine = getattr(polyloss, name)
    per = np.asarray(peer(x, t), dtype=np.float64)
    xa = x if axis == -1 else np.moveaxis(x, -1, 1)
    xs, ts = backend.asarray(xa), backend.asarray(t)
    for reduction in REDUCTIONS:
        _close(backend, mine(xs, ts, axis=axis, reduction=reduction), _reduced(per, reduction),
               rtol=_optax_rtol(backend))
    if backend.has_grad:
        tj = jax.numpy.asarray(t)
        want = _optax_grad(lambda a: peer(a, tj).sum(), x)
        got = _grad(backend, lambda a: mine(a, ts, axis=-1, reduction="sum"), x)
        np.testing.assert_allclose(got, want, rtol=_grad_rtol(backend, True), atol=backend.atol)


def test_crammer_singer_is_not_torch_multi_margin(backend, rng):
    """The two multi-class hinge losses differ: the largest violation (optax) against
    the mean over the classes of every violation (torch)."""
    x, t = _data(rng, (6, 4)), rng.integers(0, 4, size=6)
    xs, ts = backend.asarray(x), backend.asarray(t)
    cs = backend.to_numpy(polyloss.multiclass_hinge_loss(xs, ts, axis=-1, reduction="none"))
    mm = backend.to_numpy(polyloss.multi_margin_loss(xs, ts, axis=-1, reduction="none"))
    _close(backend, cs, np.asarray(optax.losses.multiclass_hinge_loss(x, t), dtype=np.float64),
           rtol=_optax_rtol(backend))
    _close(backend, mm, F.multi_margin_loss(torch.tensor(x), torch.tensor(t), reduction="none").numpy())
    assert np.all(mm <= cs * (4 - 1) / 4 + 1e-6) and not np.allclose(mm, cs)


# --------------------------------------------------------------------------
# multilabel_margin_loss: torch
# --------------------------------------------------------------------------


def _label_lists(rng, n, c):
    """Label lists padded with -1: every length from 0 to c, a repeated label, and
    entries after the first -1 (in [-1, c), as torch requires)."""
    t = np.full((n, c), -1, dtype=np.int64)
    for i in range(n):
        k = i % (c + 1)
        t[i, :k] = rng.permutation(c)[:k]
        if k + 1 < c:
            t[i, k + 1:] = rng.integers(-1, c, size=c - k - 1)
    t[1, :3] = [2, 2, -1]
    return t


def test_multilabel_margin_matches_torch(backend, rng):
    n, c = 8, 5
    x = _data(rng, (n, c), scale=0.7)
    t = _label_lists(rng, n, c)
    xs, ts = backend.asarray(x), backend.asarray(t)
    for reduction in REDUCTIONS:
        expected = F.multilabel_margin_loss(torch.tensor(x), torch.tensor(t), reduction=reduction).numpy()
        _close(backend, polyloss.multilabel_margin_loss(xs, ts, reduction=reduction), expected)
    for i in (1, 3):  # unbatched (C,)
        expected = F.multilabel_margin_loss(torch.tensor(x[i]), torch.tensor(t[i]), reduction="none").numpy()
        out = polyloss.multilabel_margin_loss(backend.asarray(x[i]), backend.asarray(t[i]), reduction="none")
        _close(backend, out, expected)
    if backend.has_grad:
        want = _torch_grad(lambda a: F.multilabel_margin_loss(a, torch.tensor(t)), x)
        got = _grad(backend, lambda a: polyloss.multilabel_margin_loss(a, ts), x)
        np.testing.assert_allclose(got, want, rtol=_grad_rtol(backend), atol=backend.atol)


def test_multilabel_margin_out_of_range_is_refused_as_torch(backend, rng):
    x = _data(rng, (2, 4))
    t = np.array([[0, 1, -1, 4], [2, -1, 0, 0]])
    with pytest.raises(RuntimeError, match="out of range"):
        F.multilabel_margin_loss(torch.tensor(x), torch.tensor(t))
    if backend.library == "dask":
        out = backend.to_numpy(polyloss.multilabel_margin_loss(backend.asarray(x), backend.asarray(t),
                                                               reduction="none"))
        assert np.isnan(out[0]) and np.isfinite(out[1])
    else:
        with pytest.raises(ValueError, match="class index 4"):
            polyloss.multilabel_margin_loss(backend.asarray(x), backend.asarray(t))


# --------------------------------------------------------------------------
# soft margin, multi-label soft margin, hinge embedding: torch
# --------------------------------------------------------------------------


def test_soft_margin_matches_torch(backend, rng):
    x = _data(rng)
    y = _labels(rng, "pm1", x.shape)
    xs, ys = backend.asarray(x), backend.asarray(y)
    for reduction in REDUCTIONS:
        expected = F.soft_margin_loss(torch.tensor(x), torch.tensor(y), reduction=reduction).numpy()
        _close(backend, polyloss.soft_margin_loss(xs, ys, reduction=reduction), expected)
    if backend.has_grad:
        want = _torch_grad(lambda a: F.soft_margin_loss(a, torch.tensor(y)), x)
        got = _grad(backend, lambda a: polyloss.soft_margin_loss(a, ys), x)
        np.testing.assert_allclose(got, want, rtol=_grad_rtol(backend), atol=backend.atol)


def test_soft_margin_is_finite_where_torch_overflows(backend):
    x, y = np.array([1e4, -800.0, 3.0]), np.array([-1.0, 1.0, 1.0])
    expected = F.soft_margin_loss(torch.tensor(x), torch.tensor(y), reduction="none").numpy()
    assert np.isinf(expected[:2]).all()  # log1p(exp(1e4)) overflows in torch
    out = backend.to_numpy(polyloss.soft_margin_loss(backend.asarray(x), backend.asarray(y), reduction="none"))
    np.testing.assert_allclose(out, [1e4, 800.0, expected[2]], rtol=backend.rtol)


@pytest.mark.parametrize("weight_shape", [None, (5,), (4, 5)])
def test_multilabel_soft_margin_matches_torch(weight_shape, backend, rng):
    x = _data(rng, (4, 5))
    y = _labels(rng, "01", x.shape)
    w = None if weight_shape is None else rng.uniform(0.2, 3.0, size=weight_shape)
    tw = None if w is None else torch.tensor(w)
    xs, ys = backend.asarray(x), backend.asarray(y)
    for reduction in REDUCTIONS:
        expected = F.multilabel_soft_margin_loss(torch.tensor(x), torch.tensor(y), weight=tw,
                                                 reduction=reduction).numpy()
        _close(backend, polyloss.multilabel_soft_margin_loss(xs, ys, weight=w, reduction=reduction), expected)
    # soft labels and an unbatched (C,) input
    ysoft = rng.uniform(size=x.shape)
    expected = F.multilabel_soft_margin_loss(torch.tensor(x), torch.tensor(ysoft), weight=tw).numpy()
    _close(backend, polyloss.multilabel_soft_margin_loss(xs, backend.asarray(ysoft), weight=w), expected)
    expected = F.multilabel_soft_margin_loss(torch.tensor(x[0]), torch.tensor(y[0])).numpy()
    _close(backend, polyloss.multilabel_soft_margin_loss(backend.asarray(x[0]), backend.asarray(y[0])), expected)
    if backend.has_grad:
        want = _torch_grad(lambda a: F.multilabel_soft_margin_loss(a, torch.tensor(y), weight=tw), x)
        got = _grad(backend, lambda a: polyloss.multilabel_soft_margin_loss(a, ys, weight=w), x)
        np.testing.assert_allclose(got, want, rtol=_grad_rtol(backend), atol=backend.atol)


@pytest.mark.parametrize("margin", [1.0, 0.4, 2.5, -0.5])
def test_hinge_embedding_matches_torch(margin, backend, rng):
    x = np.abs(_data(rng, (4, 6)))
    x[0, 0] = -0.7  # torch does not require distances to be non-negative
    y = _labels(rng, "pm1", x.shape)
    y[3, :3] = [0.0, 0.5, 2.0]  # neither 1 nor -1: both terms, as torch
    xs, ys = backend.asarray(x), backend.asarray(y)
    for reduction in REDUCTIONS:
        expected = F.hinge_embedding_loss(torch.tensor(x), torch.tensor(y), margin=margin,
                                          reduction=reduction).numpy()
        _close(backend, polyloss.hinge_embedding_loss(xs, ys, margin=margin, reduction=reduction), expected)
    if backend.has_grad:
        want = _torch_grad(lambda a: F.hinge_embedding_loss(a, torch.tensor(y), margin=margin), x)
        got = _grad(backend, lambda a: polyloss.hinge_embedding_loss(a, ys, margin=margin), x)
        np.testing.assert_allclose(got, want, rtol=_grad_rtol(backend), atol=backend.atol)


# --------------------------------------------------------------------------
# loss objects are torch criteria
# --------------------------------------------------------------------------


def test_loss_objects_match_torch_modules(backend, rng):
    x = _data(rng, (5, 4))
    t = rng.integers(0, 4, size=5)
    y = _labels(rng, "pm1", x.shape)
    xs = backend.asarray(x)
    pairs = [
        (polyloss.MultiMarginLoss(p=2, margin=0.5), torch.nn.MultiMarginLoss(p=2, margin=0.5), t),
        (polyloss.SoftMarginLoss(reduction="sum"), torch.nn.SoftMarginLoss(reduction="sum"), y),
        (polyloss.HingeEmbeddingLoss(margin=2.0), torch.nn.HingeEmbeddingLoss(margin=2.0), np.abs(y)),
        (polyloss.MultiLabelSoftMarginLoss(), torch.nn.MultiLabelSoftMarginLoss(), (y + 1) / 2),
        (polyloss.MultiLabelMarginLoss(), torch.nn.MultiLabelMarginLoss(), _label_lists(rng, 5, 4)),
    ]
    for mine, theirs, target in pairs:
        _close(backend, mine(xs, backend.asarray(target)), theirs(torch.tensor(x), torch.tensor(target)).numpy())
