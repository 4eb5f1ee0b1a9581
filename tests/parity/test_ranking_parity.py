"""Ranking and metric-learning losses against torch.nn.functional and optax.losses: values
on every backend, gradients (torch autograd against torch's, jax.grad against optax's).

Option mappings (see the losses' Notes):
- ``triplet_margin_loss``: torch's ``eps`` is added to each difference (polyloss too);
  optax's to the sum of p-th powers. They agree at ``eps=0`` for even ``p``.
- ``ntxent_loss``: optax returns the mean over positive pairs only (NaN without one).
- ``ranking_softmax_loss``: optax's ``reduce_fn`` ``jnp.mean``/``jnp.sum``/None are the
  reductions ``"mean"``/``"sum"``/``"none"``; ``weights`` is ``weight``.
"""

from __future__ import annotations

import array_api_compat
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import polyloss

pytestmark = pytest.mark.parity
F = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]


def _rounded(backend, *arrays):
    """The float arrays as the backend holds them (float32 rounding included), in float64."""
    return [np.asarray(a, dtype=backend.dtype).astype(np.float64) for a in arrays]


def _close(backend, got, want, factor=1.0):
    np.testing.assert_allclose(backend.to_numpy(got), np.asarray(want, dtype=np.float64),
                               rtol=backend.rtol * factor, atol=backend.atol * factor)


def _t(*arrays):
    return [torch.tensor(a) for a in arrays]


def _grad_tol(backend):
    return dict(rtol=1e-9, atol=1e-12) if backend.dtype == "float64" else dict(rtol=1e-4, atol=1e-5)


def _torch_grad(fn, x, *rest):
    """torch autograd of a torch peer with respect to its first argument, in float64."""
    xt = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(fn(xt, *_t(*rest)), xt)
    return g.numpy()


def _pm1(rng, shape):
    return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)


# --------------------------------------------------------------------------
# margin ranking, cosine embedding
# --------------------------------------------------------------------------


@pytest.mark.parametrize("margin", [0.0, 0.5, -0.2])
def test_margin_ranking_matches_torch(backend, margin):
    rng = np.random.default_rng(0)
    x1, x2 = _rounded(backend, rng.normal(size=(4, 5)), rng.normal(size=(4, 5)))
    y = _pm1(rng, (4, 5))
    args = [backend.asarray(v) for v in (x1, x2, y)]
    for reduction in REDUCTIONS:
        want = F.margin_ranking_loss(*_t(x1, x2, y), margin=margin, reduction=reduction).numpy()
        _close(backend, polyloss.margin_ranking_loss(*args, margin=margin, reduction=reduction), want)
    _close(backend, polyloss.MarginRankingLoss(margin=margin, reduction="sum")(*args),
           F.margin_ranking_loss(*_t(x1, x2, y), margin=margin, reduction="sum").numpy())


@pytest.mark.parametrize("margin", [0.0, 0.4, -0.5])
def test_cosine_embedding_matches_torch(backend, margin):
    rng = np.random.default_rng(1)
    x1, x2 = _rounded(backend, rng.normal(size=(6, 4)), rng.normal(size=(6, 4)))
    x1[0] = 0.0  # zero vectors: torch's EPSILON keeps the cosine 0
    x2[1] = 0.0
    x2[2] = 3.0 * x1[2]  # parallel
    y = _pm1(rng, (6,))
    args = [backend.asarray(v) for v in (x1, x2, y)]
    for reduction in REDUCTIONS:
        want = F.cosine_embedding_loss(*_t(x1, x2, y), margin=margin, reduction=reduction).numpy()
        _close(backend, polyloss.cosine_embedding_loss(*args, margin=margin, reduction=reduction), want, factor=10)
    # unbatched (D,) vectors with a 0-d target
    want = F.cosine_embedding_loss(*_t(x1[3], x2[3], y[3]), margin=margin).numpy()
    got = polyloss.cosine_embedding_loss(backend.asarray(x1[3]), backend.asarray(x2[3]), backend.asarray(y[3]),
                                         margin=margin)
    _close(backend, got, want, factor=10)


def test_cosine_embedding_target_other_than_pm1():
    """torch gives 0 for a target that is neither 1 nor -1; polyloss raises (eager)."""
    x = np.ones((2, 3))
    y = np.array([1.0, 0.0])
    assert F.cosine_embedding_loss(*_t(x, x, y), reduction="none").numpy()[1] == 0.0
    with pytest.raises(ValueError, match="1 and -1"):
        polyloss.cosine_embedding_loss(x, x, y)


# --------------------------------------------------------------------------
# triplet margin
# --------------------------------------------------------------------------

