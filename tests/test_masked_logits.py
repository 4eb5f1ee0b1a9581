"""Masked logits: a logit of -inf whose target probability is 0 contributes 0, in value
and gradient, to every softmax-based loss (probability-target ``cross_entropy`` and
``poly1_cross_entropy``, ``focal_loss``, ``cross_entropy`` with class indices), and to
``kl_div`` where the input log-probability is -inf under a target of 0; rows of all
-inf logits included. A target probability > 0 on a -inf logit gives +inf.

The references are NumPy formulas written here over the finite logits only; the
comparison with ``optax.losses.safe_softmax_cross_entropy`` is a parity test (optax
is a peer).
"""

from __future__ import annotations

import numpy as np
import pytest

import polyloss

INF = np.inf

# rows: partly masked; all -inf with an all-zero target (a padded row); one logit left;
# unmasked; masked with a soft target on the rest
X = np.array([
    [1.0, -INF, 0.5, 0.2],
    [-INF, -INF, -INF, -INF],
    [2.0, -INF, -INF, -INF],
    [0.3, 0.1, -0.2, 1.0],
    [-INF, -1.5, 0.7, -INF],
])
Y = np.array([
    [0.3, 0.0, 0.7, 0.0],
    [0.0, 0.0, 0.0, 0.0],
    [1.0, 0.0, 0.0, 0.0],
    [0.1, 0.2, 0.3, 0.4],
    [0.0, 0.25, 0.75, 0.0],
])
WEIGHT = [0.5, 2.0, 1.0, 1.5]


def _softmax_parts(x):
    """Softmax over the finite logits of each row: probabilities, log-probabilities
    (-inf at masked logits) and which rows are not all -inf."""
    finite = np.isfinite(x)
    m = np.max(np.where(finite, x, -INF), axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.where(finite, np.exp(np.where(finite, x, 0.0) - m), 0.0)
    s = e.sum(-1, keepdims=True)
    live = s > 0
    p = e / np.where(live, s, 1.0)
    with np.errstate(divide="ignore"):
        logp = np.where(finite, x - m - np.log(np.where(live, s, 1.0)), -INF)
    return p, logp, live


def _reference(x, y, *, weight=None, epsilon=None):
    """Per-row loss and the gradient of its sum: -sum_c a_c log p_c (+ eps sum_c a_c (1 - p_c)),
    ``a = y w``, with 0 log 0 = 0."""
    a = y if weight is None else y * np.asarray(weight)
    p, logp, live = _softmax_parts(x)
    loss = -np.where(a == 0, 0.0, a * np.where(a == 0, 0.0, logp)).sum(-1)
    grad = p * a.sum(-1, keepdims=True) - a
    if epsilon is not None:
        loss = loss + epsilon * (a * (1.0 - p)).sum(-1)
        grad = grad + epsilon * (p * (a * p).sum(-1, keepdims=True) - a * p)
    return loss, np.where(live, grad, 0.0)


def _reduce(loss, grad, reduction):
    if reduction == "none":
        return loss, grad  # the gradient of sum(loss)
    if reduction == "sum":
        return loss.sum(), grad
    return loss.mean(), grad / loss.shape[0]


LOSSES = {
    "cross_entropy": (lambda x, y, **kw: polyloss.cross_entropy(x, y, **kw), None),
    "poly1_cross_entropy": (lambda x, y, **kw: polyloss.poly1_cross_entropy(x, y, epsilon=2.0, **kw), 2.0),
}


def _total(v):
    return v if v.ndim == 0 else v.sum()


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weight"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_probability_targets(backend, name, weighted, reduction):
    fn, epsilon = LOSSES[name]
    weight = WEIGHT if weighted else None
    loss, grad = _reduce(*_reference(X, Y, weight=weight, epsilon=epsilon), reduction)
    y = backend.asarray(Y)
    got = fn(backend.asarray(X), y, weight=weight, reduction=reduction)
    np.testing.assert_allclose(backend.to_numpy(got), loss, rtol=backend.rtol, atol=backend.atol)
    assert np.all(np.isfinite(backend.to_numpy(got)))
    if backend.has_grad:
        _, g = backend.value_and_grad(lambda a: _total(fn(a, y, weight=weight, reduction=reduction)), X)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, grad, rtol=backend.rtol, atol=backend.atol)
        assert not g[1].any() and not g[0, 1] and not g[2, 1:].any()


def test_channel_last_and_spatial(backend):
    """(N, d, C) with axis=-1: the masked logits of every position."""
    x = np.stack([X, X[::-1]], axis=1)  # (5, 2, 4)
    y = np.stack([Y, Y[::-1]], axis=1)
    loss, grad = _reference(x, y)
    got = polyloss.cross_entropy(backend.asarray(x), backend.asarray(y), axis=-1, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), loss, rtol=backend.rtol, atol=backend.atol)
    if backend.has_grad:
        ys = backend.asarray(y)
        _, g = backend.value_and_grad(lambda a: polyloss.cross_entropy(a, ys, axis=-1, reduction="sum"), x)
        np.testing.assert_allclose(g, grad, rtol=backend.rtol, atol=backend.atol)


