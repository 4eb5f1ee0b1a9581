"""Classification losses on the backend matrix: errors (SPEC §4), ignored and out-of-range
targets, saturation, jit/grad/vmap, torch.compile and hypothesis properties.

Values are compared with the float64 NumPy result of polyloss (its peers are in
tests/parity) or with formulas written out here.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import polyloss

INDEX_LOSSES = ["cross_entropy", "nll_loss", "poly1_cross_entropy"]
HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None


def _np(backend, x):
    return backend.to_numpy(x)


def _case(rng, n=6, c=4):
    return rng.normal(scale=2.0, size=(n, c)), rng.integers(0, c, size=n)


# --------------------------------------------------------------------------
# errors of SPEC §4
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", INDEX_LOSSES)
def test_float_class_indices_raise_type_error(name, backend, rng):
    x, t = _case(rng)
    with pytest.raises(TypeError, match="integer class indices"):
        getattr(polyloss, name)(backend.asarray(x), backend.asarray(t.astype(np.float64)))


@pytest.mark.parametrize("name", [*INDEX_LOSSES, "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                  "kl_div", "log_loss"])
def test_integer_input_raises_type_error(name, backend, rng):
    x, t = _case(rng)
    if name in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"):
        t = np.zeros(x.shape)
    with pytest.raises(TypeError, match="floating"):
        getattr(polyloss, name)(backend.asarray(x.astype(np.int64)), backend.asarray(t))


@pytest.mark.parametrize("name", [*INDEX_LOSSES, "log_loss"])
def test_batch_mismatch_raises_with_both_shapes(name, backend, rng):
    x, t = _case(rng)
    if name == "log_loss":
        x = np.abs(x) / np.abs(x).sum(1, keepdims=True)
    with pytest.raises(ValueError, match=r"\(6, 4\).*\(5,\)|\(5,\).*\(6, 4\)"):
        getattr(polyloss, name)(backend.asarray(x), backend.asarray(t[:5]))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"])
def test_elementwise_shape_mismatch_raises(name, backend):
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        getattr(polyloss, name)(backend.asarray(np.full((2, 3), 0.5)), backend.asarray(np.zeros((3, 2))))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "poly1_cross_entropy"])
def test_weight_length_must_be_num_classes(name, backend, rng):
    x, t = _case(rng)
    with pytest.raises(ValueError, match="weight must have shape"):
        getattr(polyloss, name)(backend.asarray(x), backend.asarray(t), weight=[1.0, 2.0, 3.0])


def test_option_weights_that_do_not_broadcast_raise(backend):
    x = backend.asarray(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="pos_weight"):
        polyloss.binary_cross_entropy_with_logits(x, x, pos_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="weight"):
        polyloss.binary_cross_entropy(x + 0.5, x, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="sample_weight"):
        polyloss.log_loss(x + 0.5, backend.asarray(np.zeros(2, dtype=np.int64)), sample_weight=[1.0])


@pytest.mark.parametrize("name", [*INDEX_LOSSES, "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                  "kl_div", "log_loss"])
def test_empty_batch_raises(name, backend):
    x = backend.asarray(np.zeros((0, 3)))
    t = backend.asarray(np.zeros((0,), dtype=np.int64)) if name in (*INDEX_LOSSES, "log_loss") else x
    with pytest.raises(ValueError, match="empty"):
        getattr(polyloss, name)(x, t)


@pytest.mark.parametrize("name", INDEX_LOSSES)
@pytest.mark.parametrize("bad", [4, -1, 17])
def test_out_of_range_index_raises_naming_it(name, bad, backend, rng):
    if backend.library == "dask":
        pytest.skip("dask is lazy: an out-of-range index gives NaN (tested below)")
    x, t = _case(rng)
    t[2] = bad
    with pytest.raises(ValueError, match=f"class index {bad}"):
        getattr(polyloss, name)(backend.asarray(x), backend.asarray(t))


def test_out_of_range_index_raises_in_log_loss(backend, rng):
    if backend.library == "dask":
        pytest.skip("dask is lazy")
    p = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="class index 2"):
        polyloss.log_loss(backend.asarray(p), backend.asarray(np.array([0, 2, 1])))


@pytest.mark.parametrize("name", ["cross_entropy", "poly1_cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_label_smoothing_outside_unit_interval_raises(name, value, backend, rng):
    x, t = _case(rng)
    if name == "binary_cross_entropy_with_logits":
        t = np.zeros(x.shape)
    with pytest.raises(ValueError, match="label_smoothing"):
        getattr(polyloss, name)(backend.asarray(x), backend.asarray(t), label_smoothing=value)


@pytest.mark.parametrize("name", [*INDEX_LOSSES, "kl_div", "log_loss", "binary_cross_entropy"])
def test_unknown_reduction_raises(name, backend, rng):
    x, t = _case(rng)
    x = np.abs(x) / np.abs(x).sum(1, keepdims=True)
    if name in ("kl_div", "binary_cross_entropy"):
        t = np.zeros(x.shape)
    with pytest.raises(ValueError, match="reduction"):
        getattr(polyloss, name)(backend.asarray(x), backend.asarray(t), reduction="avg")


def test_probabilities_outside_unit_interval_raise(backend):
    if backend.library == "dask":
        pytest.skip("dask is lazy")
    p = backend.asarray(np.array([0.5, 1.2]))
    y = backend.asarray(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        polyloss.binary_cross_entropy(p, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        polyloss.log_loss(p, y)


def test_arguments_that_are_not_arrays_raise_type_error():
    with pytest.raises(TypeError, match="input"):
        polyloss.cross_entropy([[1.0, 2.0]], np.array([0]))
    with pytest.raises(TypeError, match="target"):
        polyloss.binary_cross_entropy(np.array([0.5]), None)


# --------------------------------------------------------------------------
# ignored and out-of-range targets
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "poly1_cross_entropy"])
@pytest.mark.parametrize("options", [{}, {"weight": [1.0, 2.0, 0.5, 1.0], "label_smoothing": 0.1}],
                         ids=["plain", "weight-smoothing"])
def test_all_ignored_batch_gives_zero_and_zero_gradient(name, options, backend, rng):
    x, _ = _case(rng)
    t = np.full(6, -100)
    if name == "nll_loss":
        options = {k: v for k, v in options.items() if k != "label_smoothing"}
    fn = getattr(polyloss, name)
    tb = backend.asarray(t)
    for reduction in ("mean", "sum", "none"):
        out = _np(backend, fn(backend.asarray(x), tb, reduction=reduction, **options))
        np.testing.assert_array_equal(out, np.zeros(() if reduction != "none" else 6))
    if backend.has_grad:
        value, grad = backend.value_and_grad(lambda a: fn(a, tb, **options), x)
        assert value == 0.0
        np.testing.assert_array_equal(grad, np.zeros_like(x))


def test_ignored_targets_contribute_nothing(backend, rng):
    x, t = _case(rng)
    t[[1, 4]] = -100
    keep = t != -100
    w = np.array([1.0, 2.0, 0.5, 3.0])
    full = polyloss.cross_entropy(backend.asarray(x), backend.asarray(t), weight=w, label_smoothing=0.2)
    kept = polyloss.cross_entropy(x[keep], t[keep], weight=w, label_smoothing=0.2)
    np.testing.assert_allclose(_np(backend, full), kept, rtol=backend.rtol, atol=backend.atol)


def test_out_of_range_index_is_nan_when_lazy_or_traced(backend, rng):
    """Dask (lazy) here; jax.jit and torch.compile below."""
    if backend.library != "dask":
        pytest.skip("eager backends raise")
    x, t = _case(rng)
    t[0] = 9
    for name in INDEX_LOSSES:
        out = getattr(polyloss, name)(backend.asarray(x), backend.asarray(t), reduction="none")
        assert np.isnan(_np(backend, out)[0]) and np.isfinite(_np(backend, out)[1:]).all()


# --------------------------------------------------------------------------
# saturation and precision
# --------------------------------------------------------------------------


def test_large_logits_give_finite_values_and_gradients(backend, rng):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, 1e4, 1e4]])
    t = np.array([1, 0, 2])
    y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    cases = [
        (polyloss.cross_entropy, backend.asarray(t), {"label_smoothing": 0.1, "weight": [1.0, 2.0, 3.0]}),
        (polyloss.poly1_cross_entropy, backend.asarray(t), {"label_smoothing": 0.1}),
        (polyloss.cross_entropy, backend.asarray(y / y.sum(1, keepdims=True)), {}),
        (polyloss.binary_cross_entropy_with_logits, backend.asarray(y), {"pos_weight": [2.0, 1.0, 0.5]}),
    ]
    for fn, target, options in cases:
        value, grad = backend.value_and_grad(lambda a, fn=fn, target=target, options=options:
                                             fn(a, target, **options), x)
        assert np.isfinite(value) and np.isfinite(grad).all(), fn.__name__
    # the values themselves: lse - x_t
    out = polyloss.cross_entropy(backend.asarray(x), backend.asarray(t), reduction="none")
    np.testing.assert_allclose(_np(backend, out), [2e4, 2e4 + np.log(2.0), np.log(3.0)], rtol=backend.rtol)


def test_bce_at_exact_zero_and_one_is_finite_with_finite_gradient(backend):
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    out = polyloss.binary_cross_entropy(backend.asarray(p), backend.asarray(y), reduction="none")
    np.testing.assert_allclose(_np(backend, out), [100.0, 100.0, 0.0, 0.0], atol=backend.atol)
    if backend.has_grad:
        value, grad = backend.value_and_grad(lambda a: polyloss.binary_cross_entropy(a, backend.asarray(y)), p)
        assert value == pytest.approx(50.0) and np.isfinite(grad).all()


def test_kl_div_zero_targets_have_zero_terms_and_gradients(backend):
    x = np.log(np.array([0.2, 0.3, 0.5]))
    t = np.array([0.0, 0.4, 0.6])
    out = polyloss.kl_div(backend.asarray(x), backend.asarray(t), reduction="none")
    expected = np.array([0.0, 0.4 * np.log(0.4 / 0.3), 0.6 * np.log(0.6 / 0.5)])
    np.testing.assert_allclose(_np(backend, out), expected, rtol=backend.rtol * 10, atol=backend.atol)
    if backend.has_grad:
        _, grad = backend.value_and_grad(
            lambda tt: polyloss.kl_div(backend.asarray(x), tt, reduction="sum"), t)
        assert np.isfinite(grad).all()


@pytest.mark.parametrize("name", ["cross_entropy", "poly1_cross_entropy", "nll_loss"])
def test_half_precision_accumulates_in_float32(name, backend, rng):
    if backend.library not in ("numpy", "torch", "jax"):
        pytest.skip("float16 is exercised on numpy, torch and jax")
    x, t = _case(rng, n=64)
    xh = backend.asarray(x, "float16")
    out = getattr(polyloss, name)(xh, backend.asarray(t), label_smoothing=0.1) if name != "nll_loss" else \
        polyloss.nll_loss(xh, backend.asarray(t))
    assert out.dtype == xh.dtype
    ref = getattr(polyloss, name)(x.astype(np.float16).astype(np.float64), t,
                                  **({"label_smoothing": 0.1} if name != "nll_loss" else {}))
    np.testing.assert_allclose(float(_np(backend, out)), ref, rtol=2e-3)


# --------------------------------------------------------------------------
# consistency between losses and options
# --------------------------------------------------------------------------


def test_channel_last_equals_channel_first(backend, rng):
    x = rng.normal(size=(2, 5, 3, 4))
    t = rng.integers(0, 5, size=(2, 3, 4))
    w = rng.uniform(0.5, 2.0, size=5)
    for name in INDEX_LOSSES:
        options = {"weight": w} if name == "nll_loss" else {"weight": w, "label_smoothing": 0.1}
        first = getattr(polyloss, name)(backend.asarray(x), backend.asarray(t), reduction="none", **options)
        last = getattr(polyloss, name)(backend.asarray(np.moveaxis(x, 1, -1)), backend.asarray(t), axis=-1,
                                       reduction="none", **options)
        np.testing.assert_allclose(_np(backend, last), _np(backend, first), rtol=backend.rtol, atol=backend.atol)


def test_cross_entropy_is_nll_of_log_softmax(backend, rng):
    x, t = _case(rng)
    t[0] = -100
    w = [0.5, 1.0, 2.0, 1.5]
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    ce = polyloss.cross_entropy(backend.asarray(x), backend.asarray(t), weight=w)
    nll = polyloss.nll_loss(backend.asarray(logp), backend.asarray(t), weight=w)
    np.testing.assert_allclose(_np(backend, ce), _np(backend, nll), rtol=backend.rtol * 10)


def test_loss_objects_match_functions_and_pickle(backend, rng):
    import pickle

    x, t = _case(rng)
    crit = polyloss.CrossEntropyLoss(weight=[1.0, 2.0, 3.0, 4.0], label_smoothing=0.1)
    assert "label_smoothing=0.1" in repr(crit) and crit.weight == (1.0, 2.0, 3.0, 4.0)
    assert pickle.loads(pickle.dumps(crit)) == crit
    out = crit(backend.asarray(x), backend.asarray(t))
    ref = polyloss.cross_entropy(x, t, weight=[1.0, 2.0, 3.0, 4.0], label_smoothing=0.1)
    np.testing.assert_allclose(_np(backend, out), ref, rtol=backend.rtol * 10)
    with pytest.raises(ValueError, match="reduction"):
        polyloss.CrossEntropyLoss(reduction="batchmean")
    assert polyloss.KLDivLoss(reduction="batchmean").reduction == "batchmean"


def test_log_loss_is_vectorized_and_fast_on_numpy():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10), size=1_000_000)
    y = rng.integers(0, 10, size=1_000_000)
    s = rng.uniform(size=1_000_000)
    polyloss.log_loss(p[:10], y[:10])
    start = time.perf_counter()
    out = polyloss.log_loss(p, y, sample_weight=s)
    elapsed = time.perf_counter() - start
    picked = np.clip(p[np.arange(p.shape[0]), y], np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps)
    assert float(out) == pytest.approx(np.average(-np.log(picked), weights=s), rel=1e-12)
    assert elapsed < 2.0, f"log_loss on 1e6x10 took {elapsed:.2f} s"


# --------------------------------------------------------------------------
# hypothesis properties (NumPy float64)
# --------------------------------------------------------------------------

_logits = hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 5)),
                     elements=st.floats(-30, 30, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(_logits, st.data(), st.floats(0.0, 1.0))
def test_ce_is_nonnegative_and_one_hot_equals_index(x, data, eps):
    n, c = x.shape
    t = np.asarray(data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1))))
    w = np.asarray(data.draw(hnp.arrays(np.float64, (c,), elements=st.floats(0.1, 5.0))))
    index = polyloss.cross_entropy(x, t, label_smoothing=eps, weight=w, reduction="none")
    probs = polyloss.cross_entropy(x, np.eye(c)[t], label_smoothing=eps, weight=w, reduction="none")
    assert (index >= 0).all()
    np.testing.assert_allclose(index, probs, rtol=1e-10, atol=1e-10)
    poly_index = polyloss.poly1_cross_entropy(x, t, label_smoothing=eps, weight=w, epsilon=1.5, reduction="none")
    poly_probs = polyloss.poly1_cross_entropy(x, np.eye(c)[t], label_smoothing=eps, weight=w, epsilon=1.5,
                                              reduction="none")
    np.testing.assert_allclose(poly_index, poly_probs, rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(_logits, st.data())
def test_batch_permutation_leaves_mean_unchanged(x, data):
    n, c = x.shape
    t = np.asarray(data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(-1, c - 1))))
    perm = np.asarray(data.draw(st.permutations(range(n))))
    w = np.linspace(0.5, 2.0, c)
    options = {"weight": w, "ignore_index": -1, "label_smoothing": 0.1}
    a = polyloss.cross_entropy(x, t, **options)
    b = polyloss.cross_entropy(x[perm], t[perm], **options)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(_logits, st.floats(-50, 50))
def test_ce_is_invariant_to_a_common_logit_offset(x, shift):
    t = np.arange(x.shape[0]) % x.shape[1]
    np.testing.assert_allclose(polyloss.cross_entropy(x + shift, t, label_smoothing=0.2),
                               polyloss.cross_entropy(x, t, label_smoothing=0.2), rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(0, 1)), st.data())
def test_bce_equals_log_loss_away_from_clipping(p, data):
    y = np.asarray(data.draw(hnp.arrays(np.float64, p.shape, elements=st.sampled_from([0.0, 1.0]))))
    p = np.clip(p, 1e-6, 1 - 1e-6)
    # torch takes log1p(-p), sklearn log(1 - p): equal to rounding of 1 - p
    np.testing.assert_allclose(polyloss.binary_cross_entropy(p, y), polyloss.log_loss(p, y), rtol=1e-8)
    np.testing.assert_allclose(polyloss.binary_cross_entropy_with_logits(np.log(p) - np.log1p(-p), y),
                               polyloss.binary_cross_entropy(p, y), rtol=1e-6)


# --------------------------------------------------------------------------
# JAX: jit, grad, vmap (x64 on and off)
# --------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_jax_jit_grad_vmap(rng):
    import jax
    import jax.numpy as jnp

    x, t = _case(rng)
    t[3] = -100
    xj, tj = jnp.asarray(x, dtype=jnp.float32), jnp.asarray(t)
    options = {"weight": jnp.asarray([1.0, 2.0, 0.5, 1.0], dtype=jnp.float32), "label_smoothing": 0.1}
    ref = polyloss.cross_entropy(x, t, weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.1)
    crit = polyloss.CrossEntropyLoss(weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.1)
    for fn in (jax.jit(lambda a, b: polyloss.cross_entropy(a, b, **options)), jax.jit(lambda a, b: crit(a, b))):
        np.testing.assert_allclose(float(fn(xj, tj)), ref, rtol=1e-5)
    as_static = jax.jit(lambda c, a, b: c(a, b), static_argnums=0)
    np.testing.assert_allclose(float(as_static(crit, xj, tj)), ref, rtol=1e-5)
    grad = jax.jit(jax.grad(lambda a: polyloss.cross_entropy(a, tj, **options)))(xj)
    assert np.isfinite(np.asarray(grad)).all() and not np.asarray(grad)[3].any()
    per = jax.vmap(lambda a, b: polyloss.cross_entropy(a, b, label_smoothing=0.1, reduction="sum"))(xj, tj)
    np.testing.assert_allclose(
        np.asarray(per), polyloss.cross_entropy(x, t, label_smoothing=0.1, reduction="none"), rtol=1e-5, atol=1e-6)
    # every loss under jit and grad
    p = jnp.asarray(rng.uniform(0.05, 0.95, size=(6, 4)), dtype=jnp.float32)
    y = jnp.asarray((rng.uniform(size=(6, 4)) < 0.5).astype(np.float32))
    calls = [
        lambda a: polyloss.nll_loss(a, tj),
        lambda a: polyloss.poly1_cross_entropy(a, tj, label_smoothing=0.1),
        lambda a: polyloss.binary_cross_entropy_with_logits(a, y, pos_weight=[1.0, 2.0, 3.0, 4.0]),
        lambda a: polyloss.binary_cross_entropy(jax.nn.sigmoid(a), y),
        lambda a: polyloss.kl_div(jax.nn.log_softmax(a), p, reduction="batchmean"),
        lambda a: polyloss.log_loss(jax.nn.softmax(a), jnp.asarray(np.abs(t) % 4)),
    ]
    for call in calls:
        value, g = jax.jit(jax.value_and_grad(call))(xj)
        assert np.isfinite(float(value)) and np.isfinite(np.asarray(g)).all()


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_jax_out_of_range_index_is_nan_under_jit(rng):
    import jax
    import jax.numpy as jnp

    x, t = _case(rng)
    t[1] = 7
    for name in INDEX_LOSSES:
        fn = jax.jit(lambda a, b, name=name: getattr(polyloss, name)(a, b, reduction="none"))
        out = np.asarray(fn(jnp.asarray(x), jnp.asarray(t)))
        assert np.isnan(out[1]) and np.isfinite(np.delete(out, 1)).all()
        mean = jax.jit(lambda a, b, name=name: getattr(polyloss, name)(a, b))(jnp.asarray(x), jnp.asarray(t))
        assert np.isnan(float(mean))
    p = jnp.asarray(np.full((6, 4), 0.25))
    assert np.isnan(float(jax.jit(polyloss.log_loss)(p, jnp.asarray(t))))


# --------------------------------------------------------------------------
# torch: compile(fullgraph=True), vmap, out-of-range under compile
# --------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_compile_fullgraph(rng):
    import torch

    torch._dynamo.reset()
    x, t = _case(rng)
    t[2] = -100
    xt, tt = torch.tensor(x, dtype=torch.float32), torch.tensor(t)
    y = torch.tensor((rng.uniform(size=x.shape) < 0.5).astype(np.float32))
    w = torch.tensor([1.0, 2.0, 0.5, 1.0])

    def ce(a, b):
        return polyloss.cross_entropy(a, b, weight=w, label_smoothing=0.1)

    def bce(a, b):
        return polyloss.binary_cross_entropy_with_logits(a, b, pos_weight=w, label_smoothing=0.1)

    for fn, target in ((ce, tt), (bce, y)):
        compiled = torch.compile(fn, fullgraph=True, backend="eager")
        np.testing.assert_allclose(compiled(xt, target).numpy(), fn(xt, target).numpy(), rtol=1e-6)
    # out-of-range class index under compile: NaN, not an error and not a finite number
    bad = tt.clone()
    bad[0] = 9
    compiled = torch.compile(lambda a, b: polyloss.cross_entropy(a, b, reduction="none"), fullgraph=True,
                             backend="eager")
    out = compiled(xt, bad).numpy()
    assert np.isnan(out[0]) and np.isfinite(out[1:]).all()


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_autograd_and_vmap(rng):
    import torch

    x, t = _case(rng)
    xt = torch.tensor(x, requires_grad=True)
    loss = polyloss.CrossEntropyLoss(label_smoothing=0.1)(xt, torch.tensor(t))
    loss.backward()
    ref = torch.nn.functional.cross_entropy(torch.tensor(x, requires_grad=True), torch.tensor(t),
                                            label_smoothing=0.1)
    xr = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xr, torch.tensor(t), label_smoothing=0.1).backward()
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=1e-12)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    per = torch.func.vmap(lambda a, b: polyloss.cross_entropy(a, b, reduction="sum"))(
        torch.tensor(x), torch.tensor(t))
    np.testing.assert_allclose(per.numpy(), polyloss.cross_entropy(x, t, reduction="none"), rtol=1e-12)
