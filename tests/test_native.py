"""Conformance of the backend natives: every native kernel against the generic path.

A loss declares its natives where it is registered (``natives=("torch",)``), and
``polyloss._native.native_kernel`` hands the kernel of ``polyloss._native._<backend>``
to the loss, which otherwise composes the generic Array API path. Here each call is
evaluated twice on the same data -- once as shipped, with the kernels that ran
recorded, and once with ``native_kernel`` switched off -- and the values and
gradients must agree to the SPEC's tolerance (float64 rtol 1e-12, float32 rtol 1e-5).
Each test also asserts that the native was actually taken (or declined, where it
must decline), and a comparison in which no native could have run must bring an
independent float64 NumPy reference instead, so that no test can pass by comparing
the generic path with itself.

The natives under test come from the registry: every (loss, backend) pair it
declares gets a conformance test on the loss's registered example, and every public
function of ``polyloss._native._torch`` must be declared by exactly one registered
loss. Hand-made cases add: regression (l1, mse, smooth L1, Huber), cross-entropy and
NLL (weight, ignore_index, label smoothing, all-ignored batches, K-dim, channel-last
``axis=-1``, unbatched, probability targets, int32 targets, float16), BCE and
BCE-with-logits (weight, pos_weight, label smoothing, saturation), sigmoid focal, the
primitives (logsumexp, log_softmax, softplus), eager ValueError for out-of-range
indices, and NaN for them under ``torch.compile(fullgraph=True)`` and ``jax.jit``.
JAX has no loss natives: its generic cross-entropy and NLL (plain and jitted) are
checked against the float64 NumPy reference of the same cases.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import inspect
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import polyloss
import polyloss._array as A
import polyloss._native as N
from backends import Backend, example_numpy
from natives import seam
from polyloss import REGISTRY
from polyloss._registry import NATIVE_BACKENDS

AUTODIFF = ("torch", "jax")


def _native_backends(config: pytest.Config, libraries: tuple[str, ...] = AUTODIFF) -> list[Backend]:
    from backends import selected_backends

    return [b for b in selected_backends(config) if b.library in libraries and b.device is None]


def native_cases(config: pytest.Config) -> list[tuple[str, Backend]]:
    """Every (loss, backend) pair the registry declares a native for, on the selected backends."""
    return [(name, b) for name in sorted(REGISTRY) for b in _native_backends(config, NATIVE_BACKENDS)
            if b.library in REGISTRY[name].natives]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``nb``: the backends of the matrix that may carry natives (torch and JAX);
    ``native_case``: the registry's (loss, backend) pairs with a native."""
    if "nb" in metafunc.fixturenames:
        found = _native_backends(metafunc.config)
        metafunc.parametrize("nb", found, ids=[b.name for b in found])
    if "native_case" in metafunc.fixturenames:
        cases = native_cases(metafunc.config)
        metafunc.parametrize("native_case", cases, ids=[f"{n}-{b.name}" for n, b in cases])


# --------------------------------------------------------------------------
# switching the seam
# --------------------------------------------------------------------------


@contextlib.contextmanager
def generic_primitives() -> Iterator[None]:
    """The array layer's primitives (logsumexp, softplus, ...) through the generic
    Array API composition instead of the backend's kernels."""
    original = A.backend_module

    def generic(xp: Any, package: str = "polyloss._array") -> Any:
        return None if package == "polyloss._array" else original(xp, package)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(A, "backend_module", generic)
        yield


def _tol(nb: Backend) -> dict[str, float]:
    return {"rtol": 1e-12, "atol": 1e-13} if nb.dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}


def _ref_tol(nb: Backend) -> dict[str, float]:
    """Against the float64 NumPy reference of the (rounded) inputs."""
    return {"rtol": 1e-11, "atol": 1e-12} if nb.dtype == "float64" else {"rtol": 1e-4, "atol": 1e-5}


def _weights(shape: tuple[int, ...]) -> np.ndarray:
    """The fixed cotangent: the gradient taken is that of ``sum(c * fn(x))``."""
    n = int(np.prod(shape)) if shape else 1
    return np.linspace(0.5, 1.5, max(n, 1)).reshape(shape)


