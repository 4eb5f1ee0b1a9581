"""CTC and sparsemax losses on the backend matrix: values against independent float64
NumPy references (CTC by enumerating every alignment, sparsemax by bisection for its
threshold), gradients, infeasible alignments, layouts, errors (SPEC §4), the natives
against the generic path, JAX jit/grad/vmap (a thousand frames), torch.compile and Dask.
Peers (torch, optax) are in tests/parity/test_structured_parity.py."""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyloss
import polyloss._native as N

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax")


# --------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------


def _collapse(path, blank):
    out, previous = [], None
    for label in path:
        if label != previous and label != blank:
            out.append(label)
        previous = label
    return tuple(out)


def brute_ctc(lp, targets, il, tl, blank=0):
    """Per-sample CTC losses of ``(T, N, C)`` log-probabilities by summing over every
    path of ``input_length`` frames that collapses to the target (C**T paths)."""
    num_classes = lp.shape[2]
    out = []
    for n in range(lp.shape[1]):
        target = tuple(int(v) for v in targets[n, : tl[n]])
        total = -np.inf
        for path in itertools.product(range(num_classes), repeat=int(il[n])):
            if _collapse(path, blank) == target:
                total = np.logaddexp(total, sum(lp[t, n, c] for t, c in enumerate(path)))
        out.append(-total)
    return np.array(out)


def reduced(losses, tl, reduction, zero_infinity=False):
    losses = np.where(np.isinf(losses), 0.0, losses) if zero_infinity else losses
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return (losses / np.maximum(tl, 1)).mean()


def ctc_case(seed=0, T=5, C=3):
    """Unnormalized log-probabilities and targets with a repeat, a short target, an
    empty one and padding values that are not class indices."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=(T, 4, C)) - 1.0
    targets = np.array([[1, 1, 2], [2, 1, -1], [1, 99, -1], [0, 0, 0]])
    il = np.array([T, T - 1, 2, 3])
    tl = np.array([3, 2, 1, 0])
    return lp, targets, il, tl


def sparsemax_reference(z, y):
    """Sparsemax losses of ``(N, C)`` scores, the threshold by bisection:
    ``0.5 * sum_{j in S}(z_j**2 - tau**2) - z_y + 0.5``."""
    out = []
    for row, label in zip(z, y, strict=True):
        lo, hi = row.max() - 1.0, row.max()
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.maximum(row - mid, 0).sum() > 1.0 else (lo, mid)
        tau = 0.5 * (lo + hi)
        support = row > tau
        out.append(0.5 * np.sum(row[support] ** 2 - tau**2) - row[label] + 0.5)
    return np.array(out)


def sparsemax_probabilities(z):
    out = []
    for row in z:
        u = np.sort(row)[::-1]
        k = np.arange(1, len(row) + 1)
        size = np.sum(1 + k * u > np.cumsum(u))
        tau = (np.cumsum(u)[size - 1] - 1) / size
        out.append(np.maximum(row - tau, 0))
    return np.array(out)


def _rounded(backend, x):
    """`x` as the backend holds it, in float64."""
    return backend.to_numpy(backend.asarray(x)).astype(np.float64)


def _tol(backend):
    return {"rtol": backend.rtol * 10, "atol": backend.atol * 10}


@contextlib.contextmanager
def generic_path():
    """Every loss through the generic Array API path (no natives)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(N, "native_kernel", lambda xp, name: None)
        yield


# --------------------------------------------------------------------------
# CTC values and gradients
# --------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [0, 2])
def test_ctc_matches_enumeration(backend, blank):
    lp, targets, il, tl = ctc_case(blank)
    if blank:
        targets = np.where(targets == blank, 0, targets)  # no label equals the blank
    args = [backend.asarray(a) for a in (targets, il, tl)]
    x = backend.asarray(lp)
    losses = brute_ctc(_rounded(backend, lp), targets, il, tl, blank)
    for reduction in ("none", "sum", "mean"):
        got = polyloss.ctc_loss(x, *args, blank=blank, reduction=reduction)
        assert got.dtype == x.dtype
        np.testing.assert_allclose(backend.to_numpy(got), reduced(losses, tl, reduction), **_tol(backend))