TRIPLET_OPTIONS = [
    {},
    {"margin": 0.5, "swap": True},
    {"p": 1.0},
    {"p": 3.0, "eps": 0.1, "swap": True},
    {"p": 0.5, "margin": 3.0},
    {"eps": 0.0, "margin": 2.0},
]


@pytest.mark.parametrize("options", TRIPLET_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_triplet_matches_torch(backend, options):
    rng = np.random.default_rng(2)
    a, pos, neg = _rounded(backend, *(rng.normal(size=(5, 4)) for _ in range(3)))
    args = [backend.asarray(v) for v in (a, pos, neg)]
    for reduction in REDUCTIONS:
        want = F.triplet_margin_loss(*_t(a, pos, neg), **options, reduction=reduction).numpy()
        _close(backend, polyloss.triplet_margin_loss(*args, **options, reduction=reduction), want, factor=10)
    # 1-D (unbatched) triplets, as torch takes them
    want = F.triplet_margin_loss(*_t(a[0], pos[0], neg[0]), **options).numpy()
    got = polyloss.triplet_margin_loss(*(backend.asarray(v[0]) for v in (a, pos, neg)), **options)
    _close(backend, got, want, factor=10)


@pytest.mark.parametrize(("p", "axis", "margin"), [(2.0, -1, 1.0), (4.0, -1, 0.5), (2.0, 0, 2.0), (2.0, 1, 0.0)])
def test_triplet_matches_optax_at_eps_zero(backend, p, axis, margin):
    rng = np.random.default_rng(3)
    a, pos, neg = _rounded(backend, *(rng.normal(size=(3, 4, 2)) for _ in range(3)))
    want = np.asarray(optax.losses.triplet_margin_loss(a, pos, neg, axis=axis, norm_degree=p, margin=margin, eps=0.0))
    got = polyloss.triplet_margin_loss(*(backend.asarray(v) for v in (a, pos, neg)), p=p, axis=axis, margin=margin,
                                       eps=0.0, reduction="none")
    _close(backend, got, want, factor=10)


def test_triplet_eps_differs_from_optax():
    """optax adds eps to the sum of powers, torch and polyloss to each difference."""
    rng = np.random.default_rng(4)
    a, pos, neg = (rng.normal(size=(4, 3)) for _ in range(3))
    eps = 1e-2
    ours = polyloss.triplet_margin_loss(a, pos, neg, eps=eps, margin=5.0, reduction="none")
    theirs = np.asarray(optax.losses.triplet_margin_loss(a, pos, neg, eps=eps, margin=5.0))
    torch_ = F.triplet_margin_loss(*_t(a, pos, neg), eps=eps, margin=5.0, reduction="none").numpy()
    np.testing.assert_allclose(ours, torch_, rtol=1e-12)
    assert np.abs(ours - theirs).max() > 1e-4
    d = lambda u, v: np.sqrt(((u - v) ** 2).sum(-1) + eps)  # noqa: E731  (optax's distance)
    np.testing.assert_allclose(theirs, np.maximum(5.0 + d(a, pos) - d(a, neg), 0.0), rtol=_OPTAX_RTOL)


def _l1(u, v):
    xp = array_api_compat.array_namespace(u, v)
    return xp.sum(xp.abs(u - v), axis=-1)


def _cosine_distance(u, v):
    xp = array_api_compat.array_namespace(u, v)
    return 1.0 - xp.sum(u * v, axis=-1) / xp.sqrt(xp.sum(u * u, axis=-1) * xp.sum(v * v, axis=-1))


@pytest.mark.parametrize("distance", [None, _l1, _cosine_distance], ids=["default", "l1", "cosine"])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_with_distance_matches_torch(backend, distance, swap):
    rng = np.random.default_rng(5)
    a, pos, neg = _rounded(backend, *(rng.normal(size=(6, 3)) for _ in range(3)))
    margin = 0.3 if distance is _cosine_distance else 1.5
    args = [backend.asarray(v) for v in (a, pos, neg)]
    for reduction in REDUCTIONS:
        want = F.triplet_margin_with_distance_loss(*_t(a, pos, neg), distance_function=distance, margin=margin,
                                                   swap=swap, reduction=reduction).numpy()
        got = polyloss.triplet_margin_with_distance_loss(*args, distance_function=distance, margin=margin, swap=swap,
                                                         reduction=reduction)
        _close(backend, got, want, factor=10)
    obj = polyloss.TripletMarginWithDistanceLoss(distance_function=distance, margin=margin, swap=swap)
    _close(backend, obj(*args), F.triplet_margin_with_distance_loss(
        *_t(a, pos, neg), distance_function=distance, margin=margin, swap=swap).numpy(), factor=10)


def test_triplet_margin_zero_torch_refuses():
    """torch raises for margin <= 0; polyloss (and optax) compute it."""
    a, pos, neg = (np.random.default_rng(i).normal(size=(3, 2)) for i in range(3))
    with pytest.raises(ValueError, match="margin"):
        F.triplet_margin_loss(*_t(a, pos, neg), margin=0.0)
    ours = polyloss.triplet_margin_loss(a, pos, neg, margin=0.0, eps=0.0, reduction="none")
    np.testing.assert_allclose(ours, optax.losses.triplet_margin_loss(a, pos, neg, margin=0.0, eps=0.0), rtol=_OPTAX_RTOL)


# --------------------------------------------------------------------------
# NT-Xent
# --------------------------------------------------------------------------

NTXENT_LABELS = {
    "pairs": [0, 0, 1, 1, 2, 2, 3, 3],
    "groups": [0, 1, 2, 0, 1, 2, 0, 4],  # a group of three, one without a positive
}


@pytest.mark.parametrize("temperature", [0.07, 0.5, 1.0])
@pytest.mark.parametrize("labels", list(NTXENT_LABELS))
def test_ntxent_matches_optax(backend, temperature, labels):
    rng = np.random.default_rng(6)
    (e,) = _rounded(backend, rng.normal(size=(8, 5)))
    lab = np.asarray(NTXENT_LABELS[labels])
    want = float(optax.losses.ntxent(jnp.asarray(e), jnp.asarray(lab), temperature=temperature))
    es, ls = backend.asarray(e), backend.asarray(lab)
    factor = 10  # one matrix product where optax sums (N, N, D) products: equal to rounding
    _close(backend, polyloss.ntxent_loss(es, ls, temperature=temperature), want, factor=factor)
    pairs = int((lab[:, None] == lab[None, :]).sum() - len(lab))
    _close(backend, polyloss.ntxent_loss(es, ls, temperature=temperature, reduction="sum"), want * pairs, factor=factor)
    none = backend.to_numpy(polyloss.ntxent_loss(es, ls, temperature=temperature, reduction="none"))
    assert none.shape == (8, 8)
    np.testing.assert_allclose(none.sum() / pairs, want, rtol=backend.rtol * factor)


def test_ntxent_without_positive_pairs():
    """optax gives NaN when no two embeddings share a label; polyloss 0 (with a zero gradient)."""
    e = np.random.default_rng(7).normal(size=(3, 2))
    labels = np.array([0, 1, 2])
    assert np.isnan(float(optax.losses.ntxent(jnp.asarray(e), jnp.asarray(labels))))
    assert float(polyloss.ntxent_loss(e, labels)) == 0.0


# --------------------------------------------------------------------------
# ranking softmax
# --------------------------------------------------------------------------

OPTAX_REDUCE = {"mean": jnp.mean, "sum": jnp.sum, "none": None}


def _ranking_case(rng, masked, weighted, shape=(2, 3, 5)):
    x = rng.normal(size=shape) * 2.0
    y = rng.integers(0, 4, size=shape).astype(np.float64)
    where = (rng.uniform(size=shape) < 0.6) if masked else None
    if masked:
        where[0, 2] = False  # a list without a valid item
        where[1, 0] = True
    weight = rng.uniform(0.2, 2.0, size=shape) if weighted else None
    return x, y, where, weight


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_ranking_softmax_matches_optax(backend, masked, weighted):
    x, y, where, weight = _ranking_case(np.random.default_rng(8), masked, weighted)
    (x,) = _rounded(backend, x)
    if weight is not None:
        (weight,) = _rounded(backend, weight)
    xs, ys = backend.asarray(x), backend.asarray(y)
    for reduction, reduce_fn in OPTAX_REDUCE.items():
        want = np.asarray(optax.losses.ranking_softmax_loss(
            jnp.asarray(x), jnp.asarray(y), where=None if where is None else jnp.asarray(where),
            weights=None if weight is None else jnp.asarray(weight), reduce_fn=reduce_fn))
        got = polyloss.ranking_softmax_loss(xs, ys, where=where, weight=weight, reduction=reduction)
        _close(backend, got, want, factor=10)


def test_ranking_softmax_every_list_empty(backend):
    """Lists without a valid item: 0 for every reduction, as in optax."""
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(3, 4)), rng.integers(0, 2, size=(3, 4)).astype(np.float64)
    where = np.zeros((3, 4), bool)
    for reduction, reduce_fn in OPTAX_REDUCE.items():
        want = np.asarray(optax.losses.ranking_softmax_loss(jnp.asarray(x), jnp.asarray(y), where=jnp.asarray(where),
                                                            reduce_fn=reduce_fn))
        got = polyloss.ranking_softmax_loss(backend.asarray(x), backend.asarray(y), where=where, reduction=reduction)
        np.testing.assert_array_equal(backend.to_numpy(got), want)


