"""Composite loss objects: ``a + b``, ``c * a``, ``a * c`` on loss objects.

The value of a composite is checked against the weighted sum of its parts' functions
on every backend, with gradients under torch and JAX; the construction rules
(flattening, coefficients, arity), its repr, equality, hash and pickling, and its use
as a torch criterion and under ``jax.jit`` (closed over and as a static argument).
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import polyloss
from polyloss._objects import CompositeLoss

N, C, H, W = 2, 3, 4, 3

DICE = polyloss.DiceLoss(axis=1, activation="softmax", smooth_nr=1e-5, smooth_dr=1e-5)
CE = polyloss.CrossEntropyLoss()
FOCAL = polyloss.FocalLoss(gamma=1.5)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, C, H, W)) * 2.0
    labels = rng.integers(0, C, size=(N, H, W))
    return x, labels


# --------------------------------------------------------------------------
# construction
# --------------------------------------------------------------------------


def test_operators_build_flat_weighted_terms():
    a, b, c = DICE, CE, FOCAL
    s = a + b
    assert isinstance(s, CompositeLoss) and isinstance(s, polyloss.LossObject)
    assert s.terms == ((1, a), (1, b))
    assert ((a + b) + c).terms == (a + (b + c)).terms == ((1, a), (1, b), (1, c))
    assert (0.5 * a).terms == (a * 0.5).terms == ((0.5, a),)
    # a coefficient distributes over a sum: the expression stays flat
    assert (2 * (a + 0.25 * b)).terms == ((2, a), (0.5, b))
    assert (3 * (2 * a)).terms == ((6, a),)
    assert (a + a).terms == ((1, a), (1, a))  # terms are not merged
    # sum() of loss objects: 0 + loss is the loss
    assert sum([a, b, c]) == a + b + c
    assert 0 + a is a
    assert all(not isinstance(part, CompositeLoss) for _, part in (2 * (a + b) + (c + a)).terms)


def test_constructor_takes_terms():
    assert CompositeLoss([(1, DICE), (0.5, CE)]) == DICE + 0.5 * CE
    assert CompositeLoss([(2, DICE + CE)]) == 2 * DICE + 2 * CE
    with pytest.raises(ValueError, match="at least one term"):
        CompositeLoss([])
    with pytest.raises(TypeError, match="coefficient"):
        CompositeLoss([("1", DICE)])
    with pytest.raises(TypeError, match="loss object"):
        CompositeLoss([(1.0, polyloss.dice_loss)])
    with pytest.raises(TypeError, match="pair"):
        CompositeLoss([DICE])


@pytest.mark.parametrize("bad", ["2", None, True, 1j, [1.0], (2,), np.ones(2), DICE.__call__])
def test_non_numbers_do_not_multiply(bad):
    with pytest.raises(TypeError):
        DICE * bad
    with pytest.raises(TypeError):
        bad * DICE


@pytest.mark.parametrize("bad", [1, 0.5, "a", None, np.ones(2), polyloss.dice_loss])
def test_only_loss_objects_add(bad):
    with pytest.raises(TypeError):
        DICE + bad
    with pytest.raises(TypeError):
        bad + DICE


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_coefficients_are_value_errors(bad):
    with pytest.raises(ValueError, match="coefficient"):
        DICE * bad
    with pytest.raises(ValueError, match="coefficient"):
        bad * (DICE + CE)


def test_parts_must_take_the_same_arrays():
    with pytest.raises(TypeError, match="same number of positional arrays") as info:
        polyloss.MSELoss() + polyloss.GaussianNLLLoss()
    assert "GaussianNLLLoss(input, target, var)" in str(info.value)
    assert (DICE + CE).arguments == ("input", "target")
    with pytest.raises(TypeError, match="takes 2 positional arrays"):
        (DICE + CE)(np.zeros((N, C, H, W)))


def test_repr_shows_the_expression():
    s = DICE + 0.5 * CE
    assert repr(s) == f"{DICE!r} + 0.5 * {CE!r}"
    assert repr(2 * DICE) == f"2 * {DICE!r}"
    assert repr(1 * DICE) == f"1 * {DICE!r}"  # a composite of one term shows its coefficient
    assert repr(DICE + (-0.25) * CE + 3 * FOCAL) == f"{DICE!r} - 0.25 * {CE!r} + 3 * {FOCAL!r}"
    assert repr(-2 * DICE + CE) == f"-2 * {DICE!r} + {CE!r}"
    assert "DiceLoss(axis=1, activation='softmax'" in repr(s)


def test_immutable_hashable_equal_by_terms_picklable():
    s = DICE + 0.5 * CE
    t = polyloss.DiceLoss(axis=1, activation="softmax", smooth_nr=1e-5, smooth_dr=1e-5) + polyloss.CrossEntropyLoss() * 0.5
    assert s == t and hash(s) == hash(t)
    assert s != CE + 0.5 * DICE  # ordered terms
    assert s != DICE + CE and s != DICE
    assert len({s, t, DICE + CE}) == 2
    assert 1 * DICE != DICE
    for clone in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
        assert clone == s and hash(clone) == hash(s)
    with pytest.raises(AttributeError):
        s.terms = ()
    with pytest.raises(AttributeError):
        s.reduction = "sum"
    with pytest.raises(AttributeError):
        del s.terms
    with pytest.raises(AttributeError, match="terms"):
        _ = s.smooth_nr


# --------------------------------------------------------------------------
# values and gradients on every backend
# --------------------------------------------------------------------------

COMPOSITES = {
    "dice+ce": (DICE + CE, lambda x, t: polyloss.dice_loss(x, t, axis=1, activation="softmax", smooth_nr=1e-5,
                                                           smooth_dr=1e-5) + polyloss.cross_entropy(x, t)),
    "weighted": (0.3 * DICE + 2 * CE + FOCAL * 0.5,
                 lambda x, t: 0.3 * polyloss.dice_loss(x, t, axis=1, activation="softmax", smooth_nr=1e-5,
                                                       smooth_dr=1e-5)
                 + 2 * polyloss.cross_entropy(x, t) + 0.5 * polyloss.focal_loss(x, t, gamma=1.5)),
    "sums": (polyloss.CrossEntropyLoss(reduction="sum") + (-1.5) * polyloss.FocalLoss(reduction="sum"),
             lambda x, t: polyloss.cross_entropy(x, t, reduction="sum")
             - 1.5 * polyloss.focal_loss(x, t, reduction="sum")),
    "none": (polyloss.CrossEntropyLoss(reduction="none") + polyloss.FocalLoss(reduction="none", gamma=0.5),
             lambda x, t: polyloss.cross_entropy(x, t, reduction="none")
             + polyloss.focal_loss(x, t, reduction="none", gamma=0.5)),
}


@pytest.mark.parametrize("name", list(COMPOSITES))
def test_value_is_the_weighted_sum(backend, name):
    composite, reference = COMPOSITES[name]
    x, labels = _data(1)
    xs, ts = backend.asarray(x), backend.asarray(labels)
    got = composite(xs, ts)
    want = reference(x, labels)  # float64 NumPy
    assert got.dtype == xs.dtype
    assert type(got) is type(composite.terms[0][1](xs, ts))  # NumPy: a scalar, as each part
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=backend.rtol, atol=backend.atol)
    if backend.has_grad:
        value, grad = backend.value_and_grad(lambda a: _scalar(composite(a, ts)), x)
        value_ref, grad_ref = backend.value_and_grad(lambda a: _scalar(reference(a, ts)), x)
        np.testing.assert_allclose(value, value_ref, rtol=backend.rtol, atol=backend.atol)
        np.testing.assert_allclose(grad, grad_ref, rtol=backend.rtol, atol=backend.atol)
        assert np.all(np.isfinite(grad))


def _scalar(v):
    return v if v.ndim == 0 else (v * v).sum()


def test_parts_of_different_shapes_do_not_add(backend):
    x, labels = _data(2)
    bad = polyloss.DiceLoss(axis=1, reduction="none", activation="softmax") + polyloss.CrossEntropyLoss(reduction="none")
    with pytest.raises(ValueError, match=r"different shapes: \(2, 3\) from DiceLoss and \(2, 4, 3\) from CrossEntropyLoss"):
        bad(backend.asarray(x), backend.asarray(labels))


# --------------------------------------------------------------------------
# torch criterion, jax.jit
# --------------------------------------------------------------------------


def test_torch_criterion(backend):
    if backend.library != "torch":
        pytest.skip("torch only")
    import torch

    x, labels = _data(3)
    model = torch.nn.Conv2d(C, C, 1).to(torch.float64)
    criterion = DICE + 0.5 * CE
    inputs = torch.as_tensor(x)
    loss = criterion(model(inputs), torch.as_tensor(labels))
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0 and loss.requires_grad
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.slow
def test_torch_compile_fullgraph(backend):
    if backend.library != "torch":
        pytest.skip("torch only")
    import torch

    x, labels = _data(4)
    criterion = DICE + 0.5 * CE
    xs, ts = backend.asarray(x), backend.asarray(labels)
    compiled = torch.compile(lambda a, b: criterion(a, b), fullgraph=True, backend="aot_eager")
    np.testing.assert_allclose(backend.to_numpy(compiled(xs, ts)), backend.to_numpy(criterion(xs, ts)),
                               rtol=backend.rtol, atol=backend.atol)


def test_jax_jit_closed_over_and_static(backend):
    if backend.library != "jax":
        pytest.skip("jax only")
    import jax

    x, labels = _data(5)
    criterion = 0.7 * DICE + CE
    xs, ts = backend.asarray(x), backend.asarray(labels)
    want = backend.to_numpy(criterion(xs, ts))
    closed = jax.jit(lambda a, b: criterion(a, b))
    static = jax.jit(lambda c, a, b: c(a, b), static_argnums=0)
    np.testing.assert_allclose(backend.to_numpy(closed(xs, ts)), want, rtol=backend.rtol, atol=backend.atol)
    np.testing.assert_allclose(backend.to_numpy(static(criterion, xs, ts)), want, rtol=backend.rtol,
                               atol=backend.atol)
    # an equal composite made anew hits the same compiled function
    np.testing.assert_allclose(backend.to_numpy(static(0.7 * DICE + CE, xs, ts)), want, rtol=backend.rtol,
                               atol=backend.atol)
    grad = jax.jit(jax.grad(lambda a: criterion(a, ts)))(xs)
    assert np.all(np.isfinite(np.asarray(grad)))