def test_ctc_gradient_matches_difference_of_the_enumeration(backend):
    """The exact gradient with respect to the log-probabilities (not torch's, which adds
    ``exp(log_probs)``), on the native path and on the generic one."""
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    lp, targets, il, tl = ctc_case(3, T=4)
    args = [backend.asarray(a) for a in (targets, il, tl)]
    x0 = _rounded(backend, lp)
    h = 1e-6
    numeric = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[i] = h
        numeric[i] = (reduced(brute_ctc(x0 + e, targets, il, tl), tl, "mean")
                      - reduced(brute_ctc(x0 - e, targets, il, tl), tl, "mean")) / (2 * h)
    tol = {"rtol": 1e-5, "atol": 1e-8 if backend.dtype == "float64" else 1e-5}
    _, grad = backend.value_and_grad(lambda a: polyloss.ctc_loss(a, *args), lp)
    np.testing.assert_allclose(grad, numeric, **tol)
    with generic_path():
        _, grad = backend.value_and_grad(lambda a: polyloss.ctc_loss(a, *args), lp)
    np.testing.assert_allclose(grad, numeric, **tol)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_infeasible_is_inf_or_zero_with_zero_gradient(backend, zero_infinity):
    """A target needing more frames than the input has (a repeat needs a blank between):
    inf, or 0 with ``zero_infinity``; its gradient is 0 either way, the others' untouched."""
    lp, _, _, _ = ctc_case(4, T=4)
    targets = np.array([[1, 1, 1], [2, 1, 0], [1, 2, 0], [1, 0, 0]])
    il = np.array([4, 4, 1, 0])  # 1 1 1 needs 5 frames; 2 labels in 1 frame; 1 label in none
    tl = np.array([3, 2, 2, 1])
    args = [backend.asarray(a) for a in (targets, il, tl)]
    out = backend.to_numpy(polyloss.ctc_loss(backend.asarray(lp), *args, zero_infinity=zero_infinity,
                                             reduction="none"))
    expected = brute_ctc(_rounded(backend, lp), targets, il, tl)
    assert np.isinf(expected[[0, 2, 3]]).all() and np.isfinite(expected[1])
    np.testing.assert_allclose(out, np.where(np.isinf(expected), 0.0, expected) if zero_infinity else expected,
                               **_tol(backend))
    mean = float(backend.to_numpy(polyloss.ctc_loss(backend.asarray(lp), *args, zero_infinity=zero_infinity)))
    assert mean == (pytest.approx(expected[1] / 2 / 4, rel=1e-5) if zero_infinity else np.inf)
    if backend.has_grad:
        for generic in (False, True):
            with generic_path() if generic else contextlib.nullcontext():
                _, grad = backend.value_and_grad(
                    lambda a: polyloss.ctc_loss(a, *args, zero_infinity=zero_infinity, reduction="sum"), lp)
            assert np.isfinite(grad).all()
            assert np.all(grad[:, [0, 2, 3]] == 0)
            assert np.any(grad[:, 1] != 0)


def test_ctc_empty_targets_and_inputs(backend):
    """An empty target is the all-blank path; no frames and no labels is a loss of 0."""
    lp, _, _, _ = ctc_case(5, T=3)
    lp = lp[:, :2]
    out = polyloss.ctc_loss(backend.asarray(lp), backend.asarray(np.zeros((2, 0), dtype=np.int64)),
                            backend.asarray(np.array([3, 0])), backend.asarray(np.array([0, 0])), reduction="none")
    x = _rounded(backend, lp)
    np.testing.assert_allclose(backend.to_numpy(out), [-x[:, 0, 0].sum(), 0.0], **_tol(backend))