def test_target_mass_on_a_masked_logit_is_infinite(backend):
    x = backend.asarray(X[:1])
    y = backend.asarray(np.array([[0.5, 0.5, 0.0, 0.0]]))
    assert backend.to_numpy(polyloss.cross_entropy(x, y)) == INF
    # label smoothing puts probability on every class, the masked ones too
    smoothed = polyloss.cross_entropy(x, backend.asarray(Y[:1]), label_smoothing=0.1)
    assert backend.to_numpy(smoothed) == INF
    all_masked = polyloss.cross_entropy(backend.asarray(X[1:2]), backend.asarray(Y[:1]))
    assert backend.to_numpy(all_masked) == INF


def test_zero_weight_on_a_masked_class_with_smoothing(backend):
    """A class of weight 0 adds nothing, even under label smoothing, also when masked."""
    w = [1.0, 0.0, 1.0, 1.0]
    x, y = X[[0, 3]], Y[[0, 3]]
    a = (y * 0.9 + 0.1 / 4) * np.asarray(w)
    want = -np.where(a == 0, 0.0, a * np.where(a == 0, 0.0, _softmax_parts(x)[1])).sum(-1)
    got = polyloss.cross_entropy(backend.asarray(x), backend.asarray(y), weight=w, label_smoothing=0.1,
                                 reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=backend.rtol, atol=backend.atol)
    if backend.has_grad:
        ys = backend.asarray(y)
        _, g = backend.value_and_grad(
            lambda v: polyloss.cross_entropy(v, ys, weight=w, label_smoothing=0.1), x)
        assert np.all(np.isfinite(g)) and g[0, 1] == 0.0
    if backend.library == "torch" and "cross_entropy" in REGISTRY_NATIVE_TORCH:
        return  # class-index targets: torch's kernel gives NaN for 0 * -log(0), as torch
    labels = np.array([0, 3])
    want_i = -np.where(np.asarray(w) == 0, 0.0, np.where(np.asarray(w) == 0, 0.0, _softmax_parts(x)[1])
                       * np.asarray(w))
    want_i = 0.9 * want_i[np.arange(2), labels] + 0.1 / 4 * want_i.sum(-1)
    got_i = polyloss.cross_entropy(backend.asarray(x), backend.asarray(labels), weight=w, label_smoothing=0.1,
                                   reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got_i), want_i, rtol=backend.rtol, atol=backend.atol)


# --------------------------------------------------------------------------
# class-index targets: masked logits of the other classes, ignored padded rows
# --------------------------------------------------------------------------

LABELS = np.array([2, -100, 0, 3, 1])  # row 1 (all -inf) is ignored
REGISTRY_NATIVE_TORCH = {name for name, info in polyloss.REGISTRY.items() if "torch" in info.natives}


def _focal_reference(x, labels, gamma):
    _, logp, _ = _softmax_parts(x)
    keep = labels != -100
    rows = np.arange(len(labels))
    lp = np.where(keep, logp[rows, np.where(keep, labels, 0)], 0.0)
    return np.where(keep, -((1.0 - np.exp(lp)) ** gamma) * lp, 0.0), keep


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_loss(backend, gamma):
    want, keep = _focal_reference(X, LABELS, gamma)
    t = backend.asarray(LABELS)
    got = polyloss.focal_loss(backend.asarray(X), t, gamma=gamma, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=backend.rtol, atol=backend.atol)
    mean = polyloss.focal_loss(backend.asarray(X), t, gamma=gamma)
    np.testing.assert_allclose(backend.to_numpy(mean), want.sum() / keep.sum(), rtol=backend.rtol,
                               atol=backend.atol)
    if backend.has_grad:
        _, g = backend.value_and_grad(lambda a: polyloss.focal_loss(a, t, gamma=gamma), X)
        assert np.all(np.isfinite(g))
        assert not g[1].any() and not g[0, 1] and not g[2, 1:].any() and not g[4, [0, 3]].any()


@pytest.mark.parametrize("name", ["cross_entropy", "poly1_cross_entropy"])
def test_class_index_targets(backend, name):
    fn = getattr(polyloss, name)
    _, logp, _ = _softmax_parts(X)
    keep = LABELS != -100
    nll = np.where(keep, -logp[np.arange(5), np.where(keep, LABELS, 0)], 0.0)
    want = nll if name == "cross_entropy" else np.where(keep, nll + (1.0 - np.exp(-nll)), 0.0)
    t = backend.asarray(LABELS)
    got = fn(backend.asarray(X), t, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=backend.rtol, atol=backend.atol)
    if backend.has_grad:
        # without the ignored padded row: finite on every backend (torch's kernel included)
        rows = [0, 2, 3, 4]
        t4 = backend.asarray(LABELS[rows])
        _, g = backend.value_and_grad(lambda a: fn(a, t4), X[rows])
        assert np.all(np.isfinite(g)) and not g[0, 1] and not g[1, 1:].any()
        if not (backend.library == "torch" and name in REGISTRY_NATIVE_TORCH):
            # the padded, ignored row: 0 with a zero gradient (torch's kernel gives NaN, as torch)
            _, g = backend.value_and_grad(lambda a: fn(a, t), X)
            assert np.all(np.isfinite(g)) and not g[1].any()


