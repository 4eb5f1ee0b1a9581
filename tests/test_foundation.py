"""The array layer, reductions, errors and loss objects, on every backend.

Uses the regression losses as the vehicle; each family's own tests cover its
options. References are the float64 NumPy formulas written out here, or the peers
in tests/parity.
"""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import polyloss
from polyloss import REGISTRY

REGRESSION = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"]

NUMPY_FORMULAS = {
    "l1_loss": lambda d: np.abs(d),
    "mse_loss": lambda d: d * d,
    "smooth_l1_loss": lambda d: np.where(np.abs(d) < 1.0, 0.5 * d * d, np.abs(d) - 0.5),
    "huber_loss": lambda d: np.where(np.abs(d) <= 1.0, 0.5 * d * d, np.abs(d) - 0.5),
    "log_cosh_loss": lambda d: np.log(np.cosh(d)),
}

def _pair(backend, rng, shape=(3, 4)):
    x = rng.normal(size=shape)
    y = rng.normal(size=shape)
    return x, y, backend.asarray(x), backend.asarray(y)


# -- the package ------------------------------------------------------------


def test_import_polyloss_imports_no_array_library():
    code = (
        "import sys, polyloss; "
        "print(sorted(m for m in ('numpy', 'torch', 'jax', 'cupy', 'dask', 'array_api_strict') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("library", ["torch", "jax", "dask.array", "array_api_strict"])
def test_import_polyloss_after_an_array_library(library):
    """With the library imported first, polyloss imports its backend modules at once
    (for torch.compile): each of them, and only those that exist."""
    if importlib.util.find_spec(library.split(".")[0]) is None:
        pytest.skip(f"{library} is not installed")
    code = f"import {library}, polyloss; print(len(polyloss.REGISTRY))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) == len(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_loss_and_its_object_are_exported(name):
    info = REGISTRY[name]
    assert name in polyloss.__all__ and info.object_name in polyloss.__all__
    assert getattr(polyloss, name) is info.function
    assert getattr(polyloss, info.object_name) is info.object
    assert issubclass(info.object, polyloss.LossObject)


def test_loss_object_names_are_unique():
    names = [info.object_name for info in REGISTRY.values()]
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)
    assert not set(names) & set(REGISTRY), "a loss object is named like a loss function"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_importable_peers_are_dotted_paths_of_their_library(name):
    peers = REGISTRY[name].peers
    assert peers, f"{name} has no peer"
    for peer in peers:
        assert isinstance(peer, polyloss.Peer)
        if peer.importable:
            assert peer.name.split(".", 1)[0] == peer.library, f"{name}: {peer} is not in {peer.library}"
            assert all(part.isidentifier() for part in peer.name.split(".")), (
                f"{name}: {peer.name!r} is not a dotted path"
            )


# -- values against NumPy formulas ------------------------------------------


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_matches_numpy_formula(name, reduction, backend, rng):
    x, y, bx, by = _pair(backend, rng)
    expected = NUMPY_FORMULAS[name](x - y)
    expected = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    out = getattr(polyloss, name)(bx, by, reduction=reduction)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol, atol=backend.atol)


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss"])
def test_weighted_mean_divides_by_total_weight(name, backend, rng):
    x, y, bx, by = _pair(backend, rng)
    w = rng.uniform(0.1, 2.0, size=x.shape)
    per = NUMPY_FORMULAS[name](x - y) * w
    fn = getattr(polyloss, name)
    for weight in (w, w.tolist(), backend.asarray(w)):
        np.testing.assert_allclose(backend.to_numpy(fn(bx, by, weight=weight)), per.sum() / w.sum(), rtol=backend.rtol)
    np.testing.assert_allclose(backend.to_numpy(fn(bx, by, weight=w, reduction="none")), per, rtol=backend.rtol)


def test_zero_total_weight_gives_zero_value_and_zero_gradient(backend, rng):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x, _y, _, by = _pair(backend, rng)
    w = backend.asarray(np.zeros_like(x))
    value, grad = backend.value_and_grad(lambda a: polyloss.mse_loss(a, by, weight=w), x)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros_like(x))


@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_smooth_l1_is_huber_over_beta(beta, backend, rng):
    x, y, bx, by = _pair(backend, rng)
    d = np.abs(x - y)
    expected = np.abs(x - y) if beta == 0 else np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    out = polyloss.smooth_l1_loss(bx, by, beta=beta, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=backend.rtol, atol=backend.atol)


