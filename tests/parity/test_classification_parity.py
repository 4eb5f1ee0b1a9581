"""Classification losses against torch.nn.functional, optax and scikit-learn, on every backend.

Each peer is computed in float64 on the float64 data; the backend under test gets the
data in its own dtype (float32 backends compare at rtol 1e-5).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import polyloss

pytestmark = pytest.mark.parity
torch = F = optax = sklearn_metrics = None  # the peers: set by the `peers` fixture


@pytest.fixture(autouse=True, scope="module")
def peers():
    """Import the peers, with plain imports: in the parity session a missing peer fails
    every test here, never skips it; other sessions only collect this file (``-m "not
    parity"``) and need none of them."""
    global torch, F, optax, sklearn_metrics
    import optax
    import sklearn.metrics as sklearn_metrics
    import torch

    F = torch.nn.functional


REDUCTIONS = ["mean", "sum", "none"]


def _t(a):
    return None if a is None else torch.tensor(np.asarray(a))


def _close(backend, out, expected, rtol=None, atol=None):
    np.testing.assert_allclose(
        out if isinstance(out, (np.ndarray, np.generic, float)) else backend.to_numpy(out), np.asarray(expected, dtype=np.float64),
        rtol=backend.rtol if rtol is None else rtol, atol=backend.atol if atol is None else atol,
    )


def _x64() -> bool:
    import jax

    return bool(jax.config.jax_enable_x64)


def _logits_targets(rng, shape, num_classes, ignored=0):
    """Logits ``(N, C, *rest)`` and class indices ``(N, *rest)``, with `ignored` -100 entries."""
    n, *rest = shape
    x = rng.normal(scale=2.0, size=(n, num_classes, *rest))
    t = rng.integers(0, num_classes, size=(n, *rest))
    if ignored:
        flat = t.reshape(-1)
        flat[rng.choice(flat.size, size=ignored, replace=False)] = -100
    return x, t


# --------------------------------------------------------------------------
# cross_entropy
# --------------------------------------------------------------------------

CE_OPTIONS = [
    {},
    {"weight": "w"},
    {"ignore_index": -100},
    {"label_smoothing": 0.15},
    {"weight": "w", "label_smoothing": 0.15},
    {"weight": "w", "ignore_index": -100, "label_smoothing": 0.3},
    {"weight": "w", "ignore_index": 2, "label_smoothing": 0.3},  # an in-range ignore_index
]


def _ce_options(options, num_classes, rng):
    options = dict(options)
    if options.get("weight") == "w":
        options["weight"] = rng.uniform(0.2, 3.0, size=num_classes)
    return options


@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(7,), (3, 4, 2)], ids=["N", "N-d1-d2"])
def test_cross_entropy_index_targets_match_torch(shape, options, backend, rng):
    num_classes = 5
    x, t = _logits_targets(rng, shape, num_classes, ignored=2)
    options = _ce_options(options, num_classes, rng)
    t[t == -100] = options.get("ignore_index", -100)
    torch_options = {k: _t(v) if k == "weight" else v for k, v in options.items()}
    for reduction in REDUCTIONS:
        expected = F.cross_entropy(_t(x), _t(t), reduction=reduction, **torch_options)
        out = polyloss.cross_entropy(backend.asarray(x), backend.asarray(t), reduction=reduction, **options)
        _close(backend, out, expected.numpy())


def test_weighted_label_smoothing_is_not_weight_times_smoothed_ce(rng):
    """torch's weighted label smoothing (what we match) differs from weighting the smoothed CE."""
    x, t = _logits_targets(rng, (6,), 4)
    w = np.array([0.2, 1.0, 3.0, 0.5])
    ours = float(polyloss.cross_entropy(x, t, weight=w, label_smoothing=0.2))
    torch_value = F.cross_entropy(_t(x), _t(t), weight=_t(w), label_smoothing=0.2).item()
    smoothed = np.eye(4)[t] * 0.8 + 0.2 / 4
    naive = np.sum(w[t] * -np.sum(smoothed * (x - np.log(np.exp(x).sum(1, keepdims=True))), 1)) / w[t].sum()
    assert ours == pytest.approx(torch_value, rel=1e-12)
    assert abs(ours - naive) > 1e-3


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": "w"}, {"label_smoothing": 0.2},
                                     {"weight": "w", "label_smoothing": 0.2}],
                         ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(6,), (2, 3, 3)], ids=["N", "N-d1-d2"])