# --------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------

TORCH_GRADIENT_CASES = {
    "margin_ranking": (lambda x, a, b: F.margin_ranking_loss(x, a, b, margin=0.1),
                       lambda x, a, b: polyloss.margin_ranking_loss(x, a, b, margin=0.1), ((4, 5), (4, 5), ("pm1", (4, 5)))),
    "cosine_embedding": (lambda x, a, b: F.cosine_embedding_loss(x, a, b, margin=0.2),
                         lambda x, a, b: polyloss.cosine_embedding_loss(x, a, b, margin=0.2), ((5, 4), (5, 4), ("pm1", (5,)))),
    "triplet_p2": (lambda x, a, b: F.triplet_margin_loss(x, a, b, margin=2.0),
                   lambda x, a, b: polyloss.triplet_margin_loss(x, a, b, margin=2.0), ((5, 4), (5, 4), (5, 4))),
    "triplet_p3_swap": (lambda x, a, b: F.triplet_margin_loss(x, a, b, p=3.0, swap=True, margin=2.0, reduction="sum"),
                        lambda x, a, b: polyloss.triplet_margin_loss(x, a, b, p=3.0, swap=True, margin=2.0,
                                                                     reduction="sum"), ((5, 4), (5, 4), (5, 4))),
    "triplet_distance": (lambda x, a, b: F.triplet_margin_with_distance_loss(x, a, b, margin=2.0, swap=True),
                         lambda x, a, b: polyloss.triplet_margin_with_distance_loss(x, a, b, margin=2.0, swap=True),
                         ((5, 4), (5, 4), (5, 4))),
}