def test_ctc_layouts_padding_and_lengths(backend):
    """time_axis=1, concatenated targets, unbatched inputs, lengths as Python sequences
    and any padding past a target's length give the same losses."""
    lp, targets, il, tl = ctc_case(6)
    t = backend.asarray(targets)
    expected = backend.to_numpy(polyloss.ctc_loss(backend.asarray(lp), t, backend.asarray(il),
                                                  backend.asarray(tl), reduction="none"))
    tol = _tol(backend)
    swapped = polyloss.ctc_loss(backend.asarray(np.swapaxes(lp, 0, 1)), t, backend.asarray(il), backend.asarray(tl),
                                time_axis=1, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(swapped), expected, **tol)
    flat = np.concatenate([targets[n, : tl[n]] for n in range(4)])
    concatenated = polyloss.ctc_loss(backend.asarray(lp), backend.asarray(flat), backend.asarray(il),
                                     backend.asarray(tl), reduction="none")
    np.testing.assert_allclose(backend.to_numpy(concatenated), expected, **tol)
    repadded = np.where(np.arange(3) < tl[:, None], targets, 7)
    as_lists = polyloss.ctc_loss(backend.asarray(lp), backend.asarray(repadded), il.tolist(), tuple(tl.tolist()),
                                 reduction="none")
    np.testing.assert_allclose(backend.to_numpy(as_lists), expected, **tol)
    one = polyloss.ctc_loss(backend.asarray(lp[:, 1]), backend.asarray(targets[1, :2]),
                            backend.asarray(np.asarray(il[1])), backend.asarray(np.asarray(tl[1])), reduction="none")
    assert one.shape == ()
    np.testing.assert_allclose(backend.to_numpy(one), expected[1], **tol)
    np.testing.assert_allclose(
        backend.to_numpy(polyloss.ctc_loss(backend.asarray(lp[:, 1]), backend.asarray(targets[1, :2]), 4, 2)),
        expected[1] / 2, **tol)


def test_ctc_loss_object(backend):
    lp, targets, il, tl = ctc_case(7)
    args = [backend.asarray(a) for a in (lp, targets, il, tl)]
    obj = polyloss.CTCLoss(blank=0, zero_infinity=True, reduction="sum")
    assert obj == polyloss.CTCLoss(blank=0, zero_infinity=True, reduction="sum")
    np.testing.assert_array_equal(backend.to_numpy(obj(*args)),
                                  backend.to_numpy(polyloss.ctc_loss(*args, zero_infinity=True, reduction="sum")))


def test_ctc_half_precision_accumulates_in_float32():
    torch = pytest.importorskip("torch")
    lp, targets, il, tl = ctc_case(8)
    x = torch.tensor(lp, dtype=torch.bfloat16)
    out = polyloss.ctc_loss(x, torch.tensor(targets), torch.tensor(il), torch.tensor(tl), reduction="none")
    assert out.dtype == torch.bfloat16
    expected = brute_ctc(x.double().numpy(), targets, il, tl)
    np.testing.assert_allclose(out.double().numpy(), expected, rtol=1e-2)


# --------------------------------------------------------------------------
# natives against the generic path
# --------------------------------------------------------------------------


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("time_axis", [0, 1])
def test_ctc_native_equals_generic(backend, time_axis, zero_infinity):
    """Unnormalized log-probabilities, a blank of 1, infeasible and empty samples: the
    torch and JAX natives give the generic path's values and gradients."""
    if backend.library not in ("torch", "jax"):
        pytest.skip("natives: torch and JAX")
    rng = np.random.default_rng(9)
    lp = rng.normal(size=(7, 5, 4)) - 1.5
    targets = np.array([[2, 2, 3], [0, 3, 2], [2, 2, 2], [3, 0, 0], [2, 0, -1]])
    il = np.array([7, 6, 4, 0, 2])
    tl = np.array([3, 3, 3, 0, 2])  # sample 2 needs 5 frames; sample 3 has none and no labels
    if time_axis:
        lp = np.swapaxes(lp, 0, 1)
    args = [backend.asarray(a) for a in (targets, il, tl)]
    for reduction in ("mean", "sum"):
        def fn(a, reduction=reduction):
            return polyloss.ctc_loss(a, *args, blank=1, time_axis=time_axis, zero_infinity=zero_infinity,
                                     reduction=reduction)

        v1, g1 = backend.value_and_grad(fn, lp)
        with generic_path():
            v0, g0 = backend.value_and_grad(fn, lp)
        tol = {"rtol": 1e-12, "atol": 1e-13} if backend.dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}
        np.testing.assert_allclose(v1, v0, **tol)
        np.testing.assert_allclose(g1, g0, **tol)
        assert np.isfinite(g1).all()