def test_log_cosh_is_finite_far_from_zero(backend):
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    out = backend.to_numpy(polyloss.log_cosh_loss(backend.asarray(x), backend.asarray(np.zeros(5)), reduction="none"))
    np.testing.assert_allclose(out, np.abs(x) + np.log1p(np.exp(-2 * np.abs(x))) - np.log(2), rtol=backend.rtol)


# -- errors (SPEC §4) ---------------------------------------------------------


@pytest.mark.parametrize("bad", [[1.0, 2.0], "abc", None, 3.0])
@pytest.mark.parametrize("argument", ["input", "target"])
def test_non_arrays_are_a_type_error_naming_the_argument(bad, argument, backend):
    good = backend.asarray(np.ones(2))
    args = {"input": good, "target": good, argument: bad}
    with pytest.raises(TypeError, match=argument):
        polyloss.mse_loss(args["input"], args["target"])


def test_two_namespaces_are_a_type_error_naming_both(backend):
    if backend.library == "numpy":
        pytest.skip("needs a second namespace")
    with pytest.raises(TypeError, match="input and target"):
        polyloss.mse_loss(backend.asarray(np.ones(2)), np.ones(2))


def test_two_devices_are_a_value_error_naming_both():
    xps = pytest.importorskip("array_api_strict")
    a = xps.asarray([1.0, 2.0])
    b = xps.asarray([1.0, 2.0], device=xps.Device("device1"))
    with pytest.raises(ValueError, match="input and target are on different devices"):
        polyloss.l1_loss(a, b)


def test_integer_predictions_are_a_type_error(backend):
    ints = backend.asarray(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="input must be a real floating array"):
        polyloss.mse_loss(ints, ints)


@pytest.mark.parametrize("name", REGRESSION)
def test_shape_mismatch_names_both_shapes(name, backend):
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        getattr(polyloss, name)(backend.asarray(np.ones((2, 3))), backend.asarray(np.ones((3, 2))))


def test_empty_batch_is_a_value_error(backend):
    empty = backend.asarray(np.ones((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        polyloss.l1_loss(empty, empty)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: polyloss.mse_loss(x, x, reduction="avg"), "reduction must be one of 'mean', 'sum', 'none'"),
        (lambda x: polyloss.huber_loss(x, x, delta=-1.0), "delta must be a finite number >= 0"),
        (lambda x: polyloss.smooth_l1_loss(x, x, beta=-0.5), "beta must be a finite number >= 0"),
        (lambda x: polyloss.l1_loss(x, x, weight=[1.0, 2.0]), r"weight must have shape \(2, 3\)"),
    ],
)
def test_bad_options_name_the_option_and_the_allowed_values(call, message, backend):
    with pytest.raises(ValueError, match=message):
        call(backend.asarray(np.ones((2, 3))))


def test_inputs_are_not_mutated(backend, rng):
    x, y, bx, by = _pair(backend, rng)
    w = rng.uniform(size=x.shape)
    polyloss.l1_loss(bx, by, weight=w)
    np.testing.assert_array_equal(backend.to_numpy(bx), x.astype(backend.dtype))
    np.testing.assert_array_equal(backend.to_numpy(by), y.astype(backend.dtype))


# -- dtypes and devices -----------------------------------------------------------


def test_scratch_writers_match_their_formulas(backend, rng):
    """``matmul_into``, ``exp_in_place`` and ``add_at_columns`` (``_array``) give the
    plain formulas' numbers on every backend, written into the given array where the
    backend can (immutable JAX arrays get no `out`, as the chunk loops give them none)."""
    from polyloss import _array as A

    xp = backend.xp
    a_np, b_np, c_np = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    a, b = backend.asarray(a_np), backend.asarray(b_np)
    tol = {"rtol": backend.rtol, "atol": backend.atol}
    np.testing.assert_allclose(backend.to_numpy(A.matmul_into(xp, a, b)), a_np @ b_np, **tol)
    if backend.library != "jax":
        out = backend.asarray(c_np)
        result = A.matmul_into(xp, a, b, out, add=True)
        np.testing.assert_allclose(backend.to_numpy(result), c_np + a_np @ b_np, **tol)
        np.testing.assert_allclose(backend.to_numpy(out), c_np + a_np @ b_np, **tol)
        A.matmul_into(xp, a, b, out)
        np.testing.assert_allclose(backend.to_numpy(out), a_np @ b_np, **tol)
    np.testing.assert_allclose(backend.to_numpy(A.exp_in_place(xp, backend.asarray(c_np))), np.exp(c_np), **tol)
    columns = np.array([0, 4, -1, 5])  # the last two are outside [0, 5): no change in their rows
    values = rng.normal(size=4)
    expected = c_np.copy()
    expected[0, 0] += values[0]
    expected[1, 4] += values[1]
    got = A.add_at_columns(xp, backend.asarray(c_np), backend.asarray(columns), backend.asarray(values))
    np.testing.assert_allclose(backend.to_numpy(got), expected, **tol)


