"""Ranking and metric-learning losses on the backend matrix: formulas against
independent float64 NumPy, errors, edges (equal embeddings, zero vectors, no positive
pair, fully masked lists), autodiff transforms and properties. Peers (torch, optax) are
in tests/parity/test_ranking_parity.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import polyloss

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")

REDUCTIONS = ["mean", "sum", "none"]


def _reduce(loss, reduction, count=None):
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / (loss.size if count is None else count)


def _close(backend, got, want, factor=10):
    np.testing.assert_allclose(backend.to_numpy(got), np.asarray(want), rtol=backend.rtol * factor,
                               atol=backend.atol * factor)


# --------------------------------------------------------------------------
# independent NumPy formulas
# --------------------------------------------------------------------------


def np_margin_ranking(x1, x2, y, margin):
    return np.maximum(0.0, -y * (x1 - x2) + margin)


def np_cosine_embedding(x1, x2, y, margin):
    cos = np.einsum("...d,...d->...", x1, x2) / np.sqrt(
        (np.einsum("...d,...d->...", x1, x1) + 1e-12) * (np.einsum("...d,...d->...", x2, x2) + 1e-12))
    return np.where(y == 1, 1.0 - cos, np.maximum(0.0, cos - margin))


def np_distance(u, v, p=2.0, eps=1e-6, axis=-1):
    return (np.abs(u - v + eps) ** p).sum(axis) ** (1.0 / p)


def np_triplet(a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False, axis=-1, distance=None):
    d = distance or (lambda u, v: np_distance(u, v, p, eps, axis))
    dn = d(a, neg)
    if swap:
        dn = np.minimum(dn, d(pos, neg))
    return np.maximum(0.0, margin + d(a, pos) - dn)


def np_ntxent(e, labels, temperature):
    """Loop over the positive pairs: -log(exp(s_ij) / (exp(s_ij) + sum_negatives exp(s_ik)))."""
    unit = e / np.sqrt(np.maximum((e * e).sum(1, keepdims=True), np.finfo(e.dtype).eps))
    s = unit @ unit.T / temperature
    n = len(labels)
    loss = np.zeros((n, n))
    for i in range(n):
        negatives = [k for k in range(n) if labels[k] != labels[i]]
        for j in range(n):
            if j != i and labels[j] == labels[i]:
                loss[i, j] = -s[i, j] + np.log(np.exp(s[i, j]) + sum(np.exp(s[i, k]) for k in negatives))
    positive = (labels[:, None] == labels[None, :]) & ~np.eye(n, dtype=bool)
    return loss, positive


def np_ranking_softmax(x, y, where=None, weight=None):
    """Per list: -sum over valid items of w y log softmax(valid scores); lists flattened."""
    where = np.ones(x.shape, bool) if where is None else np.broadcast_to(where, x.shape)
    yw = y * (1.0 if weight is None else np.broadcast_to(weight, x.shape))
    xs, ys, ms = x.reshape(-1, x.shape[-1]), yw.reshape(-1, x.shape[-1]), where.reshape(-1, x.shape[-1])
    out = np.zeros(len(xs))
    for r, (xr, yr, mr) in enumerate(zip(xs, ys, ms, strict=True)):
        if mr.any():
            v = xr[mr] - xr[mr].max()
            out[r] = -(yr[mr] * (v - np.log(np.exp(v).sum()))).sum()
    return out.reshape(x.shape[:-1]), ms.any(-1).reshape(x.shape[:-1])


def _pm1(rng, shape):
    return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)


# --------------------------------------------------------------------------
# formulas on every backend
# --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_formula(backend, reduction):
    rng = np.random.default_rng(0)
    x1, x2, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), _pm1(rng, (3, 4))
    for margin in (0.0, 0.5, -0.3):
        want = _reduce(np_margin_ranking(x1, x2, y, margin), reduction)
        out = polyloss.margin_ranking_loss(backend.asarray(x1), backend.asarray(x2), backend.asarray(y),
                                           margin=margin, reduction=reduction)
        _close(backend, out, want)
    # integer ±1 targets are accepted
    out = polyloss.margin_ranking_loss(backend.asarray(x1), backend.asarray(x2), backend.asarray(y.astype(np.int64)),
                                       reduction=reduction)
    _close(backend, out, _reduce(np_margin_ranking(x1, x2, y, 0.0), reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_formula_any_leading_shape(backend, reduction):
    rng = np.random.default_rng(1)
    x1, x2, y = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 5)), _pm1(rng, (2, 3))
    x1[0, 0] = 0.0  # a zero vector: cosine 0
    for margin in (0.0, 0.3, -0.5):
        want = _reduce(np_cosine_embedding(x1, x2, y, margin), reduction)
        out = polyloss.cosine_embedding_loss(backend.asarray(x1), backend.asarray(x2), backend.asarray(y),
                                             margin=margin, reduction=reduction)
        _close(backend, out, want)
    # unbatched (D,) vectors with a 0-d target
    one = polyloss.cosine_embedding_loss(backend.asarray(x1[1, 1]), backend.asarray(x2[1, 1]),
                                         backend.asarray(np.asarray(y[1, 1])))
    _close(backend, one, np_cosine_embedding(x1[1, 1], x2[1, 1], y[1, 1], 0.0))


@pytest.mark.parametrize("options", [
    {}, {"p": 1.0}, {"p": 3.0, "swap": True}, {"p": 0.5, "eps": 0.0}, {"eps": 0.1, "margin": 2.5},
    {"axis": 0, "swap": True}, {"axis": 1, "p": 1.5},
])
def test_triplet_margin_formula(backend, options):
    rng = np.random.default_rng(2)
    a, pos, neg = (rng.normal(size=(3, 4, 2)) for _ in range(3))
    arrays = [backend.asarray(v) for v in (a, pos, neg)]
    loss = np_triplet(a, pos, neg, **options)
    for reduction in REDUCTIONS:
        _close(backend, polyloss.triplet_margin_loss(*arrays, **options, reduction=reduction), _reduce(loss, reduction))


def _xp_l1(u, v):
    import array_api_compat

    xp = array_api_compat.array_namespace(u, v)
    return xp.sum(xp.abs(u - v), axis=-1)


def test_triplet_with_distance_formula(backend):
    rng = np.random.default_rng(3)
    a, pos, neg = (rng.normal(size=(5, 3)) for _ in range(3))
    arrays = [backend.asarray(v) for v in (a, pos, neg)]
    np_l1 = lambda u, v: np.abs(u - v).sum(-1)  # noqa: E731
    for reduction in REDUCTIONS:
        for swap in (False, True):
            out = polyloss.triplet_margin_with_distance_loss(*arrays, margin=1.5, swap=swap, reduction=reduction)
            _close(backend, out, _reduce(np_triplet(a, pos, neg, margin=1.5, swap=swap), reduction))
            out = polyloss.triplet_margin_with_distance_loss(*arrays, distance_function=_xp_l1, swap=swap,
                                                             reduction=reduction)
            _close(backend, out, _reduce(np_triplet(a, pos, neg, swap=swap, distance=np_l1), reduction))
    # the default distance is triplet_margin_loss's (p=2, eps=1e-6)
    _close(backend, polyloss.triplet_margin_with_distance_loss(*arrays),
           backend.to_numpy(polyloss.triplet_margin_loss(*arrays)), factor=1)


@pytest.mark.parametrize("temperature", [0.07, 0.5, 2.0])
def test_ntxent_formula(backend, temperature):
    rng = np.random.default_rng(4)
    e = rng.normal(size=(7, 3))
    labels = np.array([0, 1, 0, 2, 1, 2, 3])  # 3 has no positive
    loss, positive = np_ntxent(e, labels, temperature)
    es, ls = backend.asarray(e), backend.asarray(labels)
    for reduction in REDUCTIONS:
        out = polyloss.ntxent_loss(es, ls, temperature=temperature, reduction=reduction)
        _close(backend, out, _reduce(loss, reduction, count=positive.sum()), factor=100)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_ranking_softmax_formula(backend, masked, weighted):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4)) * 3
    y = rng.integers(0, 3, size=(2, 3, 4)).astype(np.float64)
    where = rng.uniform(size=(2, 3, 4)) < 0.7 if masked else None
    if masked:
        where[0, 1] = False  # a list without a valid item
    weight = rng.uniform(0.5, 2.0, size=(4,)) if weighted else None
    loss, listed = np_ranking_softmax(x, y, where, weight)
    xs, ys = backend.asarray(x), backend.asarray(y)
    for reduction in REDUCTIONS:
        out = polyloss.ranking_softmax_loss(xs, ys, where=where, weight=weight, reduction=reduction)
        _close(backend, out, _reduce(loss, reduction, count=listed.sum()))
    # integer relevance labels, and the mask as an array of the backend
    if masked:
        out = polyloss.ranking_softmax_loss(xs, backend.asarray(y.astype(np.int64)), where=backend.asarray(where))
        _close(backend, out, _reduce(loss if weight is None else np_ranking_softmax(x, y, where)[0], "mean",
                                     count=listed.sum()))


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


def test_shape_mismatches_name_both_shapes():
    a, b = np.zeros((3, 4)), np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        polyloss.margin_ranking_loss(a, b, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"target.*\(3, 5\).*\(3, 4\)"):
        polyloss.margin_ranking_loss(a, a, np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\).*\(3, 4\)"):
        polyloss.cosine_embedding_loss(a, a, np.ones(4))
    with pytest.raises(ValueError, match=r"anchor.*negative.*\(3, 4\).*\(3, 5\)"):
        polyloss.triplet_margin_loss(a, a, b)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        polyloss.triplet_margin_with_distance_loss(a, b, a)
    with pytest.raises(ValueError, match=r"labels.*\(4,\).*\(3, 4\)"):
        polyloss.ntxent_loss(a, np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        polyloss.ranking_softmax_loss(a, b)
    with pytest.raises(ValueError, match=r"weight.*\(3,\).*\(3, 4\)"):
        polyloss.ranking_softmax_loss(a, a, weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"where.*\(2,\).*\(3, 4\)"):
        polyloss.ranking_softmax_loss(a, a, where=[True, False])


@pytest.mark.parametrize("bad", [0.0, 2.0, 0.5, float("nan")])
def test_target_not_pm1_raises_in_eager_calls(backend, bad):
    x = backend.asarray(np.ones((2, 3)))
    y = np.ones(2)
    y[1] = bad
    y2 = np.ones((2, 3))
    y2[1, 2] = bad
    if backend.library == "dask":  # lazy: no value is read, the loss is NaN there
        out = backend.to_numpy(polyloss.margin_ranking_loss(x, x, backend.asarray(y2), reduction="none"))
        assert np.isnan(out[1, 2]) and not np.isnan(out[0]).any()
        out = backend.to_numpy(polyloss.cosine_embedding_loss(x, x, backend.asarray(y), reduction="none"))
        assert abs(out[0]) < 1e-9 and np.isnan(out[1])
        return
    with pytest.raises(ValueError, match="target must hold labels 1 and -1"):
        polyloss.cosine_embedding_loss(x, x, backend.asarray(y))
    with pytest.raises(ValueError, match="target must hold labels 1 and -1"):
        polyloss.margin_ranking_loss(x, x, backend.asarray(y2))
    with pytest.raises(ValueError, match="target must hold labels 1 and -1"):
        polyloss.MarginRankingLoss(margin=0.1)(x, x, backend.asarray(y2))


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan")])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match="temperature"):
        polyloss.ntxent_loss(np.ones((2, 2)), np.array([0, 0]), temperature=temperature)
    with pytest.raises(ValueError, match="temperature"):
        polyloss.NTXentLoss(temperature=temperature)(np.ones((2, 2)), np.array([0, 0]))


def test_option_errors():
    a = np.ones((2, 3))
    with pytest.raises(ValueError, match="p must"):
        polyloss.triplet_margin_loss(a, a, a, p=0.0)
    with pytest.raises(ValueError, match="p must"):
        polyloss.triplet_margin_loss(a, a, a, p=float("inf"))
    with pytest.raises(ValueError, match="eps"):
        polyloss.triplet_margin_loss(a, a, a, eps=-1e-6)
    with pytest.raises(TypeError, match="margin"):
        polyloss.triplet_margin_loss(a, a, a, margin="1")
    with pytest.raises(ValueError, match="margin"):
        polyloss.margin_ranking_loss(a, a, a, margin=float("nan"))
    with pytest.raises(TypeError, match="margin"):
        polyloss.cosine_embedding_loss(a, a, np.ones(2), margin=True)
    with pytest.raises(TypeError, match="swap"):
        polyloss.triplet_margin_loss(a, a, a, swap=1)
    with pytest.raises(TypeError, match="distance_function"):
        polyloss.triplet_margin_with_distance_loss(a, a, a, distance_function="l2")
    with pytest.raises(ValueError, match="axis=2"):
        polyloss.triplet_margin_loss(a, a, a, axis=2)
    with pytest.raises(ValueError, match=r"reduction.*'mean', 'sum', 'none'"):
        polyloss.ranking_softmax_loss(a, a, reduction="max")
    with pytest.raises(ValueError, match="reduction"):
        polyloss.NTXentLoss(reduction="batchmean")


def test_argument_type_errors():
    a = np.ones((2, 3))
    with pytest.raises(TypeError, match="labels"):
        polyloss.ntxent_loss(a, np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="embeddings"):
        polyloss.ntxent_loss(np.ones((2, 3), dtype=np.int64), np.array([0, 1]))
    with pytest.raises(TypeError, match="input2"):
        polyloss.margin_ranking_loss(a, np.ones((2, 3), dtype=np.int64), a)
    with pytest.raises(TypeError, match="target"):
        polyloss.margin_ranking_loss(a, a, np.ones((2, 3), dtype=bool))
    with pytest.raises(TypeError, match="negative"):
        polyloss.triplet_margin_loss(a, a, [[1.0, 2.0, 3.0]] * 2)
    with pytest.raises(TypeError, match="target"):
        polyloss.cosine_embedding_loss(a, a, None)
    with pytest.raises(ValueError, match="2-D"):
        polyloss.ntxent_loss(np.ones(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="empty"):
        polyloss.triplet_margin_loss(np.ones((0, 3)), np.ones((0, 3)), np.ones((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        polyloss.ntxent_loss(np.ones((0, 3)), np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="0-d"):
        polyloss.ranking_softmax_loss(np.asarray(1.0), np.asarray(1.0))


# --------------------------------------------------------------------------
# edges: finite values and gradients
# --------------------------------------------------------------------------


def _finite_grad(backend, fn, x):
    value, grad = backend.value_and_grad(fn, x)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)), (value, grad)
    return value, grad


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 0.5])
@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_triplet_equal_embeddings_finite(backend, p, eps):
    rng = np.random.default_rng(6)
    a = rng.normal(size=(3, 4))
    neg = backend.asarray(a + 1.0)
    pos = backend.asarray(a)
    out = polyloss.triplet_margin_loss(backend.asarray(a), pos, neg, p=p, eps=eps, reduction="none")
    want = np_triplet(a, a, a + 1.0, p=p, eps=eps)
    _close(backend, out, want)
    if backend.has_grad:
        # equal anchor and positive: with eps=0 the distance is exactly 0, with a zero gradient (torch's)
        _finite_grad(backend, lambda x: polyloss.triplet_margin_loss(x, pos, neg, p=p, eps=eps), a)
        _finite_grad(backend, lambda x: polyloss.triplet_margin_with_distance_loss(x, pos, neg), a)
        # everything equal
        same = backend.asarray(a)
        _finite_grad(backend, lambda x: polyloss.triplet_margin_loss(x, same, same, p=p, eps=eps, swap=True), a)


def test_triplet_gradient_at_zero_distance_is_zero(backend):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    a = np.array([[1.0, 2.0, 3.0]])
    far = backend.asarray(a + 10.0)
    # margin + d(a, a) - d(a, far) < 0: the loss is 0 anyway; a larger margin makes it count
    _, g = backend.value_and_grad(
        lambda x: polyloss.triplet_margin_loss(x, backend.asarray(a), far, eps=0.0, margin=100.0), a)
    d = np.sqrt(300.0)
    np.testing.assert_allclose(g, (a - (a + 10.0)) / d * -1.0, rtol=1e-5)  # only -d(a, n) moves


def test_cosine_zero_vectors_finite(backend):
    x1 = np.zeros((3, 4))
    x2 = np.random.default_rng(7).normal(size=(3, 4))
    x2[2] = 0.0
    y = np.array([1.0, -1.0, 1.0])
    out = polyloss.cosine_embedding_loss(backend.asarray(x1), backend.asarray(x2), backend.asarray(y),
                                         margin=-0.5, reduction="none")
    _close(backend, out, [1.0, 0.5, 1.0])
    if backend.has_grad:
        _finite_grad(backend, lambda x: polyloss.cosine_embedding_loss(x, backend.asarray(x2), backend.asarray(y)), x1)
        _finite_grad(backend, lambda x: polyloss.cosine_embedding_loss(x, x, backend.asarray(y)), x1)


def test_ntxent_edges(backend):
    rng = np.random.default_rng(8)
    e = rng.normal(size=(4, 3))
    e[1] = 0.0  # a zero embedding
    labels = backend.asarray(np.array([0, 0, 1, 1]))
    for t in (1e-3, 0.07):  # a tiny temperature: exp(2/T) would overflow without the masking
        out = polyloss.ntxent_loss(backend.asarray(e), labels, temperature=t)
        assert np.isfinite(backend.to_numpy(out))
        if backend.has_grad:
            _finite_grad(backend, lambda x, t=t: polyloss.ntxent_loss(x, labels, temperature=t), e)
    # identical embeddings in one group and no negatives: every pair's loss is 0
    same = np.ones((3, 2))
    out = polyloss.ntxent_loss(backend.asarray(same), backend.asarray(np.zeros(3, dtype=np.int64)), reduction="none")
    _close(backend, out, np.zeros((3, 3)))
    # no positive pair: 0 with a zero gradient (optax gives NaN)
    distinct = backend.asarray(np.arange(4))
    assert float(backend.to_numpy(polyloss.ntxent_loss(backend.asarray(e), distinct))) == 0.0
    if backend.has_grad:
        _, g = backend.value_and_grad(lambda x: polyloss.ntxent_loss(x, distinct), e)
        assert np.all(g == 0)
    # a batch of one
    one = polyloss.ntxent_loss(backend.asarray(e[:1]), backend.asarray(np.array([0])), reduction="none")
    _close(backend, one, [[0.0]])


def test_ranking_softmax_edges(backend):
    x = np.array([[1e4, -1e4, 0.0], [3.0, 1.0, 2.0], [0.5, 0.5, 0.5]])
    y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    where = np.array([[True, True, True], [False, False, False], [True, False, True]])
    xs, ys = backend.asarray(x), backend.asarray(y)
    out = polyloss.ranking_softmax_loss(xs, ys, where=where, reduction="none")
    loss, listed = np_ranking_softmax(x, y, where)
    assert np.isfinite(loss).all() and loss[1] == 0.0 and listed.sum() == 2
    _close(backend, out, loss)
    # the mean counts only lists with a valid item; none at all gives 0
    _close(backend, polyloss.ranking_softmax_loss(xs, ys, where=where), loss.sum() / 2)
    nothing = np.zeros(x.shape, bool)
    assert float(backend.to_numpy(polyloss.ranking_softmax_loss(xs, ys, where=nothing))) == 0.0
    if backend.has_grad:
        _, g = _finite_grad(backend, lambda a: polyloss.ranking_softmax_loss(a, ys, where=where), x)
        assert np.all(g[1] == 0) and g[2, 1] == 0
        _, g = backend.value_and_grad(lambda a: polyloss.ranking_softmax_loss(a, ys, where=nothing), x)
        assert np.all(g == 0)
        _finite_grad(backend, lambda a: polyloss.ranking_softmax_loss(a, ys), x)


def test_loss_objects_hold_options_and_a_callable():
    obj = polyloss.TripletMarginWithDistanceLoss(distance_function=_xp_l1, margin=0.5)
    assert obj == polyloss.TripletMarginWithDistanceLoss(distance_function=_xp_l1, margin=0.5)
    assert hash(obj) == hash(polyloss.TripletMarginWithDistanceLoss(distance_function=_xp_l1, margin=0.5))
    assert obj != polyloss.TripletMarginWithDistanceLoss(margin=0.5)
    assert "distance_function=<function _xp_l1" in repr(obj)
    a, pos, neg = (np.random.default_rng(i).normal(size=(3, 2)) for i in range(3))
    np.testing.assert_array_equal(obj(a, pos, neg),
                                  polyloss.triplet_margin_with_distance_loss(a, pos, neg, distance_function=_xp_l1,
                                                                             margin=0.5))
    ranking = polyloss.RankingSoftmaxLoss(where=np.array([[True, False]]), weight=[1.0, 2.0])
    assert hash(ranking) == hash(polyloss.RankingSoftmaxLoss(where=[[True, False]], weight=[1.0, 2.0]))


# --------------------------------------------------------------------------
# autodiff transforms
# --------------------------------------------------------------------------


@needs_jax
def test_jax_jit_grad_vmap():
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(9)
    a, pos, neg = (jnp.asarray(rng.normal(size=(4, 3))) for _ in range(3))
    y = jnp.asarray(_pm1(rng, (4,)))
    labels = jnp.asarray([0, 1, 0, 1])
    tol = 1e-10 if a.dtype == jnp.float64 else 1e-5  # float32 when x64 is off
    cases = [
        (lambda u, v: polyloss.margin_ranking_loss(u[:, 0], v[:, 0], y, margin=0.2), (a, pos)),
        (lambda u, v: polyloss.cosine_embedding_loss(u, v, y, margin=0.1), (a, pos)),
        (lambda u, v: polyloss.triplet_margin_loss(u, v, neg, p=3.0, swap=True), (a, pos)),
        (lambda u, v: polyloss.triplet_margin_with_distance_loss(u, v, neg, distance_function=_xp_l1), (a, pos)),
        (lambda u, v: polyloss.ntxent_loss(u + v, labels, temperature=0.2), (a, pos)),
        (lambda u, v: polyloss.ranking_softmax_loss(u, v, where=[True, True, False]), (a, pos)),
    ]
    for f, (u, v) in cases:
        eager = f(u, v)
        np.testing.assert_allclose(jax.jit(f)(u, v), eager, rtol=tol)
        assert np.isfinite(np.asarray(jax.grad(f)(u, v))).all()
        stacked = jax.vmap(f)(jnp.stack([u, -u]), jnp.stack([v, v]))
        np.testing.assert_allclose(stacked, [eager, f(-u, v)], rtol=tol)
    # a loss object as a static argument
    obj = polyloss.TripletMarginWithDistanceLoss(distance_function=_xp_l1, swap=True)
    g = jax.jit(lambda o, u, v, w: o(u, v, w), static_argnums=0)
    np.testing.assert_allclose(g(obj, a, pos, neg), obj(a, pos, neg), rtol=tol)
    # a target that is not ±1 is NaN under tracing, not a finite number
    bad = y.at[0].set(0.0)
    assert np.isnan(float(jax.jit(lambda u, v, t: polyloss.cosine_embedding_loss(u, v, t))(a, pos, bad)))
    out = jax.jit(lambda u, v, t: polyloss.margin_ranking_loss(u, v, t, reduction="none"))(a[:, 0], pos[:, 0], bad)
    assert np.isnan(out[0]) and np.isfinite(out[1:]).all()


@needs_torch
@pytest.mark.slow  # 15-30 s of compilation
def test_torch_compile_fullgraph():
    import torch

    rng = np.random.default_rng(10)
    a, pos, neg = (torch.tensor(rng.normal(size=(4, 3)), dtype=torch.float32) for _ in range(3))
    f = lambda u, v, w: polyloss.triplet_margin_loss(u, v, w, p=3.0, swap=True)  # noqa: E731
    compiled = torch.compile(f, fullgraph=True)
    torch.testing.assert_close(compiled(a, pos, neg), f(a, pos, neg))
    y = torch.tensor([1.0, -1.0, 1.0, -1.0])
    g = torch.compile(lambda u, v, t: polyloss.cosine_embedding_loss(u, v, t, margin=0.1, reduction="none"),
                      fullgraph=True)
    torch.testing.assert_close(g(a, pos, y), polyloss.cosine_embedding_loss(a, pos, y, margin=0.1, reduction="none"))
    bad = y.clone()
    bad[1] = 0.5
    out = g(a, pos, bad)
    assert torch.isnan(out[1]) and torch.isfinite(out[[0, 2, 3]]).all()


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

vectors = arrays(np.float64, (3, 4), elements=st.floats(-10.0, 10.0))
signs = arrays(np.float64, (3, 4), elements=st.sampled_from([-1.0, 1.0]))


@settings(max_examples=25, deadline=None)
@given(x1=vectors, x2=vectors, y=signs, margin=st.floats(-2.0, 2.0))
def test_margin_ranking_is_antisymmetric_and_nonnegative(x1, x2, y, margin):
    out = polyloss.margin_ranking_loss(x1, x2, y, margin=margin, reduction="none")
    assert np.all(out >= 0)
    np.testing.assert_array_equal(out, polyloss.margin_ranking_loss(x2, x1, -y, margin=margin, reduction="none"))


@settings(max_examples=25, deadline=None)
@given(a=vectors, pos=vectors, neg=vectors, shift=st.floats(-5.0, 5.0), p=st.sampled_from([1.0, 2.0, 3.0]),
       swap=st.booleans())
def test_triplet_is_translation_invariant_and_nonnegative(a, pos, neg, shift, p, swap):
    out = polyloss.triplet_margin_loss(a, pos, neg, p=p, swap=swap, reduction="none")
    assert np.all(out >= 0)
    moved = polyloss.triplet_margin_loss(a + shift, pos + shift, neg + shift, p=p, swap=swap, reduction="none")
    np.testing.assert_allclose(moved, out, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(x=arrays(np.float64, (2, 5), elements=st.floats(-20.0, 20.0)),
       y=arrays(np.float64, (2, 5), elements=st.floats(0.0, 3.0)),
       where=arrays(bool, (2, 5)), shift=st.floats(-100.0, 100.0))
def test_ranking_softmax_ignores_a_common_shift(x, y, where, shift):
    out = polyloss.ranking_softmax_loss(x, y, where=where, reduction="none")
    assert np.all(out >= -1e-9) and np.all(np.isfinite(out))
    np.testing.assert_allclose(polyloss.ranking_softmax_loss(x + shift, y, where=where, reduction="none"), out,
                               rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(e=arrays(np.float64, (4, 3), elements=st.floats(0.1, 10.0)), scale=st.floats(0.5, 20.0),
       labels=arrays(np.int64, (4,), elements=st.integers(0, 2)))
def test_ntxent_ignores_the_embeddings_scale(e, scale, labels):
    out = polyloss.ntxent_loss(e, labels, temperature=0.3, reduction="none")
    assert np.all(out >= -1e-12)
    np.testing.assert_allclose(polyloss.ntxent_loss(e * scale, labels, temperature=0.3, reduction="none"), out,
                               rtol=1e-9, atol=1e-12)
