"""Probabilistic and robust regression losses on the backend matrix: formulas against
independent float64 NumPy, errors, edges (variances near 0, zero vectors, full=True,
per-output quantiles), autodiff transforms and hypothesis properties. Peers (torch,
optax, Keras, scikit-learn) are in tests/parity/test_probabilistic_parity.py."""

from __future__ import annotations

import importlib.util
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import polyloss

REDUCTIONS = ["mean", "sum", "none"]
AGGREGATE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax")


def _close(backend, out, expected, scale=10):
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol * scale, atol=backend.atol)


def _grad2(backend, fn, a, b):
    """Gradients of a scalar ``fn(a, b)`` with respect to both NumPy arguments."""
    if backend.library == "torch":
        import torch

        ta, tb = backend.asarray(a).requires_grad_(True), backend.asarray(b).requires_grad_(True)
        value = fn(ta, tb)
        ga, gb = torch.autograd.grad(value, (ta, tb))
        return backend.to_numpy(value), backend.to_numpy(ga), backend.to_numpy(gb)
    import jax

    value, (ga, gb) = jax.value_and_grad(fn, argnums=(0, 1))(backend.asarray(a), backend.asarray(b))
    return backend.to_numpy(value), backend.to_numpy(ga), backend.to_numpy(gb)


# --------------------------------------------------------------------------
# formulas against float64 NumPy
# --------------------------------------------------------------------------


def _np_poisson(x, y, log_input, full, eps):
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y)
        loss = loss + np.where(y > 1, stirling, 0.0)
    return loss


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_formula(backend, rng, log_input, full):
    x = rng.normal(size=(3, 4))
    x = x if log_input else np.abs(x)
    y = rng.uniform(0, 5, size=(3, 4))
    y[0, :3] = [0.0, 1.0, 1.5]
    eps = 1e-3
    expected = _np_poisson(x, y, log_input, full, eps)
    for reduction in REDUCTIONS:
        out = polyloss.poisson_nll_loss(backend.asarray(x), backend.asarray(y), log_input=log_input, full=full,
                                        eps=eps, reduction=reduction)
        _close(backend, out, AGGREGATE[reduction](expected))


def _var_cases(rng, shape):
    """var shapes that broadcast as torch's: full, last dim 1, one dim fewer, a middle dim 1."""
    return {
        "same": rng.uniform(0.1, 2.0, size=shape),
        "last1": rng.uniform(0.1, 2.0, size=(*shape[:-1], 1)),
        "fewer": rng.uniform(0.1, 2.0, size=shape[:-1]),
        "middle1": rng.uniform(0.1, 2.0, size=(shape[0], 1, shape[2])),
    }


@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_formula_and_var_shapes(backend, rng, full):
    shape = (3, 4, 5)
    x, y = rng.normal(size=shape), rng.normal(size=shape)
    const = 0.5 * np.log(2 * np.pi) if full else 0.0
    for name, var in _var_cases(rng, shape).items():
        v = var[..., None] if name == "fewer" else var
        v = np.maximum(v, 0.3)  # eps clamps the smaller variances
        expected = 0.5 * (np.log(v) + (x - y) ** 2 / v) + const
        for reduction in REDUCTIONS:
            out = polyloss.gaussian_nll_loss(backend.asarray(x), backend.asarray(y), backend.asarray(var),
                                             full=full, eps=0.3, reduction=reduction)
            _close(backend, out, AGGREGATE[reduction](expected))
    # a Python number for every element
    out = polyloss.gaussian_nll_loss(backend.asarray(x), backend.asarray(y), 0.5, full=full, reduction="none")
    _close(backend, out, 0.5 * (np.log(0.5) + (x - y) ** 2 / 0.5) + const)


def test_mape_msle_formulas(backend, rng):
    x, y = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    y[0, 0], y[1, 1] = 0.0, 1e-9  # the 1e-7 floor
    mape = 100 * np.abs(y - x) / np.maximum(np.abs(y), 1e-7)
    pos_x, pos_y = rng.uniform(-0.5, 3.0, size=(4, 5)), rng.uniform(-0.5, 3.0, size=(4, 5))
    msle = (np.log1p(np.maximum(pos_x, 1e-7)) - np.log1p(np.maximum(pos_y, 1e-7))) ** 2
    for reduction in REDUCTIONS:
        _close(backend, polyloss.mape_loss(backend.asarray(x), backend.asarray(y), reduction=reduction),
               AGGREGATE[reduction](mape))
        _close(backend, polyloss.msle_loss(backend.asarray(pos_x), backend.asarray(pos_y), reduction=reduction),
               AGGREGATE[reduction](msle))