# --------------------------------------------------------------------------
# CTC errors (SPEC §4)
# --------------------------------------------------------------------------


def test_ctc_argument_errors(backend):
    lp, targets, il, tl = ctc_case(10)
    x, t, i, n = (backend.asarray(a) for a in (lp, targets, il, tl))
    with pytest.raises(TypeError, match="log_probs"):
        polyloss.ctc_loss(lp.tolist(), t, i, n)
    with pytest.raises(TypeError, match="log_probs"):
        polyloss.ctc_loss(backend.asarray(lp.astype(np.int64)), t, i, n)
    with pytest.raises(TypeError, match="targets"):
        polyloss.ctc_loss(x, backend.asarray(targets.astype(np.float64)), i, n)
    with pytest.raises(TypeError, match="input_lengths"):
        polyloss.ctc_loss(x, t, backend.asarray(il.astype(np.float64)), n)
    with pytest.raises(TypeError, match="target_lengths"):
        polyloss.ctc_loss(x, t, i, [3.0, 2.0, 1.0, 0.0])
    with pytest.raises(TypeError, match="input_lengths"):
        polyloss.ctc_loss(x, t, None, n)
    with pytest.raises(ValueError, match=r"input_lengths.*\(4,\).*\(3,\)"):
        polyloss.ctc_loss(x, t, backend.asarray(il[:3]), n)
    with pytest.raises(ValueError, match=r"targets.*\(3, 3\)"):
        polyloss.ctc_loss(x, backend.asarray(targets[:3]), i, n)
    with pytest.raises(ValueError, match="log_probs"):
        polyloss.ctc_loss(backend.asarray(lp[None]), t, i, n)
    with pytest.raises(ValueError, match="empty"):
        polyloss.ctc_loss(backend.asarray(lp[:0]), t, i, n)
    with pytest.raises(ValueError, match=r"blank.*\[0, 3\)"):
        polyloss.ctc_loss(x, t, i, n, blank=3)
    with pytest.raises(ValueError, match="blank"):
        polyloss.ctc_loss(x, t, i, n, blank=-1)
    with pytest.raises(TypeError, match="blank"):
        polyloss.ctc_loss(x, t, i, n, blank=1.0)
    with pytest.raises(TypeError, match="zero_infinity"):
        polyloss.ctc_loss(x, t, i, n, zero_infinity=1)
    with pytest.raises(ValueError, match=r"time_axis.*0, 1"):
        polyloss.ctc_loss(x, t, i, n, time_axis=2)
    with pytest.raises(ValueError, match="time_axis"):
        polyloss.ctc_loss(backend.asarray(lp[:, 0]), backend.asarray(targets[0]), 5, 3, time_axis=1)
    with pytest.raises(ValueError, match=r"reduction.*'mean'"):
        polyloss.ctc_loss(x, t, i, n, reduction="batchmean")


def test_ctc_two_namespaces():
    torch = pytest.importorskip("torch")
    lp, targets, il, tl = ctc_case(11)
    with pytest.raises(TypeError, match="log_probs and targets"):
        polyloss.ctc_loss(lp, torch.tensor(targets), il, tl)


