"""Every registered loss, on every backend, against the float64 NumPy result.

Made from ``polyloss.REGISTRY``: a loss registered by its module is tested here
with nothing to add. Peers (torch, optax, scikit-learn, MONAI) are in
``tests/parity``.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyloss
from backends import example_numpy
from polyloss import REGISTRY

LOSSES = sorted(REGISTRY)


def _reference(info, reduction):
    return np.asarray(info.function(*example_numpy(info), **info.example.options, reduction=reduction))


@pytest.mark.parametrize("name", LOSSES)
def test_every_reduction_matches_float64_numpy(name, backend):
    info = REGISTRY[name]
    arrays, options = backend.example(info), dict(info.example.options)
    for reduction in info.reductions:
        out = info.function(*arrays, **options, reduction=reduction)
        assert backend.xp.isdtype(out.dtype, "real floating")
        np.testing.assert_allclose(
            backend.to_numpy(out), _reference(info, reduction), rtol=backend.rtol * 10, atol=backend.atol,
            err_msg=f"{name} reduction={reduction} on {backend}",
        )


@pytest.mark.parametrize("name", LOSSES)
def test_result_keeps_namespace_device_and_dtype(name, backend):
    info = REGISTRY[name]
    arrays, options = backend.example(info), dict(info.example.options)
    out = info.function(*arrays, **options)
    import array_api_compat

    x = arrays[0]
    assert array_api_compat.array_namespace(out) is array_api_compat.array_namespace(x)
    assert out.dtype == x.dtype
    if backend.library != "dask":
        assert array_api_compat.device(out) == array_api_compat.device(x)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_object_equals_function(name, backend):
    info = REGISTRY[name]
    arrays, options = backend.example(info), dict(info.example.options)
    cls = getattr(polyloss, info.object_name)
    obj = cls(**options)
    assert obj == cls(**options) and hash(obj) == hash(cls(**options))
    assert repr(obj).startswith(f"{info.object_name}(")
    np.testing.assert_array_equal(backend.to_numpy(obj(*arrays)), backend.to_numpy(info.function(*arrays, **options)))
    # a second call with the same signature may replay the first one's plan: new values count
    halved = (arrays[0] * 0.5, *arrays[1:])
    for _ in range(2):
        np.testing.assert_array_equal(
            backend.to_numpy(obj(*halved)), backend.to_numpy(info.function(*halved, **options))
        )


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_matches_float64_numpy_difference(name, backend):
    """Autodiff gradients (with respect to the first array argument) against central
    differences of the float64 NumPy loss."""
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    info = REGISTRY[name]
    rest, options = backend.example(info)[1:], dict(info.example.options)
    x0, *rest_np = example_numpy(info)
    _, grad = backend.value_and_grad(lambda a: info.function(a, *rest, **options), x0)
    f = lambda a: float(info.function(a, *rest_np, **options))  # noqa: E731
    h = 1e-6
    numeric = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[i] = h
        numeric[i] = (f(x0 + e) - f(x0 - e)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6 if backend.dtype == "float64" else 1e-4)