def _np_cosine(x, y, axis, eps):
    nx = np.maximum(np.sqrt((x * x).sum(axis, keepdims=True)), eps)
    ny = np.maximum(np.sqrt((y * y).sum(axis, keepdims=True)), eps)
    return 1.0 - ((x / nx) * (y / ny)).sum(axis)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_cosine_distance_formula_and_axis(backend, rng, axis):
    x, y = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    x[0, 0, 0], y[1, 2, 3] = 0.0, 0.0
    for eps in (1e-8, 0.5):
        expected = _np_cosine(x, y, axis, eps)
        for reduction in REDUCTIONS:
            out = polyloss.cosine_distance_loss(backend.asarray(x), backend.asarray(y), axis=axis, eps=eps,
                                                reduction=reduction)
            _close(backend, out, AGGREGATE[reduction](expected))
    # a single vector: "none" gives a 0-d array
    out = polyloss.cosine_distance_loss(backend.asarray(x[0, 0]), backend.asarray(y[0, 0]), reduction="none")
    assert tuple(out.shape) == ()
    _close(backend, out, _np_cosine(x[0, 0], y[0, 0], -1, 1e-8))


def _np_pinball(x, y, q):
    d = y - x
    return np.where(d >= 0, q * d, (q - 1) * d)


@pytest.mark.parametrize("quantile", [0.0, 0.1, 0.5, 1.0, [0.1, 0.5, 0.9], "array"])
def test_pinball_formula_and_per_output_quantiles(backend, rng, quantile):
    x, y = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    x[0, 0] = y[0, 0]  # zero differences
    if quantile == "array":
        quantile = backend.asarray(np.array([0.25, 0.75, 0.05]))
        q = np.array([0.25, 0.75, 0.05])
    else:
        q = np.asarray(quantile)
    expected = _np_pinball(x, y, q)
    for reduction in REDUCTIONS:
        out = polyloss.pinball_loss(backend.asarray(x), backend.asarray(y), quantile=quantile, reduction=reduction)
        _close(backend, out, AGGREGATE[reduction](expected))


def test_loss_objects_hold_array_options(backend, rng):
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    obj = polyloss.PinballLoss(quantile=[0.1, 0.5, 0.9], reduction="sum")
    assert obj == polyloss.PinballLoss(quantile=(0.1, 0.5, 0.9), reduction="sum")
    assert hash(obj) == hash(polyloss.PinballLoss(quantile=[0.1, 0.5, 0.9], reduction="sum"))
    _close(backend, obj(backend.asarray(x), backend.asarray(y)), _np_pinball(x, y, np.array([0.1, 0.5, 0.9])).sum())
    v = rng.uniform(0.5, 1.0, size=(4,))
    g = polyloss.GaussianNLLLoss(full=True)
    _close(backend, g(backend.asarray(x), backend.asarray(y), backend.asarray(v)),
           np.mean(0.5 * (np.log(v[:, None]) + (x - y) ** 2 / v[:, None]) + 0.5 * np.log(2 * np.pi)))


# --------------------------------------------------------------------------
# errors (SPEC §4)
# --------------------------------------------------------------------------

TWO_ARRAY = [polyloss.poisson_nll_loss, polyloss.mape_loss, polyloss.msle_loss, polyloss.cosine_distance_loss,
             polyloss.pinball_loss]


def test_common_errors(backend, rng):
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    xs, ys, v = backend.asarray(x), backend.asarray(y), backend.asarray(np.ones((3, 4)))
    cases = [(fn, ()) for fn in TWO_ARRAY] + [(polyloss.gaussian_nll_loss, (v,))]
    for fn, extra in cases:
        with pytest.raises(TypeError, match="input"):
            fn(x.tolist(), ys, *extra)
        with pytest.raises(TypeError, match="target"):
            fn(xs, None, *extra)
        with pytest.raises(TypeError):
            fn(backend.asarray(np.arange(12).reshape(3, 4)), ys, *extra)
        with pytest.raises(ValueError, match=r"\(3, 4\).*\(4, 3\)"):
            fn(xs, backend.asarray(y.T), *extra)
        with pytest.raises(ValueError, match="reduction"):
            fn(xs, ys, *extra, reduction="avg")
        with pytest.raises(ValueError, match="empty"):
            fn(backend.asarray(np.zeros((0, 4))), backend.asarray(np.zeros((0, 4))), *extra)
    for fn in (polyloss.poisson_nll_loss, polyloss.cosine_distance_loss):
        with pytest.raises(ValueError, match="eps"):
            fn(xs, ys, eps=-1e-3)
        with pytest.raises(ValueError, match="eps"):
            fn(xs, ys, eps=math.nan)
        with pytest.raises(TypeError, match="eps"):
            fn(xs, ys, eps="small")
    with pytest.raises(ValueError, match="eps"):
        polyloss.gaussian_nll_loss(xs, ys, v, eps=math.inf)
    with pytest.raises(ValueError, match="axis"):
        polyloss.cosine_distance_loss(xs, ys, axis=2)


