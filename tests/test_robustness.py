"""Regression tests of the robustness defects: no NaN turned into a number, no obscure
crash, and one outcome on every backend for the same bad input."""

from __future__ import annotations

import numpy as np
import pytest

import polyloss

NAN = float("nan")


def _traced(backend, fn, *arrays):
    """`fn` of backend arrays, traced where the backend traces (jax.jit), else eager."""
    if backend.library == "jax":
        import jax

        return jax.jit(fn)(*arrays)
    return fn(*arrays)


@pytest.mark.parametrize("gamma", [1.0, 2.0, 0.5])
def test_tversky_keeps_nan(gamma, backend):
    p = backend.asarray(np.array([[0.2, NAN, 0.9, 0.4]]))
    t = backend.asarray(np.array([[0.0, 1.0, 1.0, 0.0]]))
    assert np.isnan(backend.to_numpy(polyloss.tversky_loss(p, t, gamma=gamma)))


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_losses_keep_nan(gamma, backend):
    x = backend.asarray(np.array([[NAN, 1.0], [0.5, -1.0]]))
    y = backend.asarray(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert np.isnan(backend.to_numpy(polyloss.sigmoid_focal_loss(x, y, gamma=gamma)))
    assert np.isnan(backend.to_numpy(polyloss.poly1_focal_loss(x, y, gamma=gamma)))
    labels = backend.asarray(np.array([0, 1]))
    assert np.isnan(backend.to_numpy(polyloss.focal_loss(x, labels, gamma=gamma)))


def test_out_of_range_index_is_nan_under_jit_for_tversky_gamma(backend):
    if backend.library != "jax":
        pytest.skip("tracing is JAX's here")
    import jax

    x = backend.asarray(np.zeros((1, 3, 2)))
    t = backend.asarray(np.array([[0, 7]]))
    out = jax.jit(lambda a, b: polyloss.tversky_loss(a, b, axis=1, activation="softmax", gamma=2.0))(x, t)
    assert np.isnan(backend.to_numpy(out))


@pytest.mark.parametrize("which", ["input", "target"])
def test_complex_arrays_are_type_errors(which, backend):
    if backend.library in ("dask",):
        pytest.skip("complex dask arrays are not part of the matrix")
    real = np.array([1.0, 2.0])
    cplx = np.array([1.0 + 1.0j, 2.0])
    try:
        c = backend.asarray(cplx, "complex128" if backend.dtype == "float64" else "complex64")
    except Exception:
        pytest.skip(f"{backend} has no complex arrays")
    r = backend.asarray(real)
    args = (c, r) if which == "input" else (r, c)
    with pytest.raises(TypeError, match=which):
        polyloss.mse_loss(*args)


def test_complex_option_is_a_type_error():
    with pytest.raises(TypeError, match="weight"):
        polyloss.mse_loss(np.ones(2), np.zeros(2), weight=np.array([1.0 + 2.0j, 1.0]))


@pytest.mark.parametrize("p, t, bad", [(0.3, -1.0, "target"), (0.0, 2.0, "target"), (1.5, 1.0, "input")])
def test_bce_out_of_range_raises_eagerly_and_is_nan_when_traced(p, t, bad, backend):
    x, y = backend.asarray(np.array([p, 0.5])), backend.asarray(np.array([t, 0.5]))
    if backend.library in ("jax",):
        out = _traced(backend, polyloss.binary_cross_entropy, x, y)
        assert np.isnan(backend.to_numpy(out))
    elif backend.library == "dask":
        assert np.isnan(backend.to_numpy(polyloss.binary_cross_entropy(x, y)))
    else:
        with pytest.raises(ValueError, match=bad):
            polyloss.binary_cross_entropy(x, y)


def test_bce_out_of_range_with_grad_raises_on_torch(backend):
    if backend.library != "torch":
        pytest.skip("torch autograd")
    x = backend.asarray(np.array([0.0, 0.5])).requires_grad_(True)
    with pytest.raises(ValueError, match="target"):
        polyloss.binary_cross_entropy(x, backend.asarray(np.array([2.0, 0.5])))


def test_probability_targets_ignore_ignore_index(backend, rng):
    x = rng.normal(size=(3, 4))
    p = rng.dirichlet(np.ones(4), size=3)
    expected = polyloss.cross_entropy(x, p)
    out = polyloss.cross_entropy(backend.asarray(x), backend.asarray(p), ignore_index=1)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol * 10)