def value_and_grad(nb: Backend, fn: Any, x_np: np.ndarray, *, jit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Value of ``fn(x)`` (any shape) and the gradient of ``sum(c * fn(x))`` for a fixed c
    (an empty gradient for an integer `x_np`)."""
    if x_np.dtype.kind in "iub" or nb.library not in AUTODIFF:
        f = fn
        if jit:
            import jax

            f = jax.jit(fn)
        return np.asarray(nb.to_numpy(f(nb.asarray(x_np)))), np.zeros(0)
    if nb.library == "torch":
        import torch

        x = nb.asarray(x_np).requires_grad_(True)
        out = fn(x)
        c = torch.from_numpy(_weights(tuple(out.shape))).to(out.dtype)
        (g,) = torch.autograd.grad((out * c).sum(), x)
        return nb.to_numpy(out), nb.to_numpy(g)
    import jax
    import jax.numpy as jnp

    def scalar(x: Any) -> Any:
        out = fn(x)
        c = jnp.asarray(_weights(tuple(out.shape)), dtype=out.dtype)
        return jnp.sum(out * c), out

    f = jax.value_and_grad(scalar, has_aux=True)
    if jit:
        f = jax.jit(f)
    (_, out), g = f(nb.asarray(x_np))
    return np.asarray(out), np.asarray(g)


Reference = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def check_same(nb: Backend, fn: Any, x_np: np.ndarray, *, expect: str | None, jit: bool = False,
               reference: Reference | None = None) -> np.ndarray:
    """Native and generic agree in value and gradient; `expect` names the native that must
    have been taken (None: it must have declined, or there is none). `reference` maps
    float64 data to the float64 value and gradient of ``sum(c * fn(x))``; a comparison in
    which no native kernel was even handed out must bring one."""
    with seam("native") as runs:
        v1, g1 = value_and_grad(nb, fn, x_np, jit=jit)
    with seam("generic"):
        v0, g0 = value_and_grad(nb, fn, x_np, jit=jit)
    if expect is not None:
        assert runs.took(expect), f"native {expect} not taken: {runs.taken}"
    else:
        assert not runs.any_taken(), f"a native was taken: {runs.taken}"
    assert runs.resolved or reference is not None, (
        "no native could run here: the comparison would be the generic path with itself; "
        "give a float64 reference"
    )
    assert v1.dtype == v0.dtype
    np.testing.assert_allclose(v1, v0, **_tol(nb))
    np.testing.assert_allclose(g1, g0, **_tol(nb))
    assert np.all(np.isfinite(g1))
    if reference is not None:
        rounded = x_np.astype(nb.dtype).astype(np.float64) if x_np.dtype.kind == "f" else x_np
        v_ref, g_ref = reference(rounded)
        np.testing.assert_allclose(v1, v_ref, **_ref_tol(nb), err_msg="value vs the float64 reference")
        np.testing.assert_allclose(g1, g_ref, **_ref_tol(nb), err_msg="gradient vs the float64 reference")
    return v1


def _declares(nb: Backend, name: str) -> bool:
    return nb.library in REGISTRY[name].natives


def _skip_without(nb: Backend, name: str) -> None:
    if not _declares(nb, name):
        pytest.skip(f"{name} declares no {nb.library} native")


RNG = np.random.default_rng(20261129)


# --------------------------------------------------------------------------
# the registry: every declared native, and only declared ones, with a test
# --------------------------------------------------------------------------


def _kernels(module: Any) -> set[str]:
    """The public functions defined in a native module (not those it imports)."""
    return {name for name, f in inspect.getmembers(module, inspect.isfunction)
            if not name.startswith("_") and f.__module__ == module.__name__}


@pytest.mark.parametrize("backend_name", NATIVE_BACKENDS)
def test_every_native_kernel_is_declared_by_exactly_one_loss(backend_name: str) -> None:
    """A kernel in ``polyloss._native._<backend>`` is a registered loss's declared native
    (so it has the conformance test below), and every declared native has a kernel."""
    declared = {name for name, info in REGISTRY.items() if backend_name in info.natives}
    module_name = f"polyloss._native._{backend_name}"
    if importlib.util.find_spec(module_name) is None:
        assert not declared, f"{sorted(declared)} declare a {backend_name} native, but {module_name} does not exist"
        return
    pytest.importorskip(backend_name)
    kernels = _kernels(importlib.import_module(module_name))
    assert kernels, f"{module_name} defines no kernel"
    for kernel in sorted(kernels):
        owners = [name for name, info in REGISTRY.items() if name == kernel and backend_name in info.natives]
        assert len(owners) == 1, f"{module_name}.{kernel} is declared by {len(owners)} registered losses"
    assert declared == kernels, (
        f"declared without a kernel: {sorted(declared - kernels)}; "
        f"kernels no loss declares: {sorted(kernels - declared)}"
    )


def test_every_declared_native_has_a_conformance_case(request: pytest.FixtureRequest) -> None:
    declared = {(name, b) for name, info in REGISTRY.items() for b in info.natives}
    assert declared <= {(n, b) for n in REGISTRY for b in NATIVE_BACKENDS}
    covered = {(name, b.library) for name, b in native_cases(request.config)}
    selected = {b.library for b in _native_backends(request.config, NATIVE_BACKENDS)}
    assert covered == {(n, b) for n, b in declared if b in selected}


def test_declared_native_without_a_kernel_raises(nb: Backend) -> None:
    """A declaration whose kernel is missing is a bug, not a silent generic path."""
    if not any(nb.library in info.natives for info in REGISTRY.values()):
        pytest.skip(f"no loss declares a {nb.library} native")
    info = next(info for info in REGISTRY.values() if nb.library in info.natives)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(N, "_KERNEL", {})
        mp.setitem(REGISTRY, "no_such_kernel", dataclasses.replace(info, name="no_such_kernel"))
        with pytest.raises(AttributeError):
            N.native_kernel(nb.xp, "no_such_kernel")


def test_registered_example_native_conforms(native_case: tuple[str, Backend]) -> None:
    """Every declared native, on its loss's registered example, every reduction: taken,
    and equal to the generic path in value and in the gradient of the first floating
    array argument."""
    name, nb = native_case
    info = REGISTRY[name]
    arrays = example_numpy(info)
    options = dict(info.example.options)
    k = next((i for i, a in enumerate(arrays) if a.dtype.kind == "f"), 0)
    fixed = [nb.asarray(a) for a in arrays]
    for reduction in info.reductions:
        def fn(a: Any, reduction: str = reduction) -> Any:
            args = [*fixed[:k], a, *fixed[k + 1:]]
            return info.function(*args, **options, reduction=reduction)

        check_same(nb, fn, arrays[k], expect=name)


# --------------------------------------------------------------------------
# primitives
# --------------------------------------------------------------------------

EXTREMES = np.array([[-1e4, -40.0, -25.0, -20.5, -1.0, 0.0], [0.5, 3.0, 20.5, 25.0, 40.5, 1e4]])


@pytest.mark.parametrize("name", ["logsumexp", "log_softmax", "softplus"])
def test_primitives(nb: Backend, name: str) -> None:
    xp = nb.xp
    x_np = np.concatenate([EXTREMES, RNG.normal(size=(2, 6)) * 3])
    if name == "softplus":
        def fn(x: Any) -> Any:
            return A.softplus(xp, x)
    elif name == "logsumexp":
        def fn(x: Any) -> Any:
            return A.logsumexp(xp, x, axis=1)
    else:
        def fn(x: Any) -> Any:
            return A.log_softmax(xp, x, axis=1)
    module = A.backend_module(xp)
    assert module is not None and callable(getattr(module, name))
    v1, g1 = value_and_grad(nb, fn, x_np)
    with generic_primitives():
        assert A.backend_module(xp) is None
        v0, g0 = value_and_grad(nb, fn, x_np)
    np.testing.assert_allclose(v1, v0, **_tol(nb))
    np.testing.assert_allclose(g1, g0, **_tol(nb))


# --------------------------------------------------------------------------
# regression
# --------------------------------------------------------------------------

REGRESSION = [
    ("l1_loss", {}), ("mse_loss", {}),
    ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 1.0}),
    ("huber_loss", {"delta": 0.5}), ("huber_loss", {"delta": 2.0}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("name", "options"), REGRESSION, ids=[f"{n}{o}" for n, o in REGRESSION])
def test_regression(nb: Backend, name: str, options: dict, reduction: str) -> None:
    _skip_without(nb, name)
    x_np = RNG.normal(size=(5, 7)) * 3
    y = nb.asarray(RNG.normal(size=(5, 7)))
    loss = getattr(polyloss, name)
    check_same(nb, lambda x: loss(x, y, reduction=reduction, **options), x_np, expect=name)


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss"])
def test_regression_weighted_declines(nb: Backend, name: str) -> None:
    _skip_without(nb, name)
    x_np, y = RNG.normal(size=(4, 3)), nb.asarray(RNG.normal(size=(4, 3)))
    w = RNG.uniform(0.5, 2.0, (4, 3))
    with seam("native") as runs:
        getattr(polyloss, name)(nb.asarray(x_np), y, weight=w)
    assert (name, False) in runs.taken  # asked, and declined
    check_same(nb, lambda x: getattr(polyloss, name)(x, y, weight=w), x_np, expect=None)


def test_huber_delta_zero(nb: Backend) -> None:
    _skip_without(nb, "huber_loss")
    x_np, y = RNG.normal(size=(4, 3)), nb.asarray(RNG.normal(size=(4, 3)))
    v = check_same(nb, lambda x: polyloss.huber_loss(x, y, delta=0.0), x_np, expect=None)
    assert v == 0.0


# --------------------------------------------------------------------------
# cross-entropy and NLL
# --------------------------------------------------------------------------

C = 5
WEIGHT = [0.5, 1.0, 2.0, 1.5, 0.25]


def class_index_reference(
    x: np.ndarray, t: np.ndarray, *, axis: int, weight: Any = None, label_smoothing: float = 0.0,
    ignore_index: int = -100, reduction: str = "mean", log_probabilities: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """float64 value and gradient of ``sum(c * loss)`` of cross-entropy (logits) or NLL
    (``log_probabilities=True``) with class-index targets, written from torch's formulas:

    CE: ``l_i = (1-e) w_t (-log p_t) + e/C sum_c w_c (-log p_c)``, with gradient
    ``(1-e) w_t (p - onehot_t) + e/C (sum(w) p - w)``; NLL: ``l_i = -w_t x_t``. Ignored
    entries give 0; ``"mean"`` divides by the total ``w_t`` of the others (0 and a zero
    gradient when that is 0).
    """
    ax = 0 if x.ndim == 1 else axis % x.ndim
    xm = np.moveaxis(x, ax, -1)
    num_classes = xm.shape[-1]
    w = np.ones(num_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    counts = t != ignore_index
    safe = np.where(counts, t, 0)
    onehot = np.eye(num_classes)[safe]
    w_t = w[safe]
    if log_probabilities:
        loss = -w_t * np.take_along_axis(xm, safe[..., None], axis=-1)[..., 0]
        dloss = -w_t[..., None] * onehot
    else:
        shifted = xm - xm.max(axis=-1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        p = np.exp(logp)
        e = label_smoothing
        loss = (1 - e) * w_t * -(onehot * logp).sum(-1) + e / num_classes * -(w * logp).sum(-1)
        dloss = (1 - e) * w_t[..., None] * (p - onehot) + e / num_classes * (w.sum() * p - w)
    loss = np.where(counts, loss, 0.0)
    dloss = np.where(counts[..., None], dloss, 0.0)
    if reduction == "none":
        value, grad = loss, _weights(loss.shape)[..., None] * dloss
    else:
        total = np.sum(np.where(counts, w_t, 0.0)) if reduction == "mean" else 1.0
        if total == 0:
            value, grad = np.asarray(0.0), np.zeros_like(dloss)
        else:
            value, grad = np.asarray(loss.sum() / total), 0.5 * dloss / total
    return value, np.moveaxis(grad, -1, ax)


def probability_reference(
    x: np.ndarray, q: np.ndarray, *, axis: int = 1, weight: Any = None, label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> tuple[np.ndarray, np.ndarray]:
    """float64 value and gradient of ``sum(c * loss)`` of cross-entropy with class
    probabilities: ``l = -sum_c w_c q'_c log p_c``, ``q' = (1-e) q + e/C``, gradient
    ``sum_c(w_c q'_c) p - w q'``; ``"mean"`` divides by the number of samples."""
    xm, qm = np.moveaxis(x, axis, -1), np.moveaxis(q, axis, -1)
    num_classes = xm.shape[-1]
    w = np.ones(num_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    qs = (1 - label_smoothing) * qm + label_smoothing / num_classes
    shifted = xm - xm.max(axis=-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = -(w * qs * logp).sum(-1)
    dloss = (w * qs).sum(-1, keepdims=True) * np.exp(logp) - w * qs
    if reduction == "none":
        value, grad = loss, _weights(loss.shape)[..., None] * dloss
    else:
        n = loss.size if reduction == "mean" else 1
        value, grad = np.asarray(loss.sum() / n), 0.5 * dloss / n
    return value, np.moveaxis(grad, -1, axis)


def test_class_index_reference_is_the_loss() -> None:
    """The references above against central differences of themselves (their gradients)
    and against polyloss on NumPy (their values)."""
    x, t, axis = _layout_data("channel_last", "ignored")
    for name in ("cross_entropy", "nll_loss"):
        options = {"weight": WEIGHT, **({"label_smoothing": 0.2} if name == "cross_entropy" else {})}
        for reduction in ("mean", "sum", "none"):
            value, grad = class_index_reference(x, t, axis=axis, reduction=reduction,
                                                log_probabilities=name == "nll_loss", **options)
            np.testing.assert_allclose(value, getattr(polyloss, name)(x, t, axis=axis, reduction=reduction,
                                                                      **options), rtol=1e-12)

            def scalar(a: np.ndarray, reduction: str = reduction, name: str = name,
                       options: dict = options) -> float:
                v, _ = class_index_reference(a, t, axis=axis, reduction=reduction,
                                             log_probabilities=name == "nll_loss", **options)
                return float(np.sum(_weights(v.shape) * v))

            np.testing.assert_allclose(grad, _central_difference(scalar, x), rtol=1e-6, atol=1e-8)
    q = RNG.dirichlet(np.ones(C), size=(4, 3)).transpose(0, 2, 1)
    x = RNG.normal(size=(4, C, 3))
    for reduction in ("mean", "none"):
        value, grad = probability_reference(x, q, weight=WEIGHT, label_smoothing=0.1, reduction=reduction)
        np.testing.assert_allclose(value, polyloss.cross_entropy(x, q, weight=WEIGHT, label_smoothing=0.1,
                                                                 reduction=reduction), rtol=1e-12)

        def scalar_p(a: np.ndarray, reduction: str = reduction) -> float:
            v, _ = probability_reference(a, q, weight=WEIGHT, label_smoothing=0.1, reduction=reduction)
            return float(np.sum(_weights(v.shape) * v))

        np.testing.assert_allclose(grad, _central_difference(scalar_p, x), rtol=1e-6, atol=1e-8)


def _central_difference(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        out[i] = (f(up) - f(down)) / (2 * h)
    return out


def _layout_data(layout: str, targets: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Logits, integer targets and the axis for one layout; `targets` is
    'valid' | 'ignored' (some -100) | 'all_ignored'."""
    shapes = {"2d": ((6, C), 1), "kdim": ((3, C, 2, 4), 1), "channel_last": ((3, 2, 4, C), -1),
              "middle": ((3, 2, C, 4), 2), "unbatched": ((C,), 1)}
    shape, axis = shapes[layout]
    x = RNG.normal(size=shape) * 2
    ax = axis % len(shape) if len(shape) > 1 else 0
    t_shape = tuple(d for i, d in enumerate(shape) if i != ax)
    t = RNG.integers(0, C, size=t_shape)
    if targets == "ignored":
        t.reshape(-1)[::3] = -100
    elif targets == "all_ignored":
        t[...] = -100
    return x, t, axis


CE_CASES = [
    *itertools.product(["2d"], ["valid", "ignored", "all_ignored"], [False, True], [0.0, 0.15],
                       ["mean", "sum", "none"]),
    *itertools.product(["kdim", "channel_last", "middle", "unbatched"], ["valid", "ignored"], [False, True],
                       [0.0, 0.15], ["mean", "none"]),
]


def _ids(case: tuple) -> str:
    return "-".join(str(c) for c in case)


def _indexed_expectation(nb: Backend, name: str, targets: str, reduction: str) -> str | None:
    """Which native must answer: None where none is declared, and on torch for a mean
    over nothing (on CPU torch's mean is read back; a NaN sends the call to the generic
    path)."""
    if not _declares(nb, name):
        return None
    if nb.library == "torch" and targets == "all_ignored" and reduction == "mean":
        return None
    return name


@pytest.mark.parametrize(("layout", "targets", "weighted", "smoothing", "reduction"), CE_CASES,
                         ids=[_ids(c) for c in CE_CASES])
def test_cross_entropy(nb: Backend, layout: str, targets: str, weighted: bool, smoothing: float,
                       reduction: str) -> None:
    x_np, t_np, axis = _layout_data(layout, targets)
    if layout == "unbatched" and targets != "valid":
        t_np = np.asarray(-100 if targets == "all_ignored" else t_np)
    t = nb.asarray(t_np)
    w = WEIGHT if weighted else None

    def fn(x: Any) -> Any:
        return polyloss.cross_entropy(x, t, weight=w, label_smoothing=smoothing, axis=axis,
                                      reduction=reduction)

    def reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return class_index_reference(x, t_np, axis=axis, weight=w, label_smoothing=smoothing,
                                     reduction=reduction)

    nothing_counts = "all_ignored" if np.all(t_np == -100) else targets
    v = check_same(nb, fn, x_np, expect=_indexed_expectation(nb, "cross_entropy", nothing_counts, reduction),
                   reference=reference)
    if targets == "all_ignored" and reduction != "none":
        assert float(v) == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probabilities(nb: Backend, weighted: bool, smoothing: float, reduction: str) -> None:
    x_np = RNG.normal(size=(4, C, 3)) * 2
    p = RNG.uniform(0.1, 1.0, size=(4, C, 3))
    q = p / p.sum(axis=1, keepdims=True)
    y = nb.asarray(q)
    q_rounded = nb.to_numpy(y).astype(np.float64)
    w = WEIGHT if weighted else None
    # torch's kernel declines class probabilities (see the next test): the generic path
    # against the reference
    v = check_same(nb, lambda x: polyloss.cross_entropy(x, y, weight=w, label_smoothing=smoothing,
                                                         reduction=reduction), x_np, expect=None,
                   reference=lambda x: probability_reference(x, q_rounded, weight=w, label_smoothing=smoothing,
                                                             reduction=reduction))
    assert np.all(np.isfinite(v))


def test_cross_entropy_probabilities_masked_logit(nb: Backend) -> None:
    """A masked (-inf) logit of target probability 0 contributes 0, where torch's kernel
    gives NaN: a declared native declines class probabilities."""
    x_np = np.array([[0.5, -np.inf, 1.0], [2.0, 0.0, -np.inf]])
    q = np.array([[0.25, 0.0, 0.75], [0.5, 0.5, 0.0]])
    with seam("native") as runs:
        out = nb.to_numpy(polyloss.cross_entropy(nb.asarray(x_np), nb.asarray(q), reduction="none"))
    assert not runs.any_taken()
    assert (("cross_entropy", False) in runs.taken) == _declares(nb, "cross_entropy")
    finite = np.where(q > 0, x_np, 0.0)
    logp = finite - np.log(np.sum(np.exp(x_np), axis=1, keepdims=True))
    np.testing.assert_allclose(out, -np.sum(np.where(q > 0, q * logp, 0.0), axis=1), **_ref_tol(nb))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("targets", ["valid", "ignored", "all_ignored"])
@pytest.mark.parametrize("layout", ["2d", "channel_last"])
def test_class_index_under_jit(nb: Backend, name: str, targets: str, layout: str) -> None:
    """``jax.jit`` of cross-entropy and NLL (once JAX natives of their own, now the generic
    path): the float64 reference's value and gradient."""
    if nb.library != "jax":
        pytest.skip("jax.jit")
    x_np, t_np, axis = _layout_data(layout, targets)
    t = nb.asarray(t_np)
    options = {"weight": WEIGHT, **({"label_smoothing": 0.1} if name == "cross_entropy" else {})}
    v = check_same(nb, lambda x: getattr(polyloss, name)(x, t, axis=axis, **options), x_np,
                   expect=_indexed_expectation(nb, name, targets, "mean"), jit=True,
                   reference=lambda x: class_index_reference(x, t_np, axis=axis, log_probabilities=name == "nll_loss",
                                                             **options))
    if targets == "all_ignored":
        assert float(v) == 0.0


NLL_CASES = [
    *itertools.product(["2d"], ["valid", "ignored", "all_ignored"], [False, True], ["mean", "sum", "none"]),
    *itertools.product(["kdim", "channel_last", "middle"], ["valid", "ignored"], [False, True], ["mean", "none"]),
]


@pytest.mark.parametrize(("layout", "targets", "weighted", "reduction"), NLL_CASES,
                         ids=[_ids(c) for c in NLL_CASES])
def test_nll_loss(nb: Backend, layout: str, targets: str, weighted: bool, reduction: str) -> None:
    x_np, t_np, axis = _layout_data(layout, targets)
    t = nb.asarray(t_np)
    w = WEIGHT if weighted else None
    v = check_same(nb, lambda x: polyloss.nll_loss(x, t, weight=w, axis=axis, reduction=reduction),
                   x_np, expect=_indexed_expectation(nb, "nll_loss", targets, reduction),
                   reference=lambda x: class_index_reference(x, t_np, axis=axis, weight=w, reduction=reduction,
                                                             log_probabilities=True))
    if targets == "all_ignored" and reduction != "none":
        assert float(v) == 0.0


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("targets", ["ignored", "all_ignored", "zero_weight"])
def test_sync_free_mean(nb: Backend, monkeypatch: pytest.MonkeyPatch, name: str, weighted: bool,
                        targets: str) -> None:
    """The mean as torch computes it on devices where reading a value back synchronises
    (CUDA): sum / total weight inside the graph, 0 with a zero gradient when nothing counts."""
    if nb.library != "torch":
        pytest.skip("torch only")
    _skip_without(nb, name)
    from polyloss._native import _torch

    monkeypatch.setattr(_torch, "_reads_cheaply", lambda x: False)
    x_np, t_np, _ = _layout_data("2d", "all_ignored" if targets == "all_ignored" else "ignored")
    w = WEIGHT if weighted or targets == "zero_weight" else None
    if targets == "zero_weight":  # every counted target has weight 0
        w = [0.0, 1.0, 1.0, 1.0, 1.0]
        t_np = np.where(t_np == -100, -100, 0)
    t = nb.asarray(t_np)
    v = check_same(nb, lambda x: getattr(polyloss, name)(x, t, weight=w), x_np, expect=name)
    if targets != "ignored":
        assert float(v) == 0.0


@pytest.fixture
def by_rows(nb: Backend, monkeypatch: pytest.MonkeyPatch) -> Any:
    """torch's cross-entropy by blocks of rows (large CPU batches) at every size, in blocks
    of two rows of the C classes (the last block short)."""
    if nb.library != "torch":
        pytest.skip("torch only")
    from polyloss._native import _torch

    monkeypatch.setattr(_torch, "_ROWS_FROM", 0)
    monkeypatch.setattr(_torch, "_BLOCK", 2 * C)
    return _torch


ROWS_CASES = [
    *itertools.product(["2d"], ["valid", "ignored", "all_ignored"], [False, True], [0.0, 0.15],
                       ["mean", "sum", "none"]),
    *itertools.product(["channel_last"], ["ignored"], [False, True], [0.15], ["mean", "none"]),
]


@pytest.mark.parametrize(("layout", "targets", "weighted", "smoothing", "reduction"), ROWS_CASES,
                         ids=[_ids(c) for c in ROWS_CASES])
def test_cross_entropy_by_rows(nb: Backend, by_rows: Any, layout: str, targets: str, weighted: bool,
                               smoothing: float, reduction: str) -> None:
    x_np, t_np, axis = _layout_data(layout, targets)
    if layout == "2d":
        x_np = np.concatenate([x_np, x_np[:1] + 1.0])  # 7 rows: blocks of 2, 2, 2 and 1
        t_np = np.concatenate([t_np, t_np[:1]])
    t = nb.asarray(t_np)
    w = WEIGHT if weighted else None
    original = by_rows._cross_entropy_by_rows
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(by_rows, "_cross_entropy_by_rows", lambda *a: calls.append(1) or original(*a))
        v = check_same(nb, lambda x: polyloss.cross_entropy(x, t, weight=w, label_smoothing=smoothing, axis=axis,
                                                            reduction=reduction), x_np, expect="cross_entropy",
                       reference=lambda x: class_index_reference(x, t_np, axis=axis, weight=w,
                                                                 label_smoothing=smoothing, reduction=reduction))
    assert calls
    if targets == "all_ignored" and reduction != "none":
        assert float(v) == 0.0


def test_cross_entropy_by_rows_second_derivative(nb: Backend, by_rows: Any) -> None:
    """With ``create_graph`` the backward is differentiable: F.cross_entropy's Hessian-vector
    product, and torch.func's (where the generic path runs)."""
    import torch
    import torch.nn.functional as F

    x_np, t_np, _ = _layout_data("2d", "ignored")
    t = nb.asarray(t_np)
    w = nb.asarray(np.asarray(WEIGHT))
    x = nb.asarray(x_np).requires_grad_(True)
    v = nb.asarray(RNG.normal(size=x_np.shape))
    hvps = []
    for loss in (polyloss.cross_entropy, F.cross_entropy):
        (g,) = torch.autograd.grad(loss(x, t, weight=w, label_smoothing=0.1), x, create_graph=True)
        hvps.append(torch.autograd.grad((g * v).sum(), x)[0])
    grad_fn = torch.func.grad(lambda a: polyloss.cross_entropy(a, t, weight=w, label_smoothing=0.1))
    func_hvp = torch.func.grad(lambda a: (grad_fn(a) * v).sum())(x.detach())
    np.testing.assert_allclose(nb.to_numpy(hvps[0]), nb.to_numpy(hvps[1]), **_tol(nb))
    np.testing.assert_allclose(nb.to_numpy(hvps[0]), nb.to_numpy(func_hvp), **_tol(nb))


@pytest.mark.parametrize("bad", [C, -1])
def test_cross_entropy_by_rows_out_of_range_raises(nb: Backend, by_rows: Any, bad: int) -> None:
    x = nb.asarray(RNG.normal(size=(4, C)))
    with pytest.raises(ValueError, match=str(bad)):
        polyloss.cross_entropy(x, nb.asarray(np.array([0, bad, 1, -100])))


def test_int32_and_float16_targets(nb: Backend) -> None:
    if nb.library != "torch":
        pytest.skip("torch only (JAX's int32 is its default)")
    _skip_without(nb, "cross_entropy")
    import torch

    x_np, t_np, _ = _layout_data("2d", "ignored")
    t = torch.asarray(t_np, dtype=torch.int32)
    check_same(nb, lambda x: polyloss.cross_entropy(x, t, weight=WEIGHT, label_smoothing=0.1), x_np,
               expect="cross_entropy",
               reference=lambda x: class_index_reference(x, t_np, axis=1, weight=WEIGHT, label_smoothing=0.1))
    x16 = torch.asarray(x_np, dtype=torch.float16)
    with seam("native") as runs:
        a = polyloss.cross_entropy(x16, t)
    with seam("generic"):
        b = polyloss.cross_entropy(x16, t)
    assert runs.took("cross_entropy")
    assert a.dtype == b.dtype == torch.float16
    assert float(a) == float(b)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [C, 7, -1, -5])
def test_out_of_range_eager_raises(nb: Backend, name: str, bad: int) -> None:
    x = nb.asarray(RNG.normal(size=(4, C)))
    t = nb.asarray(np.array([0, bad, 1, -100]))
    with pytest.raises(ValueError, match=str(bad)):
        getattr(polyloss, name)(x, t)
    with seam("generic"), pytest.raises(ValueError, match=str(bad)):
        getattr(polyloss, name)(x, t)
    kernel = N.native_kernel(nb.xp, name)
    assert (kernel is not None) == _declares(nb, name)
    if kernel is not None:
        # the kernels validate by themselves in eager calls (torch: ATen's CPU kernels
        # check the range and the polyloss message is raised), so the loss needs no
        # check before them
        options = {"label_smoothing": 0.1} if name == "cross_entropy" else {}
        for reduction in ("mean", "sum", "none"):
            with pytest.raises(ValueError, match=str(bad)):
                kernel(x, t, weight=None, ignore_index=-100, axis=1, reduction=reduction, **options)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_binary_cross_entropy_native_validates(nb: Backend, bad: float, requires_grad: bool) -> None:
    if nb.library != "torch":
        pytest.skip("torch only")
    _skip_without(nb, "binary_cross_entropy")
    from polyloss._native import _torch

    p = nb.asarray(np.array([[0.5, bad], [0.2, 0.9]])).requires_grad_(requires_grad)
    y = nb.asarray(np.ones((2, 2)))
    with pytest.raises(ValueError, match="probabilities"):
        polyloss.binary_cross_entropy(p, y)
    with pytest.raises(ValueError, match="probabilities"):
        _torch.binary_cross_entropy(p, y, weight=None, reduction="mean")


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_out_of_range_jit_nan(nb: Backend, name: str) -> None:
    if nb.library != "jax":
        pytest.skip("jax.jit")
    import jax

    x_np = RNG.normal(size=(4, C))
    x = nb.asarray(x_np)
    good_np = np.array([0, 2, 1, -100])
    good, bad = nb.asarray(good_np), nb.asarray(np.array([0, C, 1, -100]))
    options = {"weight": WEIGHT, **({"label_smoothing": 0.1} if name == "cross_entropy" else {})}

    def fn(x: Any, t: Any) -> Any:
        return getattr(polyloss, name)(x, t, **options)

    with seam("native"):
        assert np.isnan(float(jax.jit(fn)(x, bad)))
        value = float(jax.jit(fn)(x, good))
    expected, _ = class_index_reference(nb.to_numpy(x).astype(np.float64), good_np, axis=1,
                                        log_probabilities=name == "nll_loss", **options)
    np.testing.assert_allclose(value, expected, **_ref_tol(nb))


# --------------------------------------------------------------------------
# binary
# --------------------------------------------------------------------------

BCE_WEIGHTS = {"none": None, "row": RNG.uniform(0.5, 1.5, (1, 4)), "full": RNG.uniform(0.5, 1.5, (3, 4))}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", list(BCE_WEIGHTS))
@pytest.mark.parametrize("probabilities", ["interior", "saturated", "near_saturated"])
def test_binary_cross_entropy(nb: Backend, probabilities: str, weight: str, reduction: str) -> None:
    _skip_without(nb, "binary_cross_entropy")
    p = RNG.uniform(0.05, 0.95, (3, 4))
    if probabilities == "saturated":
        p[0, :2], p[1, :2] = 0.0, 1.0
    elif probabilities == "near_saturated":
        p[0, 0] = 1e-13
    y = nb.asarray(RNG.uniform(0.0, 1.0, (3, 4)).round())
    w = BCE_WEIGHTS[weight]
    # torch's kernel gives the exact gradient only away from 0 and 1: there it must decline
    expect = "binary_cross_entropy" if probabilities == "interior" or nb.library != "torch" else None
    check_same(nb, lambda x: polyloss.binary_cross_entropy(x, y, weight=w, reduction=reduction), p, expect=expect)


def test_binary_cross_entropy_forward_only_saturated(nb: Backend) -> None:
    """Without a gradient the values agree everywhere, so the native answers."""
    if nb.library != "torch":
        pytest.skip("torch only")
    _skip_without(nb, "binary_cross_entropy")
    p = np.array([[0.0, 1.0, 1e-13, 0.5]])
    y = nb.asarray(np.array([[1.0, 0.0, 1.0, 1.0]]))
    with seam("native") as runs:
        a = nb.to_numpy(polyloss.binary_cross_entropy(nb.asarray(p), y, reduction="none"))
    with seam("generic"):
        b = nb.to_numpy(polyloss.binary_cross_entropy(nb.asarray(p), y, reduction="none"))
    assert runs.took("binary_cross_entropy")
    np.testing.assert_allclose(a, b, **_tol(nb))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, "row"])