def test_gaussian_var_errors(backend, rng):
    x, y = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    xs, ys = backend.asarray(x), backend.asarray(y)
    for shape in [(3, 4, 2), (3, 1, 1), (4, 5), (1, 3, 4, 5), (5,), ()]:
        with pytest.raises(ValueError, match=rf"var.*{re_shape(shape)}"):
            polyloss.gaussian_nll_loss(xs, ys, backend.asarray(np.ones(shape)))
    with pytest.raises(TypeError, match="var"):
        polyloss.gaussian_nll_loss(xs, ys, backend.asarray(np.ones((3, 4, 5), dtype=np.int64)))
    with pytest.raises(TypeError, match="var"):
        polyloss.gaussian_nll_loss(xs, ys, "one")
    with pytest.raises(TypeError, match="var"):
        polyloss.gaussian_nll_loss(xs, ys, True)
    with pytest.raises(ValueError, match="var"):
        polyloss.gaussian_nll_loss(xs, ys, -1.0)
    if backend.library != "numpy":
        with pytest.raises(TypeError, match="var"):
            polyloss.gaussian_nll_loss(xs, ys, np.ones((3, 4, 5)))
    negative = np.ones((3, 4, 1))
    negative[1, 2, 0] = -0.5
    if backend.library == "dask":  # lazy: the negative variance's elements are NaN
        out = backend.to_numpy(polyloss.gaussian_nll_loss(xs, ys, backend.asarray(negative), reduction="none"))
        assert np.isnan(out[1, 2]).all() and np.isfinite(np.delete(out.reshape(12, 5), 6, axis=0)).all()
    else:
        with pytest.raises(ValueError, match="var"):
            polyloss.gaussian_nll_loss(xs, ys, backend.asarray(negative))


def re_shape(shape):
    return re.escape(str(tuple(shape)))


def test_pinball_quantile_errors(backend, rng):
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    xs, ys = backend.asarray(x), backend.asarray(y)
    for bad in (-0.1, 1.5, math.nan, math.inf):
        with pytest.raises(ValueError, match="quantile"):
            polyloss.pinball_loss(xs, ys, quantile=bad)
    for bad in (None, True, "0.5", [0.1, None, 0.3]):
        with pytest.raises(TypeError, match="quantile"):
            polyloss.pinball_loss(xs, ys, quantile=bad)
    for bad in ([0.1, 0.2], [[0.1, 0.2, 0.3]] * 2):
        with pytest.raises(ValueError, match="quantile"):
            polyloss.pinball_loss(xs, ys, quantile=bad)
    for bad in ([0.1, 1.2, 0.5], [0.1, math.nan, 0.5], [-0.5]):
        if backend.library == "dask":
            out = backend.to_numpy(polyloss.pinball_loss(xs, ys, quantile=bad, reduction="none"))
            assert np.isnan(out[:, 1]).all()
        else:
            with pytest.raises(ValueError, match="quantile"):
                polyloss.pinball_loss(xs, ys, quantile=bad)


# --------------------------------------------------------------------------
# edges: finite values and gradients
# --------------------------------------------------------------------------


def test_gaussian_var_near_zero_finite_and_clamped(backend, rng):
    x, y = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    var = np.array([[0.0, 1e-300 if backend.dtype == "float64" else 1e-30, 1e-12, 1e-6, 2e-6],
                    [1e-7, 0.5, 1.0, 0.0, 3.0]])
    v = np.maximum(var, 1e-6)
    expected = 0.5 * (np.log(v) + (x - y) ** 2 / v)
    out = polyloss.gaussian_nll_loss(backend.asarray(x), backend.asarray(y), backend.asarray(var), reduction="none")
    _close(backend, out, expected)
    if backend.has_grad:
        value, gx, gv = _grad2(backend, lambda a, b: polyloss.gaussian_nll_loss(a, backend.asarray(y), b, reduction="sum"),
                               x, var)
        assert np.isfinite(value) and np.isfinite(gx).all() and np.isfinite(gv).all()
        np.testing.assert_allclose(gx, (x - y) / v, rtol=backend.rtol * 10)
        # the clamp passes the gradient through (torch's no-grad clamp_): d/dv at the clamped value
        np.testing.assert_allclose(gv, 0.5 * (1 / v - (x - y) ** 2 / v**2), rtol=backend.rtol * 100)


