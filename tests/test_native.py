"""Conformance of the native fast paths: every native kernel against the generic path.

The array layer's seam (``polyloss._array.native``) swaps a backend's fused kernel
(``_array/_torch.py``, ``_array/_jax.py``) in for the generic Array API composition.
Here each loss is evaluated twice on the same data -- once as shipped, once with
every native disabled -- and the values and gradients must agree to the SPEC's
tolerance (float64 rtol 1e-12, float32 rtol 1e-5). The tests also assert that the
native was actually taken (or declined, where it must decline), so that none of
them can pass by comparing the generic path with itself.

Covered: regression (l1, mse, smooth L1, Huber), cross-entropy and NLL (weight,
ignore_index, label smoothing, all-ignored batches, K-dim, channel-last ``axis=-1``,
unbatched, probability targets, int32 targets, float16), BCE and BCE-with-logits
(weight, pos_weight, label smoothing, saturation), the primitives (logsumexp,
log_softmax, softplus), eager ValueError for out-of-range indices, and NaN for them
under ``torch.compile(fullgraph=True)`` and ``jax.jit``.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import polyloss
import polyloss._array as A
from polyloss._backends import Backend

LOSS_NATIVES = (
    "l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``nb``: the backends of the matrix that have native kernels (torch and JAX)."""
    if "nb" in metafunc.fixturenames:
        from conftest import selected_backends

        found = [b for b in selected_backends(metafunc.config)
                 if b.library in ("torch", "jax") and b.device is None]
        metafunc.parametrize("nb", found, ids=[b.name for b in found])


# --------------------------------------------------------------------------
# switching the seam
# --------------------------------------------------------------------------


@contextlib.contextmanager
def seam(mode: str) -> Iterator[list[tuple[str, bool]]]:
    """``"generic"``: every native off. ``"native"``: natives on, and the calls of the
    loss-level natives recorded as ``(name, returned a value)``."""
    taken: list[tuple[str, bool]] = []
    with pytest.MonkeyPatch.context() as mp:
        if mode == "generic":
            mp.setattr(A, "_NATIVE_MODULES", {})
            mp.setattr(A, "_NATIVE_CACHE", {})
        else:
            cache: dict[Any, Any] = {}
            original = A.native

            def recording(xp: Any, name: str) -> Any:
                key = (id(xp), name)
                if key not in cache:
                    impl = original(xp, name)
                    if impl is not None and name in LOSS_NATIVES:
                        def impl_recorded(*args: Any, _impl: Any = impl, _name: str = name, **kw: Any) -> Any:
                            out = _impl(*args, **kw)
                            taken.append((_name, out is not NotImplemented))
                            return out
                        cache[key] = impl_recorded
                    else:
                        cache[key] = impl
                return cache[key]

            for module in (polyloss.regression, polyloss.classification):
                mp.setattr(module, "native", recording)
        yield taken


def _tol(nb: Backend) -> dict[str, float]:
    return {"rtol": 1e-12, "atol": 1e-13} if nb.dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}