@pytest.mark.parametrize("pos_weight", [None, [2.0, 0.5, 1.0, 3.0]])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_binary_cross_entropy_with_logits(nb: Backend, weight: str | None, pos_weight: Any,
                                          smoothing: float, reduction: str) -> None:
    _skip_without(nb, "binary_cross_entropy_with_logits")
    x_np = np.concatenate([RNG.normal(size=(2, 4)) * 3, [[-1e4, -30.0, 30.0, 1e4]]])
    y = nb.asarray(RNG.uniform(0.0, 1.0, (3, 4)).round())
    w = None if weight is None else BCE_WEIGHTS[weight]
    check_same(nb, lambda x: polyloss.binary_cross_entropy_with_logits(
        x, y, weight=w, pos_weight=pos_weight, label_smoothing=smoothing, reduction=reduction),
        x_np, expect="binary_cross_entropy_with_logits")


# --------------------------------------------------------------------------
# focal
# --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.5])
def test_sigmoid_focal_loss(nb: Backend, gamma: float, alpha: float | None, reduction: str) -> None:
    """Gammas in (0, 1) decline: ``pow``'s gradient at 0 is not the generic path's."""
    _skip_without(nb, "sigmoid_focal_loss")
    x_np = np.concatenate([RNG.normal(size=(2, 4)) * 3, [[-1e4, -30.0, 30.0, 1e4]]])
    y = nb.asarray(np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.3, 0.7], [1.0, 0.0, 0.0, 1.0]]))
    expect = None if 0.0 < gamma < 1.0 else "sigmoid_focal_loss"
    check_same(nb, lambda x: polyloss.sigmoid_focal_loss(x, y, gamma=gamma, alpha=alpha, reduction=reduction),
               x_np, expect=expect)