def test_cosine_zero_vectors_finite(backend, rng):
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    x[0], y[1], x[2], y[2] = 0.0, 0.0, 0.0, 0.0
    out = backend.to_numpy(polyloss.cosine_distance_loss(backend.asarray(x), backend.asarray(y), reduction="none"))
    np.testing.assert_allclose(out[:3], 1.0)
    if backend.has_grad:
        for eps in (1e-8, 0.1):
            value, gx, gy = _grad2(backend, lambda a, b, e=eps: polyloss.cosine_distance_loss(a, b, eps=e), x, y)
            assert np.isfinite(value) and np.isfinite(gx).all() and np.isfinite(gy).all()
            np.testing.assert_allclose(gx[0], -y[0] / np.linalg.norm(y[0]) / eps / 4, rtol=1e-4)
            np.testing.assert_allclose(gx[2], 0.0)


def test_poisson_edges_finite(backend):
    x = np.array([-50.0, 0.0, 20.0, 1e-3, 2.0, 0.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1e6, 2.0])
    for log_input in (True, False):
        for full in (False, True):
            xi = x if log_input else np.abs(x)
            out = polyloss.poisson_nll_loss(backend.asarray(xi), backend.asarray(y), log_input=log_input, full=full,
                                            reduction="none")
            _close(backend, out, _np_poisson(xi, y, log_input, full, 1e-8), scale=100)
            if backend.has_grad:
                value, gx, gy = _grad2(backend, lambda a, b, li=log_input, f=full: polyloss.poisson_nll_loss(
                    a, b, log_input=li, full=f), xi, y)
                assert np.isfinite(value) and np.isfinite(gx).all() and np.isfinite(gy).all()


def test_mape_msle_edges_finite(backend):
    x = np.array([0.0, -3.0, 1e-9, 2.0, 5.0])
    y = np.array([0.0, 0.0, -1.0, 1e-12, 5.0])
    for fn in (polyloss.mape_loss, polyloss.msle_loss):
        out = backend.to_numpy(fn(backend.asarray(x), backend.asarray(y), reduction="none"))
        assert np.isfinite(out).all()
        if backend.has_grad:
            value, gx, gy = _grad2(backend, fn, x, y)
            assert np.isfinite(value) and np.isfinite(gx).all() and np.isfinite(gy).all()
    # MSLE: below the floor nothing moves
    if backend.has_grad:
        _, gx, _ = _grad2(backend, polyloss.msle_loss, np.array([-1.0, 0.0]), np.array([2.0, 2.0]))
        np.testing.assert_array_equal(gx, 0.0)


def test_pinball_gradient_branches(backend):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x, y = np.array([0.0, 2.0, 1.0]), np.array([1.0, 1.0, 1.0])  # under, over, exact
    _, g = backend.value_and_grad(lambda a: polyloss.pinball_loss(a, backend.asarray(y), quantile=0.8,
                                                                  reduction="sum"), x)
    np.testing.assert_allclose(g, [-0.8, 0.2, -0.8], rtol=1e-6)


# --------------------------------------------------------------------------
# autodiff transforms
# --------------------------------------------------------------------------