# --------------------------------------------------------------------------
# kl_div: log-probabilities of -inf under a target of 0
# --------------------------------------------------------------------------


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(backend, log_target):
    _, logq, _ = _softmax_parts(X[[0, 2, 3, 4]])
    p = Y[[0, 2, 3, 4]]
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    terms = np.where(p > 0, p * (np.where(p > 0, logp, 0.0) - np.where(p > 0, logq, 0.0)), 0.0)
    target = logp if log_target else p
    t = backend.asarray(target)
    got = polyloss.kl_div(backend.asarray(logq), t, log_target=log_target, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), terms, rtol=backend.rtol, atol=backend.atol)
    if backend.has_grad:
        _, g = backend.value_and_grad(lambda a: polyloss.kl_div(a, t, log_target=log_target, reduction="sum"),
                                      logq)
        np.testing.assert_allclose(g, -p, rtol=backend.rtol, atol=backend.atol)
    # an input of -inf under a target > 0 is +inf
    bad = polyloss.kl_div(backend.asarray(np.array([-INF, 0.0])), backend.asarray(
        np.log(np.array([0.5, 0.5])) if log_target else np.array([0.5, 0.5])), log_target=log_target,
        reduction="sum")
    assert backend.to_numpy(bad) == INF


# --------------------------------------------------------------------------
# under jax.jit and torch.compile
# --------------------------------------------------------------------------


def test_jax_jit(backend):
    if backend.library != "jax":
        pytest.skip("jax only")
    import jax

    y = backend.asarray(Y)
    loss, grad = _reduce(*_reference(X, Y), "mean")
    fn = jax.jit(jax.value_and_grad(lambda a: polyloss.cross_entropy(a, y)))
    v, g = fn(backend.asarray(X))
    np.testing.assert_allclose(np.asarray(v), loss, rtol=backend.rtol, atol=backend.atol)
    np.testing.assert_allclose(np.asarray(g), grad, rtol=backend.rtol, atol=backend.atol)
    per = jax.vmap(lambda a, b: polyloss.cross_entropy(a, b, axis=0))(backend.asarray(X), y)
    np.testing.assert_allclose(np.asarray(per), _reference(X, Y)[0], rtol=backend.rtol, atol=backend.atol)


@pytest.mark.slow
def test_torch_compile(backend):
    if backend.library != "torch":
        pytest.skip("torch only")
    import torch

    y = backend.asarray(Y)
    fn = torch.compile(lambda a: polyloss.poly1_cross_entropy(a, y, reduction="sum"), fullgraph=True)
    x = backend.asarray(X).requires_grad_(True)
    v = fn(x)
    (g,) = torch.autograd.grad(v, x)
    loss, grad = _reference(X, Y, epsilon=1.0)
    np.testing.assert_allclose(backend.to_numpy(v), loss.sum(), rtol=backend.rtol, atol=backend.atol)
    np.testing.assert_allclose(backend.to_numpy(g), grad, rtol=backend.rtol, atol=backend.atol)


# --------------------------------------------------------------------------
# parity: optax.losses.safe_softmax_cross_entropy
# --------------------------------------------------------------------------


@pytest.mark.parity
def test_matches_optax_safe_softmax_cross_entropy(backend):
    """Values on every backend; gradients with JAX. optax's gradient of a row of all -inf
    logits is NaN; polyloss' is 0."""
    import jax
    import jax.numpy as jnp
    import optax

    xj, yj = jnp.asarray(X), jnp.asarray(Y)  # float32 when JAX runs without x64
    want = np.asarray(optax.losses.safe_softmax_cross_entropy(xj, yj))
    want_grad = np.asarray(jax.grad(lambda a: optax.losses.safe_softmax_cross_entropy(a, yj).sum())(xj))
    rtol, atol = (backend.rtol, backend.atol) if want.dtype == np.float64 else (1e-5, 1e-6)
    got = polyloss.cross_entropy(backend.asarray(X), backend.asarray(Y), axis=-1, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=rtol, atol=atol)
    if backend.library == "jax":
        y = backend.asarray(Y)
        _, g = backend.value_and_grad(lambda a: polyloss.cross_entropy(a, y, axis=-1, reduction="sum"), X)
        live = np.isfinite(want_grad).all(axis=-1)
        assert not live[1]  # optax: NaN for the all -inf row
        np.testing.assert_allclose(g[live], want_grad[live], rtol=rtol, atol=atol)
        assert not g[1].any()