def test_result_on_the_inputs_non_default_device():
    xps = pytest.importorskip("array_api_strict")
    dev = xps.Device("device1")
    x = xps.asarray([[1.0, 2.0]], device=dev)
    out = polyloss.l1_loss(x, x, weight=np.array([[1.0, 2.0]]))
    assert out.device == dev


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_accumulates_in_float32_and_returns_the_input_dtype(dtype):
    torch = pytest.importorskip("torch")
    x = torch.full((4096,), 1.0, dtype=getattr(torch, dtype))
    y = torch.zeros_like(x)
    out = polyloss.mse_loss(x, y, reduction="sum")
    assert out.dtype == x.dtype
    assert float(out) == 4096.0  # a float16 running sum of ones stalls at 2048


# -- autodiff and tracing -----------------------------------------------------------


@pytest.mark.parity  # needs jax and torch in one environment
@pytest.mark.parametrize("name", REGRESSION)
def test_jax_jit_grad_vmap_agree_with_torch_autograd(name):
    import jax  # the parity session has both: a missing one fails there
    import jax.numpy as jnp
    import torch

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    fn = getattr(polyloss, name)
    jx, jy = jnp.asarray(x, dtype=jnp.float32), jnp.asarray(y, dtype=jnp.float32)
    jit_grad = jax.jit(jax.grad(fn))(jx, jy)
    tx = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    fn(tx, torch.tensor(y, dtype=torch.float32)).backward()
    np.testing.assert_allclose(np.asarray(jit_grad), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    per_row = jax.vmap(fn)(jx, jy)
    np.testing.assert_allclose(np.asarray(per_row), [float(fn(jx[i], jy[i])) for i in range(5)], rtol=1e-6)
    np.testing.assert_allclose(float(jax.jit(fn)(jx, jy)), float(fn(jx, jy)), rtol=1e-6)


def test_torch_compile_fullgraph_regression():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(6, 4)), requires_grad=True)
    y = torch.tensor(rng.normal(size=(6, 4)))
    w = torch.tensor(rng.uniform(size=(6, 4)))

    def all_losses(a, b):
        return (
            polyloss.l1_loss(a, b, weight=w) + polyloss.mse_loss(a, b) + polyloss.smooth_l1_loss(a, b, beta=0.5)
            + polyloss.huber_loss(a, b, delta=2.0) + polyloss.log_cosh_loss(a, b)
        )

    compiled = torch.compile(all_losses, fullgraph=True, backend="aot_eager")
    eager = all_losses(x, y)
    (g_eager,) = torch.autograd.grad(eager, x)
    out = compiled(x, y)
    (g_compiled,) = torch.autograd.grad(out, x)
    torch.testing.assert_close(out, eager, rtol=1e-12, atol=0)
    torch.testing.assert_close(g_compiled, g_eager, rtol=1e-12, atol=0)


FIRST_CALL_COMPILED = """
import warnings
warnings.simplefilter("always")
import polyloss  # before torch, as an isort-ordered script imports them
import torch

x, t = torch.randn(6, 4, requires_grad=True), torch.tensor([0, 3, 1, 2, 0, 1])
compiled = torch.compile(lambda x, t: polyloss.cross_entropy(x, t, label_smoothing=0.1), fullgraph=True)
value = compiled(x, t)
torch.testing.assert_close(value, torch.nn.functional.cross_entropy(x, t, label_smoothing=0.1))
"""