@pytest.mark.parametrize("case", list(TORCH_GRADIENT_CASES))
def test_gradient_matches_torch_autograd(backend, case):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    peer, ours, shapes = TORCH_GRADIENT_CASES[case]
    rng = np.random.default_rng(10)
    signs = shapes[2][0] == "pm1"
    x, a = _rounded(backend, rng.normal(size=shapes[0]), rng.normal(size=shapes[1]))
    b = _pm1(rng, shapes[2][1]) if signs else _rounded(backend, rng.normal(size=shapes[2]))[0]
    want = _torch_grad(peer, x, a, b)
    rest = [backend.asarray(a), backend.asarray(b)]
    value, grad = backend.value_and_grad(lambda v: ours(v, *rest), x)
    np.testing.assert_allclose(value, peer(*_t(x, a, b)).numpy(), rtol=backend.rtol * 10, atol=backend.atol)
    np.testing.assert_allclose(grad, want, **_grad_tol(backend))


def _jax_grad(fn, x):
    return np.asarray(jax.grad(fn)(jnp.asarray(x)))


@pytest.mark.parametrize("case", ["ntxent", "ranking_softmax", "ranking_softmax_masked", "triplet"])
def test_gradient_matches_optax(backend, case):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    rng = np.random.default_rng(11)
    if case == "ntxent":
        (x,) = _rounded(backend, rng.normal(size=(6, 4)))
        labels = np.array([0, 1, 0, 1, 2, 2])
        peer = lambda v: optax.losses.ntxent(v, jnp.asarray(labels), temperature=0.3)  # noqa: E731
        lab = backend.asarray(labels)
        ours = lambda v: polyloss.ntxent_loss(v, lab, temperature=0.3)  # noqa: E731
    elif case.startswith("ranking_softmax"):
        x, y, where, weight = _ranking_case(rng, case.endswith("masked"), True)
        (x,) = _rounded(backend, x)
        peer = lambda v: optax.losses.ranking_softmax_loss(  # noqa: E731
            v, jnp.asarray(y), where=None if where is None else jnp.asarray(where), weights=jnp.asarray(weight))
        ys = backend.asarray(y)
        ours = lambda v: polyloss.ranking_softmax_loss(v, ys, where=where, weight=weight)  # noqa: E731
    else:
        x, a, b = _rounded(backend, *(rng.normal(size=(5, 3)) for _ in range(3)))
        peer = lambda v: jnp.mean(optax.losses.triplet_margin_loss(v, a, b, margin=2.0, eps=0.0))  # noqa: E731
        rest = [backend.asarray(a), backend.asarray(b)]
        ours = lambda v: polyloss.triplet_margin_loss(v, *rest, margin=2.0, eps=0.0)  # noqa: E731
    value, grad = backend.value_and_grad(ours, x)
    tol = _grad_tol(backend)
    np.testing.assert_allclose(value, float(peer(jnp.asarray(x))), **tol)
    np.testing.assert_allclose(grad, _jax_grad(peer, x), **tol)


#: optax computes in float32 when JAX's x64 is off (the parity session's second JAX run).
_OPTAX_RTOL = 1e-12 if __import__("jax").config.read("jax_enable_x64") else 1e-5