def test_cross_entropy_probability_targets_match_torch(shape, options, reduction, backend, rng):
    num_classes = 4
    x, _ = _logits_targets(rng, shape, num_classes)
    t = rng.dirichlet(np.ones(num_classes), size=x.shape[:1] + x.shape[2:])
    t = np.moveaxis(t, -1, 1)
    options = _ce_options(options, num_classes, rng)
    expected = F.cross_entropy(_t(x), _t(t), reduction=reduction,
                               **{k: _t(v) if k == "weight" else v for k, v in options.items()})
    out = polyloss.cross_entropy(backend.asarray(x), backend.asarray(t), reduction=reduction, **options)
    _close(backend, out, expected.numpy())


@pytest.mark.parametrize("probabilities", [False, True])
def test_cross_entropy_channel_last_matches_torch(probabilities, backend, rng):
    x, t = _logits_targets(rng, (3, 4, 2), 5, ignored=1)
    w = rng.uniform(0.5, 2.0, size=5)
    if probabilities:
        t = np.moveaxis(rng.dirichlet(np.ones(5), size=(3, 4, 2)), -1, 1)
    expected = F.cross_entropy(_t(x), _t(t), weight=_t(w), label_smoothing=0.1, reduction="none")
    x_last = np.moveaxis(x, 1, -1)
    t_last = np.moveaxis(t, 1, -1) if probabilities else t
    out = polyloss.cross_entropy(backend.asarray(x_last), backend.asarray(t_last), weight=w,
                                 label_smoothing=0.1, axis=-1, reduction="none")
    _close(backend, out, expected.numpy())


def test_cross_entropy_unbatched_matches_torch(backend, rng):
    x = rng.normal(size=5)
    expected = F.cross_entropy(_t(x), torch.tensor(3), label_smoothing=0.1)
    out = polyloss.cross_entropy(backend.asarray(x), backend.asarray(np.array(3)), label_smoothing=0.1)
    _close(backend, out, expected.numpy())


def test_cross_entropy_matches_torch_at_large_logits(backend, rng):
    """A common offset of 1e3 and spreads of 1e4: torch's log_softmax numbers, not lse - x_t."""
    x = 1e3 + rng.normal(scale=1.0, size=(5, 4))
    x[0, 1] = 1e4
    x[1, 2] = -1e4
    t = np.array([1, 0, 3, 2, 1])
    expected = F.cross_entropy(_t(x), _t(t), label_smoothing=0.1, reduction="none").numpy()
    out = polyloss.cross_entropy(backend.asarray(x), backend.asarray(t), label_smoothing=0.1, reduction="none")
    # float32 inputs round 1e3 + noise to 6e-5: compare in absolute terms there
    _close(backend, out, expected, atol=backend.atol if backend.dtype == "float64" else 2e-3)


# --------------------------------------------------------------------------
# nll_loss
# --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(7,), (2, 3, 4)], ids=["N", "N-d1-d2"])
def test_nll_loss_matches_torch(shape, weighted, reduction, backend, rng):
    x, t = _logits_targets(rng, shape, 4, ignored=2)
    logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    w = rng.uniform(0.2, 3.0, size=4) if weighted else None
    expected = F.nll_loss(_t(logp), _t(t), weight=_t(w), reduction=reduction)
    out = polyloss.nll_loss(backend.asarray(logp), backend.asarray(t), weight=w, reduction=reduction)
    _close(backend, out, expected.numpy())
    out_last = polyloss.nll_loss(backend.asarray(np.moveaxis(logp, 1, -1)), backend.asarray(t), weight=w,
                                 axis=-1, reduction=reduction)
    _close(backend, out_last, expected.numpy())