BAD_VALUES = {
    "input_lengths above T": ("il", 1, 6, r"input_lengths holds 6, more than the T=5"),
    "negative input_lengths": ("il", 0, -1, "input_lengths holds -1"),
    "target_lengths above S": ("tl", 1, 4, r"target_lengths holds 4, more than the width S=3"),
    "negative target_lengths": ("tl", 3, -2, "target_lengths holds -2"),
    "label = C": ("targets", (0, 2), 3, r"targets holds class index 3, outside \[0, 3\)"),
    "negative label": ("targets", (1, 0), -5, "targets holds class index -5"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_ctc_bad_values_raise_eagerly_and_are_nan_when_lazy(backend, case):
    lp, targets, il, tl = ctc_case(12)
    arrays = {"targets": targets.copy(), "il": il.copy(), "tl": tl.copy()}
    which, where, value, message = BAD_VALUES[case]
    arrays[which][where] = value
    sample = where[0] if isinstance(where, tuple) else where
    args = [backend.asarray(a) for a in (lp, arrays["targets"], arrays["il"], arrays["tl"])]
    if backend.library == "dask":  # lazy: no value is read, the sample's loss is NaN
        out = backend.to_numpy(polyloss.ctc_loss(*args, reduction="none"))
        assert np.isnan(out[sample]) and np.isfinite(np.delete(out, sample)).all()
        return
    with pytest.raises(ValueError, match=message):
        polyloss.ctc_loss(*args)


def test_ctc_concatenated_targets_too_short(backend):
    lp, _, il, tl = ctc_case(13)
    flat = backend.asarray(np.array([1, 1, 2, 2, 1]))  # 5 labels, 6 needed
    if backend.library == "dask":
        out = backend.to_numpy(polyloss.ctc_loss(backend.asarray(lp), flat, backend.asarray(il),
                                                 backend.asarray(tl), reduction="none"))
        assert np.isnan(out[2]) and np.isfinite(out[[0, 1, 3]]).all()  # the empty target reads nothing
        return
    with pytest.raises(ValueError, match="sum to 6, more than the 5"):
        polyloss.ctc_loss(backend.asarray(lp), flat, backend.asarray(il), backend.asarray(tl))


# --------------------------------------------------------------------------
# JAX, torch.compile, Dask
# --------------------------------------------------------------------------


@needs_jax
def test_ctc_jax_jit_grad_vmap_and_nan_under_tracing():
    import jax
    import jax.numpy as jnp

    lp, targets, il, tl = ctc_case(14)
    expected = brute_ctc(lp, targets, il, tl)
    f = jax.jit(lambda a, t, i, n: polyloss.ctc_loss(a, t, i, n, reduction="none"))
    x, t, i, n = (jnp.asarray(a) for a in (lp, targets, il, tl))
    np.testing.assert_allclose(f(x, t, i, n), expected, rtol=1e-5 if x.dtype == jnp.float32 else 1e-12)
    g = jax.jit(jax.grad(lambda a: polyloss.ctc_loss(a, t, i, n)))(x)
    np.testing.assert_allclose(g, jax.grad(lambda a: polyloss.ctc_loss(a, t, i, n))(x), rtol=1e-6, atol=1e-12)
    batched = jax.vmap(lambda a: polyloss.ctc_loss(a, t, i, n, reduction="sum"))(jnp.stack([x, x - 1.0]))
    np.testing.assert_allclose(batched, [expected.sum(), expected.sum() + 5 + 4 + 2 + 3], rtol=1e-5)
    bad = f(x, t.at[0, 1].set(3), i.at[1].set(6), n.at[2].set(4))
    assert np.isnan(np.asarray(bad)[:3]).all() and np.isfinite(np.asarray(bad)[3])


@needs_jax
def test_ctc_jax_program_does_not_grow_with_time():
    """A thousand frames: the jaxpr is that of ten frames, jit compiles in seconds, and
    the value and gradient are those of the generic path (NumPy)."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(15)
    T = 1000
    lp = rng.normal(size=(T, 3, 6))
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    targets = rng.integers(1, 6, (3, 12))
    il, tl = np.array([T, 700, 40]), np.array([12, 7, 12])
    t, i, n = jnp.asarray(targets), jnp.asarray(il), jnp.asarray(tl)

    def size(frames):
        return len(jax.make_jaxpr(lambda a: polyloss.ctc_loss(a, t, jnp.minimum(i, frames), n))(
            jnp.asarray(lp[:frames])).jaxpr.eqns)

    assert size(10) == size(T)
    start = time.perf_counter()
    value, grad = jax.jit(jax.value_and_grad(lambda a: polyloss.ctc_loss(a, t, i, n)))(jnp.asarray(lp))
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"jit of T={T} took {elapsed:.1f} s"
    expected = polyloss.ctc_loss(lp, targets, il, tl)
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-4 if value.dtype == jnp.float32 else 1e-10)
    assert np.isfinite(np.asarray(grad)).all() and np.all(np.asarray(grad)[40:, 2] == 0)


@needs_torch
@pytest.mark.slow  # compilation
def test_ctc_torch_compile_fullgraph():
    """No graph break; the graph does not grow with T; the exact gradient; NaN for
    out-of-range lengths and labels under tracing."""
    import torch

    lp, targets, il, tl = ctc_case(16)
    t, n = torch.tensor(targets), torch.tensor(tl)
    polyloss.ctc_loss(torch.tensor(lp), t, torch.tensor(il), n)  # eager first: the native module is imported

    def f(a, t, i, n):
        return polyloss.ctc_loss(a, t, i, n, zero_infinity=True)

    sizes = []

    def counting(gm, example_inputs):
        sizes.append(len(gm.graph.nodes))
        return gm.forward

    for frames in (5, 40):
        torch._dynamo.reset()
        x = torch.tensor(np.random.default_rng(frames).normal(size=(frames, 4, 3)), requires_grad=True)
        i = torch.tensor(np.minimum(il, frames))
        value = torch.compile(f, backend=counting, fullgraph=True, dynamic=False)(x, t, i, n)
        (grad,) = torch.autograd.grad(value, x)
        x0 = x.detach().requires_grad_(True)
        with generic_path():
            expected = f(x0, t, i, n)
        (expected_grad,) = torch.autograd.grad(expected, x0)
        torch.testing.assert_close(value, expected, rtol=1e-12, atol=1e-13)
        torch.testing.assert_close(grad, expected_grad, rtol=1e-12, atol=1e-13)
    assert sizes[0] == sizes[1], sizes
    torch._dynamo.reset()
    compiled = torch.compile(lambda a, t, i, n: polyloss.ctc_loss(a, t, i, n, reduction="none"), fullgraph=True)
    x = torch.tensor(lp)
    torch.testing.assert_close(compiled(x, t, torch.tensor(il), n),
                               polyloss.ctc_loss(x, t, torch.tensor(il), n, reduction="none"))
    bad = compiled(x, torch.tensor([[1, 3, 2], [2, 1, -1], [1, 99, -1], [0, 0, 0]]),
                   torch.tensor([5, 6, 2, 3]), torch.tensor([3, 2, 2, 0]))
    assert torch.isnan(bad[:3]).all() and torch.isfinite(bad[3])


@needs_torch
def test_ctc_torch_custom_op_registration():
    """The opaque op that runs ATen's CTC under torch.compile: schema, fake tensor and
    autograd registrations are consistent (torch.library.opcheck)."""
    import torch

    from polyloss._native import _torch

    lp, targets, il, tl = ctc_case(17)
    x = torch.tensor(lp, requires_grad=True)
    args = (x, torch.tensor(np.where(targets < 0, 0, targets % 3)), torch.tensor(il), torch.tensor(tl), 0)
    result = torch.library.opcheck(_torch._ctc_nll_op, args)
    assert all(v == "SUCCESS" for v in result.values()), result
    (grad,) = torch.autograd.grad(_torch._ctc_nll_op(*args).sum(), x)
    x0 = x.detach().requires_grad_(True)
    with generic_path():
        (expected,) = torch.autograd.grad(polyloss.ctc_loss(x0, *args[1:4], reduction="sum"), x0)
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-13)


@needs_torch
def test_ctc_torch_vmap_takes_the_generic_path():
    import torch

    lp, targets, il, tl = ctc_case(18)
    t, i, n = torch.tensor(targets), torch.tensor(il), torch.tensor(tl)
    xs = torch.tensor(np.stack([lp, lp - 1.0]))
    out = torch.vmap(lambda a: polyloss.ctc_loss(a, t, i, n, reduction="none"))(xs)
    expected = brute_ctc(lp, targets, il, tl)
    np.testing.assert_allclose(out.numpy(), [expected, expected + il], rtol=1e-12)


def test_ctc_dask_is_lazy():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    lp, targets, il, tl = ctc_case(19)

    def refuse(*args, **kwargs):
        raise AssertionError("a dask graph was computed inside polyloss")

    chunked = [da.from_array(a, chunks=1) for a in (lp, targets, il, tl)]
    with dask.config.set(scheduler=refuse):
        outs = {r: polyloss.ctc_loss(*chunked, reduction=r) for r in ("none", "mean", "sum")}
    expected = brute_ctc(lp, targets, il, tl)
    for reduction, out in outs.items():
        assert isinstance(out, da.Array)
        np.testing.assert_allclose(out.compute(), reduced(expected, tl, reduction), rtol=1e-12)


# --------------------------------------------------------------------------
# sparsemax
# --------------------------------------------------------------------------


def test_sparsemax_matches_reference(backend):
    rng = np.random.default_rng(20)
    z = np.concatenate([rng.normal(size=(6, 5)) * 2, [[3.0, 0.0, 0.0, 0.0, 0.0], [0.1, 0.1, 0.1, 0.1, 0.1]]])
    y = np.array([0, 1, 2, 3, 4, 0, 0, 3])
    expected = sparsemax_reference(_rounded(backend, z), y)
    x, t = backend.asarray(z), backend.asarray(y)
    tol = _tol(backend)
    for reduction in ("none", "sum", "mean"):
        got = polyloss.sparsemax_loss(x, t, reduction=reduction)
        want = {"none": expected, "sum": expected.sum(), "mean": expected.mean()}[reduction]
        np.testing.assert_allclose(backend.to_numpy(got), want, **tol)
    assert float(backend.to_numpy(polyloss.sparsemax_loss(x, t, reduction="none"))[6]) == 0.0  # margin >= 1
    # channel-last and K-dim layouts, and an unbatched (C,) input
    z3 = np.moveaxis(z.reshape(2, 4, 5), -1, 1)  # (2, 5, 4)
    np.testing.assert_allclose(
        backend.to_numpy(polyloss.sparsemax_loss(backend.asarray(z3), backend.asarray(y.reshape(2, 4)),
                                                 reduction="none")), expected.reshape(2, 4), **tol)
    np.testing.assert_allclose(
        backend.to_numpy(polyloss.sparsemax_loss(backend.asarray(z.reshape(2, 4, 5)), backend.asarray(y.reshape(2, 4)),
                                                 axis=-1)), expected.mean(), **tol)
    np.testing.assert_allclose(
        backend.to_numpy(polyloss.sparsemax_loss(backend.asarray(z[2]), backend.asarray(np.asarray(y[2])))),
        expected[2], **tol)


def test_sparsemax_gradient_is_p_minus_onehot_and_finite_at_saturation(backend):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    rng = np.random.default_rng(21)
    z = np.concatenate([rng.normal(size=(4, 5)), [[1e4, -1e4, 0.0, 0.0, 0.0], [-1e4, 1e4, 1e4, -1e4, 0.0]]])
    y = np.array([0, 1, 2, 3, 1, 0])
    t = backend.asarray(y)
    value, grad = backend.value_and_grad(lambda a: polyloss.sparsemax_loss(a, t, reduction="sum"), z)
    assert np.isfinite(value) and np.isfinite(grad).all()
    expected = sparsemax_probabilities(_rounded(backend, z)) - np.eye(5)[y]
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
    assert float(value) == pytest.approx(sparsemax_reference(z, y).sum(), rel=1e-5)


def test_sparsemax_errors(backend):
    z = np.random.default_rng(22).normal(size=(3, 4))
    x, t = backend.asarray(z), backend.asarray(np.array([0, 1, 3]))
    with pytest.raises(TypeError, match="integer"):
        polyloss.sparsemax_loss(x, backend.asarray(np.array([0.0, 1.0, 3.0])))
    with pytest.raises(TypeError):
        polyloss.sparsemax_loss(backend.asarray(np.array([[0, 1], [1, 0]])), backend.asarray(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        polyloss.sparsemax_loss(x, backend.asarray(np.array([0, 1])))
    with pytest.raises(ValueError, match="reduction"):
        polyloss.sparsemax_loss(x, t, reduction="avg")
    with pytest.raises(ValueError, match="axis"):
        polyloss.sparsemax_loss(x, t, axis=2)
    bad = backend.asarray(np.array([0, 4, 1]))
    if backend.library == "dask":
        assert np.isnan(backend.to_numpy(polyloss.sparsemax_loss(x, bad)))
    else:
        with pytest.raises(ValueError, match="4"):
            polyloss.sparsemax_loss(x, bad)


@needs_jax
def test_sparsemax_jax_jit_vmap_and_nan_under_tracing():
    import jax
    import jax.numpy as jnp

    z = jnp.asarray(np.random.default_rng(23).normal(size=(3, 4)))
    t = jnp.asarray([0, 1, 3])
    f = jax.jit(lambda a, b: polyloss.sparsemax_loss(a, b, reduction="none"))
    np.testing.assert_allclose(f(z, t), polyloss.sparsemax_loss(z, t, reduction="none"), rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(lambda a, b: polyloss.sparsemax_loss(a, b))(z, t),
                               polyloss.sparsemax_loss(z, t, reduction="none"), rtol=1e-6)
    assert np.isnan(np.asarray(f(z, t.at[1].set(4)))[1])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=7), st.integers(0, 6),
       st.floats(-1e3, 1e3, allow_nan=False))
def test_sparsemax_properties(scores, label, shift):
    """Non-negative, shift-invariant, 0 once the target leads by 1, and equal to the
    bisection reference."""
    z = np.array([scores])
    y = np.array([label % len(scores)])
    loss = float(polyloss.sparsemax_loss(z, y))
    assert loss >= -1e-9
    assert loss == pytest.approx(float(polyloss.sparsemax_loss(z + shift, y)), rel=1e-9, abs=1e-9)
    assert loss == pytest.approx(float(sparsemax_reference(z, y)[0]), rel=1e-9, abs=1e-9)
    if z[0, y[0]] >= np.max(np.delete(z[0], y[0])) + 1.0:
        assert loss == 0.0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_ctc_properties(frames, labels, seed):
    """For normalized log-probabilities: a probability (loss >= 0, inf exactly when no
    alignment fits), equal to the enumeration."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=(frames, 1, 3)) * 2
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    targets = rng.integers(1, 3, (1, 3))
    il, tl = np.array([frames]), np.array([labels])
    out = polyloss.ctc_loss(lp, targets, il, tl, reduction="none")
    expected = brute_ctc(lp, targets, il, tl)
    repeats = int(np.sum(targets[0, 1:labels] == targets[0, : max(labels - 1, 0)]))
    assert np.isinf(out[0]) == (labels + repeats > frames)
    assert out[0] >= -1e-12
    np.testing.assert_allclose(out, expected, rtol=1e-10)
