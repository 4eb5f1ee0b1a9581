"""Probabilistic and robust regression losses against torch.nn.functional, optax, Keras
and scikit-learn, on every backend.

Each peer is computed in float64 on the float64 data (Keras' NumPy backend computes in
float32 whatever it is given: it is compared at rtol 1e-5); the backend under test gets
the data in its own dtype. Gradients: torch autograd of the torch peer against torch and
JAX autodiff of polyloss; jax.grad of optax against jax.grad of polyloss.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")

import jax
import keras
import optax
import sklearn.metrics
import torch

import polyloss

pytestmark = pytest.mark.parity
F = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
KERAS_RTOL = 1e-5  # Keras' NumPy backend casts float64 to float32


def _close(backend, out, expected, rtol=None, atol=None):
    np.testing.assert_allclose(
        backend.to_numpy(out), np.asarray(expected, dtype=np.float64),
        rtol=backend.rtol if rtol is None else rtol, atol=backend.atol if atol is None else atol,
    )


def _grads(backend, fn, *arrays):
    """Value and gradients of a scalar polyloss ``fn`` with respect to every NumPy argument."""
    if backend.library == "torch":
        ts = [backend.asarray(a).requires_grad_(True) for a in arrays]
        value = fn(*ts)
        return backend.to_numpy(value), [backend.to_numpy(g) for g in torch.autograd.grad(value, ts)]
    value, grads = jax.value_and_grad(fn, argnums=tuple(range(len(arrays))))(*(backend.asarray(a) for a in arrays))
    return backend.to_numpy(value), [backend.to_numpy(g) for g in grads]


def _torch_grads(fn, *arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    value = fn(*ts)
    return value.detach().numpy(), [g.numpy() for g in torch.autograd.grad(value, ts)]


def _grad_rtol(backend):
    return 1e-10 if backend.dtype == "float64" else 1e-4


def _x64() -> bool:
    return bool(jax.config.jax_enable_x64)


# --------------------------------------------------------------------------
# poisson_nll_loss: torch, Keras Poisson
# --------------------------------------------------------------------------


def _poisson_data(rng, log_input):
    x = rng.normal(size=(4, 3, 5))
    x = x if log_input else rng.uniform(0.0, 3.0, size=x.shape)
    y = rng.poisson(2.0, size=x.shape).astype(np.float64)
    y.flat[:4] = [0.0, 1.0, 1.5, 0.5]  # around the Stirling cut at 1
    return x, y


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_nll_matches_torch(log_input, full, backend, rng):
    x, y = _poisson_data(rng, log_input)
    for eps in (1e-8, 0.1):
        for reduction in REDUCTIONS:
            expected = F.poisson_nll_loss(torch.tensor(x), torch.tensor(y), log_input=log_input, full=full,
                                          eps=eps, reduction=reduction).numpy()
            out = polyloss.poisson_nll_loss(backend.asarray(x), backend.asarray(y), log_input=log_input, full=full,
                                            eps=eps, reduction=reduction)
            _close(backend, out, expected)
    if backend.has_grad:
        peer = lambda a, b: F.poisson_nll_loss(a, b, log_input=log_input, full=full)  # noqa: E731
        mine = lambda a, b: polyloss.poisson_nll_loss(a, b, log_input=log_input, full=full)  # noqa: E731
        _, (gx, gy) = _torch_grads(peer, x, y)
        _, (ox, oy) = _grads(backend, mine, x, y)
        np.testing.assert_allclose(ox, gx, rtol=_grad_rtol(backend), atol=backend.atol)
        # torch's target gradient is NaN at target 0 with full=True (log 0 before its
        # masked_fill); polyloss' double where keeps it finite
        torch_nan = np.isnan(gy)
        assert np.array_equal(torch_nan, full & (y == 0)) and np.isfinite(oy).all()
        np.testing.assert_allclose(oy[~torch_nan], gy[~torch_nan], rtol=_grad_rtol(backend), atol=backend.atol)


def test_poisson_nll_log_input_false_eps_1e7_is_keras_poisson(backend, rng):
    x, y = _poisson_data(rng, log_input=False)
    per = polyloss.poisson_nll_loss(backend.asarray(x), backend.asarray(y), log_input=False, eps=1e-7,
                                    reduction="none")
    per = backend.to_numpy(per)
    np.testing.assert_allclose(per.mean(-1), keras.losses.poisson(y, x), rtol=KERAS_RTOL, atol=1e-6)
    mean = polyloss.poisson_nll_loss(backend.asarray(x), backend.asarray(y), log_input=False, eps=1e-7)
    _close(backend, mean, keras.losses.Poisson()(y, x), rtol=KERAS_RTOL, atol=1e-6)


# --------------------------------------------------------------------------
# gaussian_nll_loss: torch (values and gradients, var shapes, errors)
# --------------------------------------------------------------------------

VAR_SHAPES = {"same": (4, 3, 5), "last1": (4, 3, 1), "fewer": (4, 3), "middle1": (4, 1, 5), "first1": (1, 3, 5)}


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", list(VAR_SHAPES))
def test_gaussian_nll_matches_torch(var_shape, full, backend, rng):
    x, y = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    var = rng.uniform(0.0, 2.0, size=VAR_SHAPES[var_shape])
    var.flat[:3] = [0.0, 1e-9, 1e-6]  # clamped, clamped, at eps
    for eps in (1e-6, 0.05):
        for reduction in REDUCTIONS:
            expected = F.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), torch.tensor(var), full=full, eps=eps,
                                           reduction=reduction).numpy()
            out = polyloss.gaussian_nll_loss(backend.asarray(x), backend.asarray(y), backend.asarray(var), full=full,
                                             eps=eps, reduction=reduction)
            _close(backend, out, expected)
    if backend.has_grad:  # with respect to input, target and var, through torch's no-grad clamp
        peer = lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=full, eps=0.05)  # noqa: E731
        mine = lambda a, b, c: polyloss.gaussian_nll_loss(a, b, c, full=full, eps=0.05)  # noqa: E731
        _, expected = _torch_grads(peer, x, y, var)
        _, got = _grads(backend, mine, x, y, var)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=_grad_rtol(backend), atol=backend.atol)


def test_gaussian_nll_scalar_var_matches_torch(backend, rng):
    x, y = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    for var in (0.7, 0.0):
        for reduction in REDUCTIONS:
            expected = F.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), var, full=True, reduction=reduction)
            out = polyloss.gaussian_nll_loss(backend.asarray(x), backend.asarray(y), var, full=True,
                                             reduction=reduction)
            _close(backend, out, expected.numpy())


def test_gaussian_nll_refuses_what_torch_refuses(backend, rng):
    x, y = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    bad_shapes = [(4, 3, 2), (4, 1, 1), (3, 5), (1, 4, 3, 5)]
    for shape in bad_shapes:
        var = np.ones(shape)
        with pytest.raises(ValueError, match="var"):
            F.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), torch.tensor(var))
        with pytest.raises(ValueError, match="var"):
            polyloss.gaussian_nll_loss(backend.asarray(x), backend.asarray(y), backend.asarray(var))
    negative = np.ones((4, 3, 1))
    negative[0, 0, 0] = -1.0
    with pytest.raises(ValueError, match="var"):
        F.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), torch.tensor(negative))
    if backend.library != "dask":  # lazy arrays give NaN instead
        with pytest.raises(ValueError, match="var"):
            polyloss.gaussian_nll_loss(backend.asarray(x), backend.asarray(y), backend.asarray(negative))


# --------------------------------------------------------------------------
# Keras-anchored: MAPE, MSLE
# --------------------------------------------------------------------------


def test_mape_matches_keras(backend, rng):
    x, y = rng.normal(scale=2.0, size=(4, 6)), rng.normal(scale=2.0, size=(4, 6))
    y[0, 0], y[1, 1] = 0.0, 3e-8  # under Keras' 1e-7 floor
    per = backend.to_numpy(polyloss.mape_loss(backend.asarray(x), backend.asarray(y), reduction="none"))
    np.testing.assert_allclose(per.mean(-1), keras.losses.mean_absolute_percentage_error(y, x), rtol=KERAS_RTOL)
    keras_object = keras.losses.MeanAbsolutePercentageError()
    _close(backend, polyloss.mape_loss(backend.asarray(x), backend.asarray(y)), keras_object(y, x), rtol=KERAS_RTOL)
    # Keras' "sum" sums the per-sample means
    summed = keras.losses.MeanAbsolutePercentageError(reduction="sum")(y, x)
    _close(backend, polyloss.mape_loss(backend.asarray(x), backend.asarray(y), reduction="sum"),
           summed * x.shape[-1], rtol=KERAS_RTOL)


def test_msle_matches_keras(backend, rng):
    x, y = rng.uniform(-0.5, 4.0, size=(4, 6)), rng.uniform(-0.5, 4.0, size=(4, 6))
    x[0, 0], y[0, 1] = 0.0, 0.0
    per = backend.to_numpy(polyloss.msle_loss(backend.asarray(x), backend.asarray(y), reduction="none"))
    np.testing.assert_allclose(per.mean(-1), keras.losses.mean_squared_logarithmic_error(y, x),
                               rtol=KERAS_RTOL, atol=1e-7)
    _close(backend, polyloss.msle_loss(backend.asarray(x), backend.asarray(y)),
           keras.losses.MeanSquaredLogarithmicError()(y, x), rtol=KERAS_RTOL, atol=1e-7)


# --------------------------------------------------------------------------
# cosine_distance_loss: optax (values, jax.grad), Keras CosineSimilarity
# --------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-8, 0.3])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_cosine_distance_matches_optax(axis, eps, backend, rng):
    x, y = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    zero = [slice(None)] * 3
    zero[axis], zero[(axis + 1) % 3] = slice(None), 0
    x[tuple(zero)] = 0.0  # some zero vectors along `axis`
    per = np.asarray(optax.losses.cosine_distance(x, y, epsilon=eps**2, axis=axis), dtype=np.float64)
    for reduction in REDUCTIONS:
        out = polyloss.cosine_distance_loss(backend.asarray(x), backend.asarray(y), axis=axis, eps=eps,
                                            reduction=reduction)
        _close(backend, out, {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction],
               rtol=backend.rtol if _x64() else 1e-5)
    if backend.library == "jax":
        peer = lambda a, b: optax.losses.cosine_distance(a, b, epsilon=eps**2, axis=axis).mean()  # noqa: E731
        expected = jax.grad(peer, argnums=(0, 1))(backend.asarray(x), backend.asarray(y))
        _, got = _grads(backend, lambda a, b: polyloss.cosine_distance_loss(a, b, axis=axis, eps=eps), x, y)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, np.asarray(e), rtol=_grad_rtol(backend), atol=backend.atol)


def test_cosine_distance_minus_one_is_keras_cosine_similarity(backend, rng):
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    x[0] = 0.0
    per = backend.to_numpy(polyloss.cosine_distance_loss(backend.asarray(x), backend.asarray(y), eps=1e-7,
                                                         reduction="none"))
    np.testing.assert_allclose(per - 1.0, keras.losses.cosine_similarity(y, x), rtol=KERAS_RTOL, atol=1e-6)
    out = polyloss.cosine_distance_loss(backend.asarray(x), backend.asarray(y), eps=1e-7)
    _close(backend, out, keras.losses.CosineSimilarity()(y, x) + 1.0, rtol=KERAS_RTOL, atol=1e-6)


# --------------------------------------------------------------------------
# pinball_loss: scikit-learn mean_pinball_loss
# --------------------------------------------------------------------------


@pytest.mark.parametrize("quantile", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("shape", [(7,), (7, 3)])
def test_pinball_matches_sklearn(shape, quantile, backend, rng):
    x, y = rng.normal(size=shape), rng.normal(size=shape)
    x[:2] = y[:2]  # ties
    expected = sklearn.metrics.mean_pinball_loss(y, x, alpha=quantile)
    _close(backend, polyloss.pinball_loss(backend.asarray(x), backend.asarray(y), quantile=quantile), expected)
    raw = sklearn.metrics.mean_pinball_loss(y, x, alpha=quantile, multioutput="raw_values")
    _close(backend, polyloss.pinball_loss(backend.asarray(x), backend.asarray(y), quantile=quantile, reduction="sum"),
           np.sum(raw) * shape[0])


@pytest.mark.parametrize("as_array", [False, True])
def test_pinball_per_output_quantiles_match_sklearn_output_by_output(as_array, backend, rng):
    x, y = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    q = [0.05, 0.5, 0.75, 1.0]
    quantile = backend.asarray(np.asarray(q)) if as_array else q
    raw = [sklearn.metrics.mean_pinball_loss(y[:, i], x[:, i], alpha=qi) for i, qi in enumerate(q)]
    _close(backend, polyloss.pinball_loss(backend.asarray(x), backend.asarray(y), quantile=quantile), np.mean(raw))
    # a batch of (n_samples, n_outputs) blocks is their concatenation
    x3, y3 = rng.normal(size=(3, 5, 4)), rng.normal(size=(3, 5, 4))
    raw3 = [sklearn.metrics.mean_pinball_loss(y3[..., i].ravel(), x3[..., i].ravel(), alpha=qi)
            for i, qi in enumerate(q)]
    _close(backend, polyloss.pinball_loss(backend.asarray(x3), backend.asarray(y3), quantile=quantile), np.mean(raw3))