# --------------------------------------------------------------------------
# binary cross-entropy
# --------------------------------------------------------------------------

WEIGHT_SHAPES = [None, (4,), (3, 1), (2, 3, 4)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", WEIGHT_SHAPES, ids=str)
def test_binary_cross_entropy_matches_torch(weight_shape, reduction, backend, rng):
    p = rng.uniform(0.0, 1.0, size=(2, 3, 4))
    p.reshape(-1)[:4] = [0.0, 1.0, 0.0, 1.0]  # exactly 0 and 1: the -100 clamp
    y = rng.uniform(0.0, 1.0, size=p.shape)
    y.reshape(-1)[:4] = [1.0, 0.0, 0.0, 1.0]
    w = None if weight_shape is None else rng.uniform(0.2, 2.0, size=weight_shape)
    expected = F.binary_cross_entropy(_t(p), _t(y), weight=_t(w), reduction=reduction)
    out = polyloss.binary_cross_entropy(backend.asarray(p), backend.asarray(y), weight=w, reduction=reduction)
    _close(backend, out, expected.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("pos_weight_shape", "weight_shape"),
                         [(None, None), ((4,), None), ((4,), (3, 1)), ((3, 1), (4,)), (None, (2, 3, 4))],
                         ids=str)
def test_bce_with_logits_matches_torch(pos_weight_shape, weight_shape, reduction, backend, rng):
    x = rng.normal(scale=4.0, size=(2, 3, 4))
    x.reshape(-1)[:4] = [30.0, -30.0, -21.0, 1e4]
    y = (rng.uniform(size=x.shape) < 0.5).astype(np.float64)
    w = None if weight_shape is None else rng.uniform(0.2, 2.0, size=weight_shape)
    pw = None if pos_weight_shape is None else rng.uniform(0.2, 3.0, size=pos_weight_shape)
    expected = F.binary_cross_entropy_with_logits(_t(x), _t(y), weight=_t(w), pos_weight=_t(pw),
                                                  reduction=reduction)
    out = polyloss.binary_cross_entropy_with_logits(backend.asarray(x), backend.asarray(y), weight=w,
                                                    pos_weight=pw, reduction=reduction)
    _close(backend, out, expected.numpy())


@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0])
def test_bce_with_logits_label_smoothing_is_torch_at_smoothed_targets_and_keras(eps, backend, rng):
    x = rng.normal(scale=3.0, size=(5, 3))
    y = (rng.uniform(size=x.shape) < 0.5).astype(np.float64)
    pw = np.array([2.0, 0.5, 1.0])
    smoothed = y * (1 - eps) + eps / 2
    expected = F.binary_cross_entropy_with_logits(_t(x), _t(smoothed), pos_weight=_t(pw), reduction="none")
    out = polyloss.binary_cross_entropy_with_logits(backend.asarray(x), backend.asarray(y), pos_weight=pw,
                                                    label_smoothing=eps, reduction="none")
    _close(backend, out, expected.numpy())
    # Keras' BinaryCrossentropy(from_logits=True, label_smoothing=eps), written out
    keras = np.mean(np.maximum(x, 0) - x * smoothed + np.log1p(np.exp(-np.abs(x))), axis=-1)
    mean_last = np.mean(backend.to_numpy(
        polyloss.binary_cross_entropy_with_logits(backend.asarray(x), backend.asarray(y), label_smoothing=eps,
                                                  reduction="none")), axis=-1)
    np.testing.assert_allclose(mean_last, keras, rtol=backend.rtol * 10, atol=backend.atol)


# --------------------------------------------------------------------------
# poly1_cross_entropy
# --------------------------------------------------------------------------


def _optax_poly(x_last, labels, epsilon):
    import jax.numpy as jnp

    out = optax.losses.poly_loss_cross_entropy(jnp.asarray(x_last), jnp.asarray(labels), epsilon=epsilon)
    return np.asarray(out, dtype=np.float64)


def _peer_rtol(backend):
    # without jax x64 optax computes in float32
    return backend.rtol if _x64() else max(backend.rtol, 2e-5)