@pytest.mark.parametrize("dtype", ["int8", "int16", "uint8", "int32"])
def test_narrow_integer_targets(dtype, backend, rng):
    x = rng.normal(size=(4, 3))
    t = np.array([0, 2, 1, 2], dtype=dtype)
    try:
        target = backend.asarray(t, dtype)
    except Exception:
        pytest.skip(f"{backend} has no {dtype}")
    w = [1.0, 2.0, 0.5]
    for fn, options in (
        (polyloss.focal_loss, {"alpha": w}),
        (polyloss.poly1_cross_entropy, {"weight": w}),
        (polyloss.nll_loss, {"weight": w}),
        (polyloss.cross_entropy, {"weight": w}),
    ):
        expected = fn(x, t.astype(np.int64), **options)
        out = fn(backend.asarray(x), target, **options)
        np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol * 10, err_msg=fn.__name__)


def test_all_ignored_int16_targets_with_weight_on_torch(backend):
    if backend.library != "torch":
        pytest.skip("the torch generic path")
    t = backend.asarray(np.full((3,), -100), "int16")
    out = polyloss.nll_loss(backend.asarray(np.zeros((3, 4))), t, weight=[1.0, 2.0, 3.0, 4.0])
    assert float(out) == 0.0


def test_strict_option_arrays_are_hashable():
    xps = pytest.importorskip("array_api_strict")
    a = polyloss.CrossEntropyLoss(weight=xps.asarray([1.0, 2.0, 3.0]))
    b = polyloss.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])
    assert hash(a) == hash(b) and a == b


@pytest.mark.parametrize("bad", [NAN, float("inf"), -float("inf")])
@pytest.mark.parametrize("fn", [polyloss.poly1_cross_entropy, polyloss.poly1_focal_loss])
def test_epsilon_must_be_finite(fn, bad):
    x, t = np.zeros((2, 3)), np.array([0, 1]) if fn is polyloss.poly1_cross_entropy else np.zeros((2, 3))
    with pytest.raises(ValueError, match="epsilon"):
        fn(x, t, epsilon=bad)


@pytest.mark.parametrize("fn", [polyloss.poly1_cross_entropy, polyloss.poly1_focal_loss])
def test_epsilon_not_a_number_is_a_type_error(fn):
    x, t = np.zeros((2, 3)), np.array([0, 1]) if fn is polyloss.poly1_cross_entropy else np.zeros((2, 3))
    with pytest.raises(TypeError, match="epsilon"):
        fn(x, t, epsilon="1")


@pytest.mark.parametrize("scalar", [np.float32(1.0), np.float64(1.0), 1.0])
def test_numpy_scalars_are_not_arrays(scalar):
    with pytest.raises(TypeError, match="input"):
        polyloss.mse_loss(scalar, np.float32(2.0))


def test_torch_parameter_weight_with_numpy_input():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.tensor([1.0, 3.0]))
    out = polyloss.mse_loss(np.array([1.0, 2.0]), np.array([0.0, 0.0]), weight=w)
    assert float(out) == pytest.approx((1.0 + 3.0 * 4.0) / 4.0)


def test_jax_arrays_on_two_devices_are_named():
    """Two JAX host devices in a fresh process: the error names both arguments."""
    pytest.importorskip("jax")
    import subprocess
    import sys

    code = (
        "import jax, jax.numpy as jnp, polyloss\n"
        "d0, d1 = jax.devices()[:2]\n"
        "x = jax.device_put(jnp.ones(3), d0); y = jax.device_put(jnp.zeros(3), d1)\n"
        "try:\n"
        "    polyloss.mse_loss(x, y)\n"
        "except ValueError as e:\n"
        "    print('ValueError', e)\n"
    )
    env = {**__import__("os").environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.startswith("ValueError input and target are on different devices"), out.stdout + out.stderr


@pytest.mark.parametrize("name", ["cross_entropy", "focal_loss", "poly1_cross_entropy", "poly1_focal_loss"])
def test_a_nan_logit_gives_nan_not_a_number(name, backend):
    """A NaN logit makes its row's loss NaN (the stable log-sum-exp's shift and its
    guard for masked rows must not turn NaN into a finite number); other rows keep
    their value."""
    x = np.array([[np.nan, 0.0, 1.0], [0.0, 1.0, 2.0]])
    t = np.array([0, 1])
    fn = getattr(polyloss, name)
    if name == "poly1_focal_loss":  # sigmoid-based: one-hot targets
        t = np.eye(3)[t]
    out = backend.to_numpy(fn(backend.asarray(x), backend.asarray(t), reduction="none"))
    clean = np.asarray(fn(x[1:], t[1:], reduction="none"), dtype=np.float64)
    assert np.any(np.isnan(out[0]))  # the row (or, for the elementwise poly-1 focal, the entry)
    np.testing.assert_allclose(out[1:].astype(np.float64), clean, rtol=backend.rtol, atol=backend.atol)