# --------------------------------------------------------------------------
# torch.compile(fullgraph=True)
# --------------------------------------------------------------------------


def _compiled(fn: Any, backend: str = "aot_eager") -> Any:
    import torch

    torch._dynamo.reset()
    return torch.compile(fn, fullgraph=True, backend=backend)


def test_compile_class_index_out_of_range_nan(nb: Backend) -> None:
    """Under torch.compile the class-index natives cannot raise for an out-of-range index:
    they give NaN, as the generic path does, and the eager value otherwise."""
    if nb.library != "torch":
        pytest.skip("torch.compile")
    _skip_without(nb, "cross_entropy")
    _skip_without(nb, "nll_loss")
    x = nb.asarray(RNG.normal(size=(4, C)))
    good, bad = nb.asarray(np.array([0, 2, 1, -100])), nb.asarray(np.array([0, C, 1, -100]))

    def fn(x: Any, t: Any) -> Any:
        return (polyloss.cross_entropy(x, t, weight=WEIGHT, label_smoothing=0.1)
                + polyloss.nll_loss(x, t))

    f = _compiled(fn)
    assert np.isnan(float(f(x, bad)))
    np.testing.assert_allclose(float(f(x, good)), float(fn(x, good)), **_tol(nb))
    with seam("generic"):
        np.testing.assert_allclose(float(_compiled(fn)(x, good)), float(fn(x, good)), **_tol(nb))