@needs_jax
def test_jax_jit_grad_vmap(rng):
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(rng.normal(size=(3, 4)), dtype=jnp.float32)
    y = jnp.asarray(rng.uniform(0, 3, size=(3, 4)), dtype=jnp.float32)
    v = jnp.asarray(rng.uniform(0.1, 1, size=(3, 1)), dtype=jnp.float32)
    cases = [
        (lambda a, b: polyloss.poisson_nll_loss(a, b, full=True), (x, y)),
        (lambda a, b, c: polyloss.gaussian_nll_loss(a, b, c, full=True), (x, y, v)),
        (polyloss.mape_loss, (x, y)),
        (polyloss.msle_loss, (x, y)),
        (lambda a, b: polyloss.cosine_distance_loss(a, b, axis=0), (x, y)),
        (lambda a, b: polyloss.pinball_loss(a, b, quantile=[0.1, 0.2, 0.7, 0.9]), (x, y)),
    ]
    for f, args in cases:
        np.testing.assert_allclose(jax.jit(f)(*args), f(*args), rtol=1e-5)
        assert np.isfinite(np.asarray(jax.grad(f)(*args))).all()
        batched = jax.vmap(f)(*(jnp.stack([a, 2 * a]) for a in args))
        np.testing.assert_allclose(batched[1], f(*(2 * a for a in args)), rtol=1e-5)
    # under tracing, invalid values give NaN rather than an error
    gauss = jax.jit(lambda a, b, c: polyloss.gaussian_nll_loss(a, b, c, reduction="none"))
    out = np.asarray(gauss(x, y, v.at[1, 0].set(-1.0)))
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()
    pin = jax.jit(lambda a, b, q: polyloss.pinball_loss(a, b, quantile=q, reduction="none"))
    out = np.asarray(pin(x, y, jnp.asarray([0.1, 1.5, 0.5, 0.5], dtype=jnp.float32)))
    assert np.isnan(out[:, 1]).all() and np.isfinite(out[:, [0, 2, 3]]).all()
    # a loss object as a static argument
    obj = polyloss.PinballLoss(quantile=[0.1, 0.2, 0.7, 0.9])
    np.testing.assert_allclose(jax.jit(lambda a, b, L: L(a, b), static_argnums=2)(x, y, obj), obj(x, y), rtol=1e-5)


@needs_torch
def test_torch_gradcheck(rng):
    import torch

    x = torch.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    y = torch.tensor(rng.normal(size=(3, 4)))
    v = torch.tensor(rng.uniform(0.1, 1, size=(3, 1)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, c: polyloss.gaussian_nll_loss(a, y, c, full=True), (x, v))
    assert torch.autograd.gradcheck(lambda a: polyloss.cosine_distance_loss(a, y, axis=0), (x,))
    assert torch.autograd.gradcheck(lambda a: polyloss.poisson_nll_loss(a, y.abs(), full=True), (x,))


@needs_torch
@pytest.mark.slow  # compilation takes 10-30 s
def test_torch_compile_fullgraph(rng):
    import torch

    x = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float32)
    y = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float32)
    v = torch.tensor(rng.uniform(0.0, 1, size=(3,)), dtype=torch.float32)
    # eager results first: the first torch call of a process then runs outside the trace
    f = lambda a, b, c: polyloss.gaussian_nll_loss(a, b, c, full=True)  # noqa: E731
    expected = f(x, y, v)
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(x, y, v), expected)
    g = lambda a, b: polyloss.pinball_loss(a, b, quantile=[0.1, 0.5, 0.6, 0.9])  # noqa: E731
    expected = g(x, y)
    torch.testing.assert_close(torch.compile(g, fullgraph=True)(x, y), expected)
    h = lambda a, b: polyloss.cosine_distance_loss(a, b)  # noqa: E731
    expected = h(x, y)
    torch.testing.assert_close(torch.compile(h, fullgraph=True)(x, y), expected)


# --------------------------------------------------------------------------
# hypothesis properties (NumPy float64)
# --------------------------------------------------------------------------

_finite = st.floats(-1e3, 1e3)
_vectors = hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=_finite)


@settings(max_examples=25, deadline=None)
@given(_vectors, st.data(), st.floats(1e-3, 1e3))
def test_cosine_distance_bounded_and_scale_invariant(x, data, scale):
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=_finite))
    d = polyloss.cosine_distance_loss(x, y, reduction="none")
    assert np.all((d >= -1e-12) & (d <= 2 + 1e-12))
    big = (np.linalg.norm(x, axis=-1) * scale > 1e-6) & (np.linalg.norm(x, axis=-1) > 1e-6)
    scaled = polyloss.cosine_distance_loss(scale * x, y, reduction="none")
    np.testing.assert_allclose(scaled[big], d[big], atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(_vectors, st.data(), st.floats(0.0, 1.0))
def test_pinball_mirror_and_median(x, data, q):
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=_finite))
    loss = polyloss.pinball_loss(x, y, quantile=q, reduction="none")
    np.testing.assert_allclose(loss, polyloss.pinball_loss(-x, -y, quantile=1.0 - q, reduction="none"), atol=1e-9)
    assert np.all(loss >= 0)
    np.testing.assert_allclose(polyloss.pinball_loss(x, y), 0.5 * np.mean(np.abs(x - y)), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(_vectors, st.data())
def test_gaussian_unit_variance_is_half_mse(x, data):
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=_finite))
    out = polyloss.gaussian_nll_loss(x, y, np.ones(x.shape[:-1]), full=True)
    expected = 0.5 * float(polyloss.mse_loss(x, y)) + 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(out, expected, rtol=1e-12)