@pytest.mark.parametrize("epsilon", [-1.0, 1.0, 2.0])
def test_poly1_probability_targets_match_optax(epsilon, backend, rng):
    x = rng.normal(scale=2.0, size=(6, 5))
    t = rng.dirichlet(np.ones(5), size=6)
    expected = _optax_poly(x, t, epsilon)
    out = polyloss.poly1_cross_entropy(backend.asarray(x), backend.asarray(t), epsilon=epsilon, axis=-1,
                                       reduction="none")
    _close(backend, out, expected, rtol=_peer_rtol(backend), atol=1e-5 if not _x64() else backend.atol)
    mean = polyloss.poly1_cross_entropy(backend.asarray(x), backend.asarray(t), epsilon=epsilon, axis=-1)
    _close(backend, mean, expected.mean(), rtol=_peer_rtol(backend), atol=1e-5 if not _x64() else backend.atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_poly1_index_targets_are_ce_plus_epsilon_one_minus_pt(weighted, reduction, backend, rng):
    x, t = _logits_targets(rng, (3, 4), 5, ignored=2)
    w = rng.uniform(0.2, 3.0, size=5) if weighted else None
    ce = F.cross_entropy(_t(x), _t(t), reduction="none").numpy()  # unweighted: p_t = exp(-CE)
    w_t = np.where(t == -100, 0.0, (w if w is not None else np.ones(5))[np.where(t == -100, 0, t)])
    per = w_t * (ce + 2.0 * (1.0 - np.exp(-ce)))
    expected = {"mean": per.sum() / w_t.sum(), "sum": per.sum(), "none": per}[reduction]
    out = polyloss.poly1_cross_entropy(backend.asarray(x), backend.asarray(t), epsilon=2.0, weight=w,
                                       reduction=reduction)
    _close(backend, out, expected)


@pytest.mark.parametrize("weighted", [False, True])
def test_poly1_index_targets_with_smoothing_match_optax_on_smoothed_labels(weighted, backend, rng):
    x, t = _logits_targets(rng, (6,), 4)
    w = rng.uniform(0.2, 3.0, size=4) if weighted else np.ones(4)
    smoothed = np.eye(4)[t] * 0.8 + 0.2 / 4
    # optax weighs nothing: scale the labels by the class weight (the documented weighting)
    expected = _optax_poly(x, smoothed * w, 1.5)
    if weighted:  # and CE must still be torch's weighted label-smoothing CE
        torch_ce = F.cross_entropy(_t(x), _t(t), weight=_t(w), label_smoothing=0.2, reduction="none").numpy()
        np.testing.assert_allclose(
            polyloss.poly1_cross_entropy(x, t, weight=w, label_smoothing=0.2, epsilon=0.0, reduction="none"),
            torch_ce, rtol=1e-12)
    out = polyloss.poly1_cross_entropy(backend.asarray(x), backend.asarray(t), epsilon=1.5,
                                       weight=w if weighted else None, label_smoothing=0.2, reduction="none")
    _close(backend, out, expected, rtol=_peer_rtol(backend), atol=1e-5 if not _x64() else backend.atol)


# --------------------------------------------------------------------------
# kl_div
# --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(log_target, reduction, backend, rng):
    x = np.log(rng.dirichlet(np.ones(5), size=(3, 2)))
    t = rng.dirichlet(np.ones(5), size=(3, 2))
    t[0, 0, :2] = 0.0  # zero targets: xlogy gives 0
    if log_target:
        t = np.log(rng.dirichlet(np.ones(5), size=(3, 2)))
    expected = F.kl_div(_t(x), _t(t), reduction=reduction, log_target=log_target)
    out = polyloss.kl_div(backend.asarray(x), backend.asarray(t), reduction=reduction, log_target=log_target)
    _close(backend, out, expected.numpy())


# --------------------------------------------------------------------------
# log_loss
# --------------------------------------------------------------------------


def _sklearn(y, p, dtype, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows not summing to 1 exactly in float32
        return sklearn_metrics.log_loss(y, np.asarray(p, dtype=dtype), **options)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_binary_matches_sklearn(weighted, reduction, backend, rng):
    p = rng.uniform(size=20)
    p[:4] = [0.0, 1.0, 0.0, 1.0]  # clipped at finfo(dtype).eps
    y = (rng.uniform(size=20) < 0.5).astype(np.int64)
    y[:4] = [1, 0, 0, 1]
    s = rng.uniform(0.1, 2.0, size=20) if weighted else None
    expected = _sklearn(y, p, backend.dtype, sample_weight=s, normalize=reduction == "mean", labels=[0, 1])
    out = polyloss.log_loss(backend.asarray(p), backend.asarray(y), sample_weight=s, reduction=reduction)
    _close(backend, out, expected)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_multiclass_matches_sklearn(weighted, reduction, backend, rng):
    p = rng.dirichlet(np.ones(4), size=25)
    p[0] = [1.0, 0.0, 0.0, 0.0]
    y = rng.integers(0, 4, size=25)
    y[0] = 1  # probability exactly 0 for the true class
    s = rng.uniform(0.1, 2.0, size=25) if weighted else None
    options = dict(sample_weight=s, normalize=reduction == "mean", labels=[0, 1, 2, 3])
    expected = _sklearn(y, p, backend.dtype, **options)
    out = polyloss.log_loss(backend.asarray(p), backend.asarray(y), sample_weight=s, reduction=reduction)
    _close(backend, out, expected)
    # an indicator-matrix target gives the same number, as in sklearn
    out = polyloss.log_loss(backend.asarray(p), backend.asarray(np.eye(4)[y]), sample_weight=s,
                            reduction=reduction)
    _close(backend, out, expected)


def test_log_loss_rows_not_summing_to_one_are_not_renormalized_as_sklearn(backend):
    p = np.array([[0.2, 0.2, 0.2], [0.5, 0.4, 0.3]])
    y = np.array([0, 1])
    with pytest.warns(UserWarning):
        expected = sklearn_metrics.log_loss(y, p, labels=[0, 1, 2])
    _close(backend, polyloss.log_loss(backend.asarray(p), backend.asarray(y)), expected)


def test_log_loss_sklearn_docstring_example(backend):
    p = np.array([[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]])
    y = np.array([1, 0, 0, 1])
    expected = sklearn_metrics.log_loss(["spam", "ham", "ham", "spam"], p)
    _close(backend, polyloss.log_loss(backend.asarray(p), backend.asarray(y)), expected)


# --------------------------------------------------------------------------
# the reference article's NumPy snippets
# --------------------------------------------------------------------------


def article_cross_entropy_loss(y_pred, y_true):
    return -np.mean(y_true * np.log(y_pred))


def article_binary_cross_entropy_loss(y_pred, y_true):
    return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))


def article_log_loss(y_pred, y_true):
    return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))


def test_article_numpy_snippets(backend, rng):
    p = rng.dirichlet(np.ones(4), size=8)
    y = rng.integers(0, 4, size=8)
    onehot = np.eye(4)[y]
    # the article's CE averages over all N*C entries of the one-hot product
    ce_sum = polyloss.cross_entropy(backend.asarray(np.log(p)), backend.asarray(onehot), reduction="sum")
    _close(backend, backend.to_numpy(ce_sum) / p.size, article_cross_entropy_loss(p, onehot))
    nll_sum = polyloss.nll_loss(backend.asarray(np.log(p)), backend.asarray(y), reduction="sum")
    _close(backend, backend.to_numpy(nll_sum) / p.size, article_cross_entropy_loss(p, onehot))

    q = rng.uniform(0.05, 0.95, size=10)
    b = (rng.uniform(size=10) < 0.5).astype(np.float64)
    _close(backend, polyloss.binary_cross_entropy(backend.asarray(q), backend.asarray(b)),
           article_binary_cross_entropy_loss(q, b))
    _close(backend, polyloss.log_loss(backend.asarray(q), backend.asarray(b)), article_log_loss(q, b))