def test_compile_natives_fullgraph(nb: Backend) -> None:
    """The natives that stay on under tracing compile without a graph break."""
    if nb.library != "torch":
        pytest.skip("torch.compile")
    names = {"mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy_with_logits",
             "sigmoid_focal_loss"}
    for name in sorted(names):
        _skip_without(nb, name)
    x_np = RNG.normal(size=(4, C))
    y = nb.asarray(RNG.uniform(0.0, 1.0, (4, C)).round())
    p = nb.asarray(RNG.dirichlet(np.ones(C), size=4))

    def fn(x: Any) -> Any:
        return (polyloss.mse_loss(x, y) + polyloss.l1_loss(x, y) + polyloss.huber_loss(x, y, delta=0.5)
                + polyloss.smooth_l1_loss(x, y, beta=0.5)
                + polyloss.binary_cross_entropy_with_logits(x, y, pos_weight=[2.0] * C, label_smoothing=0.1)
                + polyloss.cross_entropy(x, p, weight=WEIGHT, label_smoothing=0.1)
                + polyloss.sigmoid_focal_loss(x, y, gamma=2.0))

    f = _compiled(fn)
    with seam("native") as runs:
        v1, g1 = value_and_grad(nb, f, x_np)
    assert {name for name, ok in runs.taken if ok} == names
    assert ("cross_entropy", False) in runs.taken  # class probabilities: the generic path, in the graph
    with seam("generic"):
        v0, g0 = value_and_grad(nb, fn, x_np)
    np.testing.assert_allclose(v1, v0, **_tol(nb))
    np.testing.assert_allclose(g1, g0, **_tol(nb))


@pytest.mark.slow
def test_compile_inductor_cross_entropy(nb: Backend) -> None:
    """The default (inductor) backend: same value and NaN for an out-of-range index."""
    if nb.library != "torch":
        pytest.skip("torch.compile")
    x = nb.asarray(RNG.normal(size=(4, C)))
    good, bad = nb.asarray(np.array([0, 2, 1, -100])), nb.asarray(np.array([0, C, 1, -100]))
    f = _compiled(lambda x, t: polyloss.cross_entropy(x, t, label_smoothing=0.1), backend="inductor")
    assert np.isnan(float(f(x, bad)))
    np.testing.assert_allclose(float(f(x, good)), float(polyloss.cross_entropy(x, good, label_smoothing=0.1)),
                               **_tol(nb))