def value_and_grad(nb: Backend, fn: Any, x_np: np.ndarray, *, jit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Value of ``fn(x)`` (any shape) and the gradient of ``sum(c * fn(x))`` for a fixed c."""
    if nb.library == "torch":
        import torch

        x = nb.asarray(x_np).requires_grad_(True)
        out = fn(x)
        c = torch.from_numpy(np.linspace(0.5, 1.5, max(out.numel(), 1)).reshape(tuple(out.shape))).to(out.dtype)
        (g,) = torch.autograd.grad((out * c).sum(), x)
        return nb.to_numpy(out), nb.to_numpy(g)
    import jax
    import jax.numpy as jnp

    def scalar(x: Any) -> Any:
        out = fn(x)
        c = jnp.asarray(np.linspace(0.5, 1.5, max(out.size, 1)).reshape(out.shape), dtype=out.dtype)
        return jnp.sum(out * c), out

    f = jax.value_and_grad(scalar, has_aux=True)
    if jit:
        f = jax.jit(f)
    (_, out), g = f(nb.asarray(x_np))
    return np.asarray(out), np.asarray(g)


def check_same(nb: Backend, fn: Any, x_np: np.ndarray, *, expect: str | None, jit: bool = False) -> np.ndarray:
    """Native and generic agree in value and gradient; `expect` names the native that must
    have been taken (None: it must have declined, or there is none)."""
    with seam("native") as taken:
        v1, g1 = value_and_grad(nb, fn, x_np, jit=jit)
    with seam("generic"):
        v0, g0 = value_and_grad(nb, fn, x_np, jit=jit)
    if expect is not None:
        assert (expect, True) in taken, f"native {expect} not taken: {taken}"
    else:
        assert not any(ok for _, ok in taken), f"a native was taken: {taken}"
    assert v1.dtype == v0.dtype
    np.testing.assert_allclose(v1, v0, **_tol(nb))
    np.testing.assert_allclose(g1, g0, **_tol(nb))
    assert np.all(np.isfinite(g1))
    return v1


def _has_native(nb: Backend, name: str) -> bool:
    return A.native(nb.xp, name) is not None


def _skip_without(nb: Backend, name: str) -> None:
    if not _has_native(nb, name):
        pytest.skip(f"{nb.library} has no native {name}")


RNG = np.random.default_rng(20261129)


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
    with seam("native"):
        assert A.native(xp, name) is not None
        v1, g1 = value_and_grad(nb, fn, x_np)
    with seam("generic"):
        assert A.native(xp, name) is None
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


def _ce_expectation(nb: Backend, targets: str, reduction: str) -> str | None:
    """Which native must answer. On CPU torch's mean is read back; a NaN (nothing counts)
    sends the call to the generic path."""
    if nb.library == "torch" and targets == "all_ignored" and reduction == "mean":
        return None
    return "cross_entropy"


@pytest.mark.parametrize(("layout", "targets", "weighted", "smoothing", "reduction"), CE_CASES,
                         ids=[_ids(c) for c in CE_CASES])
def test_cross_entropy(nb: Backend, layout: str, targets: str, weighted: bool, smoothing: float,
                       reduction: str) -> None:
    _skip_without(nb, "cross_entropy")
    x_np, t_np, axis = _layout_data(layout, targets)
    if layout == "unbatched" and targets != "valid":
        t_np = np.asarray(-100 if targets == "all_ignored" else t_np)
    t = nb.asarray(t_np)
    w = WEIGHT if weighted else None

    def fn(x: Any) -> Any:
        return polyloss.cross_entropy(x, t, weight=w, label_smoothing=smoothing, axis=axis,
                                      reduction=reduction)

    nothing_counts = "all_ignored" if np.all(t_np == -100) else targets
    v = check_same(nb, fn, x_np, expect=_ce_expectation(nb, nothing_counts, reduction))
    if targets == "all_ignored" and reduction != "none":
        assert float(v) == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probabilities(nb: Backend, weighted: bool, smoothing: float, reduction: str) -> None:
    _skip_without(nb, "cross_entropy")
    x_np = RNG.normal(size=(4, C, 3)) * 2
    p = RNG.uniform(0.1, 1.0, size=(4, C, 3))
    y = nb.asarray(p / p.sum(axis=1, keepdims=True))
    w = WEIGHT if weighted else None
    expect = "cross_entropy" if nb.library == "torch" else None  # JAX: index targets only
    check_same(nb, lambda x: polyloss.cross_entropy(x, y, weight=w, label_smoothing=smoothing,
                                                     reduction=reduction), x_np, expect=expect)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("targets", ["valid", "ignored", "all_ignored"])
@pytest.mark.parametrize("layout", ["2d", "channel_last"])
def test_class_index_under_jit(nb: Backend, name: str, targets: str, layout: str) -> None:
    if nb.library != "jax":
        pytest.skip("jax.jit")
    _skip_without(nb, name)
    x_np, t_np, axis = _layout_data(layout, targets)
    t = nb.asarray(t_np)
    options = {"weight": WEIGHT, **({"label_smoothing": 0.1} if name == "cross_entropy" else {})}
    v = check_same(nb, lambda x: getattr(polyloss, name)(x, t, axis=axis, **options), x_np,
                   expect=name, jit=True)
    if targets == "all_ignored":
        assert float(v) == 0.0


NLL_CASES = [
    *itertools.product(["2d"], ["valid", "ignored", "all_ignored"], [False, True], ["mean", "sum", "none"]),
    *itertools.product(["kdim", "channel_last", "middle"], ["valid", "ignored"], [False, True], ["mean", "none"]),
]


@pytest.mark.parametrize(("layout", "targets", "weighted", "reduction"), NLL_CASES,
                         ids=[_ids(c) for c in NLL_CASES])
def test_nll_loss(nb: Backend, layout: str, targets: str, weighted: bool, reduction: str) -> None:
    _skip_without(nb, "nll_loss")
    x_np, t_np, axis = _layout_data(layout, targets)
    t = nb.asarray(t_np)
    w = WEIGHT if weighted else None
    expect = None if (nb.library == "torch" and targets == "all_ignored" and reduction == "mean") else "nll_loss"
    v = check_same(nb, lambda x: polyloss.nll_loss(x, t, weight=w, axis=axis, reduction=reduction),
                   x_np, expect=expect)
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
    from polyloss._array import _torch

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


def test_int32_and_float16_targets(nb: Backend) -> None:
    if nb.library != "torch":
        pytest.skip("torch only (JAX's int32 is its default)")
    import torch

    x_np, t_np, _ = _layout_data("2d", "ignored")
    t = torch.asarray(t_np, dtype=torch.int32)
    check_same(nb, lambda x: polyloss.cross_entropy(x, t, weight=WEIGHT, label_smoothing=0.1), x_np,
               expect="cross_entropy")
    x16 = torch.asarray(x_np, dtype=torch.float16)
    with seam("native") as taken:
        a = polyloss.cross_entropy(x16, t)
    with seam("generic"):
        b = polyloss.cross_entropy(x16, t)
    assert ("cross_entropy", True) in taken
    assert a.dtype == b.dtype == torch.float16
    assert float(a) == float(b)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [C, 7, -1, -5])
def test_out_of_range_eager_raises(nb: Backend, name: str, bad: int) -> None:
    x = nb.asarray(RNG.normal(size=(4, C)))
    t = nb.asarray(np.array([0, bad, 1, -100]))
    with pytest.raises(ValueError, match=str(bad)):
        getattr(polyloss, name)(x, t)
    fast = A.native(nb.xp, name)
    if fast is not None:
        # the natives validate by themselves in eager calls (torch: ATen's CPU kernels
        # check the range and the polyloss message is raised; JAX: polyloss' check), so
        # the loss needs no check before them
        options = {"label_smoothing": 0.1} if name == "cross_entropy" else {}
        for reduction in ("mean", "sum", "none"):
            with pytest.raises(ValueError, match=str(bad)):
                fast(x, t, weight=None, ignore_index=-100, axis=1, reduction=reduction, **options)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_binary_cross_entropy_native_validates(nb: Backend, bad: float, requires_grad: bool) -> None:
    if nb.library != "torch":
        pytest.skip("torch only")
    from polyloss._array import _torch

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

    x = nb.asarray(RNG.normal(size=(4, C)))
    good, bad = nb.asarray(np.array([0, 2, 1, -100])), nb.asarray(np.array([0, C, 1, -100]))
    options = {"weight": WEIGHT, **({"label_smoothing": 0.1} if name == "cross_entropy" else {})}

    def fn(x: Any, t: Any) -> Any:
        return getattr(polyloss, name)(x, t, **options)

    with seam("native"):
        assert np.isnan(float(jax.jit(fn)(x, bad)))
        value = float(jax.jit(fn)(x, good))
    with seam("generic"):
        expected = float(jax.jit(fn)(x, good))
    np.testing.assert_allclose(value, expected, **_tol(nb))


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
    p = np.array([[0.0, 1.0, 1e-13, 0.5]])
    y = nb.asarray(np.array([[1.0, 0.0, 1.0, 1.0]]))
    with seam("native") as taken:
        a = nb.to_numpy(polyloss.binary_cross_entropy(nb.asarray(p), y, reduction="none"))
    with seam("generic"):
        b = nb.to_numpy(polyloss.binary_cross_entropy(nb.asarray(p), y, reduction="none"))
    assert ("binary_cross_entropy", True) in taken
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
# torch.compile(fullgraph=True)
# --------------------------------------------------------------------------


def _compiled(fn: Any, backend: str = "aot_eager") -> Any:
    import torch

    torch._dynamo.reset()
    return torch.compile(fn, fullgraph=True, backend=backend)


def test_compile_class_index_out_of_range_nan(nb: Backend) -> None:
    """Under torch.compile the class-index natives decline, and the generic path gives NaN."""
    if nb.library != "torch":
        pytest.skip("torch.compile")
    x = nb.asarray(RNG.normal(size=(4, C)))
    good, bad = nb.asarray(np.array([0, 2, 1, -100])), nb.asarray(np.array([0, C, 1, -100]))

    def fn(x: Any, t: Any) -> Any:
        return (polyloss.cross_entropy(x, t, weight=WEIGHT, label_smoothing=0.1)
                + polyloss.nll_loss(x, t))

    f = _compiled(fn)
    with seam("native") as taken:
        assert np.isnan(float(f(x, bad)))
        value = float(f(x, good))
    assert not any(ok for _, ok in taken)
    np.testing.assert_allclose(value, float(fn(x, good)), **_tol(nb))


def test_compile_natives_fullgraph(nb: Backend) -> None:
    """The natives that stay on under tracing compile without a graph break."""
    if nb.library != "torch":
        pytest.skip("torch.compile")
    x_np = RNG.normal(size=(4, C))
    y = nb.asarray(RNG.uniform(0.0, 1.0, (4, C)).round())
    p = nb.asarray(RNG.dirichlet(np.ones(C), size=4))

    def fn(x: Any) -> Any:
        return (polyloss.mse_loss(x, y) + polyloss.l1_loss(x, y) + polyloss.huber_loss(x, y, delta=0.5)
                + polyloss.smooth_l1_loss(x, y, beta=0.5)
                + polyloss.binary_cross_entropy_with_logits(x, y, pos_weight=[2.0] * C, label_smoothing=0.1)
                + polyloss.cross_entropy(x, p, weight=WEIGHT, label_smoothing=0.1))

    f = _compiled(fn)
    with seam("native") as taken:
        v1, g1 = value_and_grad(nb, f, x_np)
    assert {name for name, ok in taken if ok} == {
        "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy_with_logits",
        "cross_entropy"}
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


# --------------------------------------------------------------------------
# focal: the torch native is ready for a seam in focal.py; compared here directly
# --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.5])
def test_sigmoid_focal_native(nb: Backend, gamma: float, alpha: float | None, reduction: str) -> None:
    if nb.library != "torch":
        pytest.skip("torch only")
    from polyloss._array import _torch

    x_np = np.concatenate([RNG.normal(size=(2, 4)) * 3, [[-1e4, -30.0, 30.0, 1e4]]])
    y = nb.asarray(np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.3, 0.7], [1.0, 0.0, 0.0, 1.0]]))
    if 0.0 < gamma < 1.0:
        assert _torch.sigmoid_focal_loss(nb.asarray(x_np), y, gamma=gamma, alpha=alpha,
                                         reduction=reduction) is NotImplemented
        return
    v1, g1 = value_and_grad(nb, lambda x: _torch.sigmoid_focal_loss(
        x, y, gamma=gamma, alpha=alpha, reduction=reduction), x_np)
    with seam("generic"):
        v0, g0 = value_and_grad(nb, lambda x: polyloss.sigmoid_focal_loss(
            x, y, gamma=gamma, alpha=alpha, reduction=reduction), x_np)
    np.testing.assert_allclose(v1, v0, **_tol(nb))
    np.testing.assert_allclose(g1, g0, **_tol(nb))