@pytest.mark.slow
def test_a_first_call_under_torch_compile_warns_nothing():
    """polyloss imported before torch, and its very first call traced by torch.compile:
    no Dynamo warning about the caches of array-api-compat's type tests."""
    pytest.importorskip("torch")
    done = subprocess.run([sys.executable, "-c", FIRST_CALL_COMPILED], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "lru_cache" not in done.stderr and "polyloss" not in done.stderr, done.stderr[-3000:]


# -- loss objects -------------------------------------------------------------------


def test_loss_objects_are_immutable_hashable_picklable():
    obj = polyloss.HuberLoss(delta=2.0, reduction="sum")
    with pytest.raises(AttributeError):
        obj.delta = 3.0
    assert obj.delta == 2.0
    assert obj == polyloss.HuberLoss(delta=2.0, reduction="sum") != polyloss.HuberLoss()
    assert len({obj, polyloss.HuberLoss(delta=2.0, reduction="sum")}) == 1
    assert pickle.loads(pickle.dumps(obj)) == obj
    assert repr(obj) == "HuberLoss(delta=2.0, reduction='sum')"


def test_loss_object_array_options_are_frozen_copies():
    w = np.ones((2, 2))
    obj = polyloss.L1Loss(weight=w)
    w[0, 0] = 5.0  # the caller's array changing later does not change the criterion
    assert obj.weight == ((1.0, 1.0), (1.0, 1.0))
    hash(obj)


def test_loss_object_rejects_unknown_options_and_bad_reduction():
    with pytest.raises(TypeError, match="unknown option"):
        polyloss.MSELoss(delta=1.0)
    with pytest.raises(ValueError, match="reduction"):
        polyloss.MSELoss(reduction="avg")


def test_loss_object_replays_the_native_call_and_still_checks_values():
    """A torch loss object goes straight to the native kernel for a signature it has
    validated once; the kernel's value checks and polyloss' conventions still hold."""
    torch = pytest.importorskip("torch")
    obj = polyloss.CrossEntropyLoss(weight=[1.0, 2.0, 0.5])
    x = torch.randn(5, 3, dtype=torch.float64)
    t = torch.tensor([0, 1, 2, 1, 0])
    for _ in range(2):
        torch.testing.assert_close(obj(x, t), polyloss.cross_entropy(x, t, weight=[1.0, 2.0, 0.5]))
    assert len(obj._plans) == 1 and next(iter(obj._plans.values()))  # the second call replayed
    with pytest.raises(ValueError, match="target"):
        obj(x, torch.tensor([0, 1, 3, 1, 0]))  # out of range: the kernel still checks
    ignored = torch.full((5,), -100)
    assert float(obj(x, ignored)) == 0.0  # every target ignored: 0, not torch's NaN
    assert len(obj._plans) == 1
    # another signature gets its own plan; a value-reading loss gets none
    obj(x.float(), t)
    assert len(obj._plans) == 2
    ctc = polyloss.CTCLoss()
    lp = torch.randn(6, 2, 4, dtype=torch.float64).log_softmax(-1)
    args = (lp, torch.tensor([[1, 2], [3, 1]]), torch.tensor([6, 5]), torch.tensor([2, 1]))
    ctc(*args)
    ctc(*args)
    assert not any(ctc._plans.values())  # its lengths are checked by value before the kernel


def test_loss_object_as_jax_static_argument():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    @jax.jit
    def closed(x, y):
        return polyloss.HuberLoss(delta=0.5)(x, y)

    static = jax.jit(lambda crit, x, y: crit(x, y), static_argnums=0)
    x, y = jnp.arange(4.0), jnp.zeros(4)
    expected = float(polyloss.huber_loss(np.arange(4.0), np.zeros(4), delta=0.5))
    assert float(closed(x, y)) == pytest.approx(expected)
    assert float(static(polyloss.HuberLoss(delta=0.5), x, y)) == pytest.approx(expected)


# -- properties ----------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, width=64)
pairs = st.integers(1, 6).flatmap(
    lambda n: st.tuples(arrays(np.float64, (n, 3), elements=finite), arrays(np.float64, (n, 3), elements=finite))
)


@pytest.mark.parametrize("name", REGRESSION)
@settings(max_examples=40, deadline=None)
@given(xy=pairs)
def test_regression_properties(name, xy):
    x, y = xy
    fn = getattr(polyloss, name)
    per = np.asarray(fn(x, y, reduction="none"))
    assert (per >= 0).all()
    assert float(fn(x, x)) == 0.0
    np.testing.assert_allclose(float(fn(x, y)), float(fn(x, y, reduction="sum")) / x.size, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(per.mean(), float(fn(x, y)), rtol=1e-12, atol=1e-12)
