"""Margin losses on the backend matrix: formulas against independent float64 NumPy,
Keras' 0/1 target conversion, errors, kinks and saturation (finite values and
gradients), jit/vmap, torch.compile and hypothesis properties. Peers (torch, optax,
Keras) are in tests/parity/test_margin_parity.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import polyloss

HAS_JAX = importlib.util.find_spec("jax") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None
REDUCTIONS = ("none", "mean", "sum")


# --------------------------------------------------------------------------
# independent NumPy references
# --------------------------------------------------------------------------


def _sign(y):
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


def np_hinge(x, y):
    return np.maximum(0.0, 1.0 - _sign(y) * x)


def np_squared_hinge(x, y):
    return np.maximum(0.0, 1.0 - _sign(y) * x) ** 2


def np_perceptron(x, y):
    return np.maximum(0.0, -y * x)


def np_soft_margin(x, y):
    return np.log1p(np.exp(-y * x))


def np_hinge_embedding(x, y, margin=1.0):
    return np.where(y == 1, x, np.maximum(0.0, margin - x))


def np_categorical_hinge(x, t, axis=1):
    x, t = np.moveaxis(x, axis, -1), np.moveaxis(t, axis, -1)
    return np.maximum(0.0, ((1 - t) * x).max(-1) - (t * x).sum(-1) + 1.0)


def np_multi_margin(x, t, p=1, margin=1.0, weight=None, axis=1):
    x = np.moveaxis(x, axis, -1)
    c = x.shape[-1]
    out = np.zeros(t.shape)
    for i in np.ndindex(t.shape):
        row, y = x[i], t[i]
        total = sum(max(0.0, margin - row[y] + row[k]) ** p for k in range(c) if k != y) / c
        out[i] = total * (1.0 if weight is None else weight[y])
    return out


def np_multiclass_hinge(x, t, axis=1):
    x = np.moveaxis(x, axis, -1)
    out = np.zeros(t.shape)
    for i in np.ndindex(t.shape):
        row, y = x[i], t[i]
        out[i] = max(row[k] + (k != y) for k in range(row.shape[0])) - row[y]
    return out


def np_multiclass_perceptron(x, t, axis=1):
    x = np.moveaxis(x, axis, -1)
    return x.max(-1) - np.take_along_axis(x, t[..., None], -1)[..., 0]


def np_multilabel_margin(x, t):
    c = x.shape[-1]
    out = np.zeros(x.shape[:-1])
    for i in np.ndindex(x.shape[:-1]):
        row, entries = x[i], t[i]
        labels = []
        for v in entries:
            if v < 0:
                break
            labels.append(int(v))
        out[i] = sum(max(0.0, 1.0 - row[j] + row[k]) for j in labels for k in range(c) if k not in labels) / c
    return out


def np_multilabel_soft_margin(x, y, weight=None):
    sig = 1.0 / (1.0 + np.exp(-x))
    loss = -(y * np.log(sig) + (1 - y) * np.log(1 - sig))
    if weight is not None:
        loss = loss * weight
    return loss.mean(-1)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

_RNG_SEED = 7


def _scores(shape, seed=_RNG_SEED, scale=2.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


def _pm1(shape, seed=_RNG_SEED + 1):
    return np.where(np.random.default_rng(seed).uniform(size=shape) < 0.5, -1.0, 1.0)


def _01(shape, seed=_RNG_SEED + 2):
    return (np.random.default_rng(seed).uniform(size=shape) < 0.5).astype(np.float64)


def _indices(shape, c, seed=_RNG_SEED + 3):
    return np.random.default_rng(seed).integers(0, c, size=shape)


def _label_lists(n, c, seed=_RNG_SEED + 4):
    """(n, c) label lists padded with -1, some with a repeated label and entries
    after the first -1."""
    rng = np.random.default_rng(seed)
    t = np.full((n, c), -1, dtype=np.int64)
    for i in range(n):
        k = i % (c + 1)
        t[i, :k] = rng.permutation(c)[:k]
        if k + 1 < c:
            t[i, k + 1:] = rng.integers(-1, c, size=c - k - 1)  # never read
    t[1, :3] = [2, 2, -1]  # a repeated label counts twice (torch)
    return t


# name -> (polyloss function, NumPy reference, arrays, options)
CASES = {
    "hinge_pm1": (polyloss.hinge_loss, np_hinge, lambda: (_scores((4, 5)), _pm1((4, 5))), {}),
    "hinge_01": (polyloss.hinge_loss, np_hinge, lambda: (_scores((4, 5)), _01((4, 5))), {}),
    "squared_hinge_01": (polyloss.squared_hinge_loss, np_squared_hinge, lambda: (_scores((3, 4)), _01((3, 4))), {}),
    "squared_hinge_pm1": (polyloss.squared_hinge_loss, np_squared_hinge, lambda: (_scores((3, 4)), _pm1((3, 4))),
                          {}),
    "perceptron": (polyloss.perceptron_loss, np_perceptron, lambda: (_scores((4, 5)), _pm1((4, 5))), {}),
    "soft_margin": (polyloss.soft_margin_loss, np_soft_margin, lambda: (_scores((4, 5)), _pm1((4, 5))), {}),
    "hinge_embedding": (polyloss.hinge_embedding_loss, np_hinge_embedding,
                        lambda: (np.abs(_scores((4, 5))), _pm1((4, 5))), {"margin": 1.5}),
    "categorical_hinge": (polyloss.categorical_hinge_loss, np_categorical_hinge,
                          lambda: (_scores((3, 4, 2)), np.moveaxis(np.eye(4)[_indices((3, 2), 4)], -1, 1)), {}),
    "categorical_hinge_last": (polyloss.categorical_hinge_loss, np_categorical_hinge,
                               lambda: (_scores((5, 4)), np.eye(4)[_indices(5, 4)]), {"axis": -1}),
    "multi_margin": (polyloss.multi_margin_loss, np_multi_margin,
                     lambda: (_scores((3, 4, 2)), _indices((3, 2), 4)),
                     {"p": 2, "margin": 0.7, "weight": [0.5, 1.0, 2.0, 1.5]}),
    "multi_margin_last": (polyloss.multi_margin_loss, np_multi_margin,
                          lambda: (_scores((2, 3, 5)), _indices((2, 3), 5)), {"axis": -1}),
    "multiclass_hinge": (polyloss.multiclass_hinge_loss, np_multiclass_hinge,
                         lambda: (_scores((3, 4, 2), scale=0.5), _indices((3, 2), 4)), {}),
    "multiclass_perceptron": (polyloss.multiclass_perceptron_loss, np_multiclass_perceptron,
                              lambda: (_scores((3, 2, 4)), _indices((3, 2), 4)), {"axis": 2}),
    "multilabel_margin": (polyloss.multilabel_margin_loss, np_multilabel_margin,
                          lambda: (_scores((6, 5), scale=0.5), _label_lists(6, 5)), {}),
    "multilabel_soft_margin": (polyloss.multilabel_soft_margin_loss, np_multilabel_soft_margin,
                               lambda: (_scores((4, 3)), _01((4, 3))), {"weight": [0.5, 1.0, 2.0]}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_formula_matches_numpy(backend, case):
    fn, reference, make, options = CASES[case]
    x, t = make()
    per = reference(x, t, **options)
    xs, ts = backend.asarray(x), backend.asarray(t)
    tol = dict(rtol=backend.rtol * 10, atol=backend.atol)
    for reduction, want in (("none", per), ("mean", per.mean()), ("sum", per.sum())):
        out = fn(xs, ts, **options, reduction=reduction)
        assert out.dtype == xs.dtype
        np.testing.assert_allclose(backend.to_numpy(out), want, err_msg=reduction, **tol)


def test_unbatched_class_inputs(backend):
    """(C,) inputs with a 0-d class index (or a (C,) one-hot / label list), as torch."""
    x = _scores(5)
    xs = backend.asarray(x)
    y = np.asarray(3)
    tol = dict(rtol=backend.rtol * 10, atol=backend.atol)
    for fn, ref in ((polyloss.multi_margin_loss, np_multi_margin),
                    (polyloss.multiclass_hinge_loss, np_multiclass_hinge),
                    (polyloss.multiclass_perceptron_loss, np_multiclass_perceptron)):
        want = ref(x[None], y[None], axis=1)[0]
        np.testing.assert_allclose(backend.to_numpy(fn(xs, backend.asarray(y))), want, **tol)
    onehot = np.eye(5)[3]
    np.testing.assert_allclose(backend.to_numpy(polyloss.categorical_hinge_loss(xs, backend.asarray(onehot))),
                               np_categorical_hinge(x[None], onehot[None])[0], **tol)
    labels = np.array([3, 1, -1, 0, 0])
    np.testing.assert_allclose(backend.to_numpy(polyloss.multilabel_margin_loss(xs, backend.asarray(labels))),
                               np_multilabel_margin(x[None], labels[None])[0], **tol)


def test_keras_binary_label_conversion(backend):
    """0/1 targets are converted to ±1 when every target is 0 or 1 (Keras' rule); a
    target mixing -1, 0 and 1 is used as it is."""
    x = np.array([[0.5, -2.0, 0.25], [1.5, 0.0, -0.5]])
    xs = backend.asarray(x)
    y01 = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    for fn in (polyloss.hinge_loss, polyloss.squared_hinge_loss):
        converted = fn(xs, backend.asarray(y01), reduction="none")
        as_pm1 = fn(xs, backend.asarray(2 * y01 - 1), reduction="none")
        np.testing.assert_array_equal(backend.to_numpy(converted), backend.to_numpy(as_pm1))
    mixed = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
    out = backend.to_numpy(polyloss.hinge_loss(xs, backend.asarray(mixed), reduction="none"))
    np.testing.assert_allclose(out, np.maximum(0.0, 1.0 - mixed * x), rtol=backend.rtol)
    assert np.all(out[mixed == 0] == 1.0)
    ones = np.ones_like(x)  # all 1: binary, and 2*1 - 1 = 1
    np.testing.assert_allclose(backend.to_numpy(polyloss.hinge_loss(xs, backend.asarray(ones), reduction="none")),
                               np.maximum(0.0, 1.0 - x), rtol=backend.rtol)
    # integer targets are cast to the input's dtype first
    got = polyloss.hinge_loss(xs, backend.asarray(y01.astype(np.int64)))
    assert got.dtype == xs.dtype
    np.testing.assert_allclose(backend.to_numpy(got), np_hinge(x, y01).mean(), rtol=backend.rtol)


def test_hinge_embedding_non_sign_target_gives_both_terms(backend):
    """As torch: [y != 1] max(0, margin - x) + [y != -1] x."""
    x, y = np.array([0.3, 0.3, 0.3, 2.0]), np.array([1.0, -1.0, 0.0, 0.5])
    out = polyloss.hinge_embedding_loss(backend.asarray(x), backend.asarray(y), reduction="none")
    np.testing.assert_allclose(backend.to_numpy(out), [0.3, 0.7, 1.0, 2.0], rtol=backend.rtol)


def test_multilabel_margin_repeated_and_trailing_entries(backend):
    x = np.array([[0.5, 0.25, 1.0, 2.0]] * 4)
    t = np.array([[3, 0, -1, 1], [3, 3, -1, 1], [-1, 3, 0, 1], [1, 2, 3, 0]])
    out = backend.to_numpy(polyloss.multilabel_margin_loss(backend.asarray(x), backend.asarray(t),
                                                           reduction="none"))
    np.testing.assert_allclose(out, np_multilabel_margin(x, t), rtol=backend.rtol)
    assert out[2] == 0.0 and out[3] == 0.0  # no label; every class a label


# --------------------------------------------------------------------------
# errors (SPEC §4)
# --------------------------------------------------------------------------

CLASS_INDEXED = [polyloss.multi_margin_loss, polyloss.multiclass_hinge_loss, polyloss.multiclass_perceptron_loss]
BINARY = [polyloss.hinge_loss, polyloss.squared_hinge_loss, polyloss.perceptron_loss, polyloss.soft_margin_loss,
          polyloss.hinge_embedding_loss, polyloss.multilabel_soft_margin_loss, polyloss.categorical_hinge_loss]


@pytest.mark.parametrize("fn", CLASS_INDEXED, ids=lambda f: f.__name__)
def test_class_index_errors(backend, fn):
    x, t = _scores((2, 3, 4)), _indices((2, 4), 3)
    xs, ts = backend.asarray(x), backend.asarray(t)
    bad = t.copy()
    bad[1, 2] = 3
    if backend.library == "dask":  # lazy: NaN, never a finite number
        assert np.isnan(backend.to_numpy(fn(xs, backend.asarray(bad))))
        assert np.isnan(backend.to_numpy(fn(xs, backend.asarray(bad), reduction="none"))[1, 2])
    else:
        with pytest.raises(ValueError, match=r"class index 3\b.*\[0, 3\)"):
            fn(xs, backend.asarray(bad))
        bad[1, 2] = -2
        with pytest.raises(ValueError, match="-2"):
            fn(xs, backend.asarray(bad))
    with pytest.raises(TypeError, match="integer"):
        fn(xs, backend.asarray(t.astype(np.float64)))
    with pytest.raises(TypeError, match="floating"):
        fn(backend.asarray(t), ts)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(2, 3\)"):
        fn(xs, backend.asarray(t[:, :3]))
    with pytest.raises(ValueError, match=r"reduction.*'mean'"):
        fn(xs, ts, reduction="avg")
    with pytest.raises(ValueError, match="axis"):
        fn(xs, ts, axis=3)
    with pytest.raises(ValueError, match="empty"):
        fn(backend.asarray(np.zeros((0, 3))), backend.asarray(np.zeros((0,), dtype=np.int64)))
    with pytest.raises(TypeError, match="target"):
        fn(xs, [[0, 1, 2, 0], [1, 1, 1, 1]])


def test_multi_margin_option_errors(backend):
    xs, ts = backend.asarray(_scores((2, 3))), backend.asarray(np.array([0, 2]))
    with pytest.raises(ValueError, match="p must be one of 1, 2"):
        polyloss.multi_margin_loss(xs, ts, p=3)
    with pytest.raises(TypeError, match="p must be a real number"):
        polyloss.multi_margin_loss(xs, ts, p=True)
    with pytest.raises(ValueError, match="margin"):
        polyloss.multi_margin_loss(xs, ts, margin=float("nan"))
    with pytest.raises(TypeError, match="margin"):
        polyloss.multi_margin_loss(xs, ts, margin="1")
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        polyloss.multi_margin_loss(xs, ts, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="margin"):
        polyloss.hinge_embedding_loss(xs, xs, margin=float("inf"))


def test_multilabel_margin_errors(backend):
    x = _scores((2, 4))
    xs = backend.asarray(x)
    for value in (4, 7, -2):
        t = np.array([[0, 1, -1, value], [2, -1, 0, 0]])  # after the first -1, but still refused (torch)
        if backend.library == "dask":
            out = backend.to_numpy(polyloss.multilabel_margin_loss(xs, backend.asarray(t), reduction="none"))
            assert np.isnan(out[0]) and np.isfinite(out[1])
        else:
            with pytest.raises(ValueError, match=f"class index {value}.*-1"):
                polyloss.multilabel_margin_loss(xs, backend.asarray(t))
    with pytest.raises(TypeError, match="integer"):
        polyloss.multilabel_margin_loss(xs, xs)
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(2, 3\)"):
        polyloss.multilabel_margin_loss(xs, backend.asarray(np.zeros((2, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match="class axis"):
        polyloss.multilabel_margin_loss(backend.asarray(np.asarray(1.0)), backend.asarray(np.asarray(0)))


@pytest.mark.parametrize("fn", BINARY, ids=lambda f: f.__name__)
def test_binary_errors(backend, fn):
    x = _scores((3, 4))
    xs, ys = backend.asarray(x), backend.asarray(_pm1((3, 4)))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 3\)"):
        fn(xs, backend.asarray(_pm1((3, 3))))
    with pytest.raises(TypeError, match="floating"):
        fn(backend.asarray(np.ones((3, 4), dtype=np.int64)), ys)
    with pytest.raises(TypeError, match="input"):
        fn(x.tolist(), ys)
    with pytest.raises(ValueError, match="reduction"):
        fn(xs, ys, reduction="batchmean")
    with pytest.raises(ValueError, match="empty"):
        fn(backend.asarray(np.zeros((3, 0))), backend.asarray(np.zeros((3, 0))))


def test_multilabel_soft_margin_weight_errors(backend):
    xs, ys = backend.asarray(_scores((3, 4))), backend.asarray(_01((3, 4)))
    with pytest.raises(ValueError, match="weight"):
        polyloss.multilabel_soft_margin_loss(xs, ys, weight=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="weight"):
        polyloss.multilabel_soft_margin_loss(xs, ys, weight="heavy")


# --------------------------------------------------------------------------
# kinks and saturation: finite values and gradients
# --------------------------------------------------------------------------

_BIG = 1e4
_KINK_X = np.array([[1.0, -1.0, 0.0, _BIG], [-_BIG, 1.0, 0.5, -1.0]])  # 1 - y x == 0 at the kinks
_KINK_Y = np.array([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, -1.0, 1.0]])
_TIED = np.array([[_BIG, _BIG, -_BIG], [0.0, 0.0, 0.0], [1.0, 0.0, -_BIG], [-_BIG, _BIG, 0.5]])
_TIED_T = np.array([0, 2, 1, 0])

SATURATION = {
    "hinge": (polyloss.hinge_loss, _KINK_X, _KINK_Y, {}),
    "hinge_01": (polyloss.hinge_loss, _KINK_X, (_KINK_Y + 1) / 2, {}),
    "squared_hinge": (polyloss.squared_hinge_loss, _KINK_X, _KINK_Y, {}),
    "perceptron": (polyloss.perceptron_loss, _KINK_X - 1.0, _KINK_Y, {}),
    "soft_margin": (polyloss.soft_margin_loss, _KINK_X, _KINK_Y, {}),
    "hinge_embedding": (polyloss.hinge_embedding_loss, np.abs(_KINK_X), _KINK_Y, {}),
    "categorical_hinge": (polyloss.categorical_hinge_loss, _TIED, np.eye(3)[_TIED_T], {}),
    "multi_margin_p1": (polyloss.multi_margin_loss, _TIED, _TIED_T, {}),
    "multi_margin_p2": (polyloss.multi_margin_loss, _TIED, _TIED_T, {"p": 2, "weight": [1.0, 2.0, 0.5]}),
    "multiclass_hinge": (polyloss.multiclass_hinge_loss, _TIED, _TIED_T, {}),
    "multiclass_perceptron": (polyloss.multiclass_perceptron_loss, _TIED, _TIED_T, {}),
    "multilabel_margin": (polyloss.multilabel_margin_loss, _TIED, np.array([[0, -1, 0], [1, 2, -1], [1, 0, 2],
                                                                             [2, -1, -1]]), {}),
    "multilabel_soft_margin": (polyloss.multilabel_soft_margin_loss, _TIED, np.eye(3)[_TIED_T], {}),
}


@pytest.mark.parametrize("case", sorted(SATURATION))
def test_finite_value_and_gradient_at_kinks_and_saturation(backend, case):
    fn, x, t, options = SATURATION[case]
    ts = backend.asarray(t)
    if not backend.has_grad:
        assert np.isfinite(backend.to_numpy(fn(backend.asarray(x), ts, **options)))
        return
    for reduction in ("mean", "sum"):
        value, grad = backend.value_and_grad(lambda a, r=reduction: fn(a, ts, **options, reduction=r), x)
        assert np.isfinite(value) and np.isfinite(grad).all(), reduction


def test_soft_margin_is_exact_at_large_margins(backend):
    x = np.array([_BIG, -_BIG, 800.0, 50.0])
    y = np.array([-1.0, 1.0, -1.0, 1.0])
    out = backend.to_numpy(polyloss.soft_margin_loss(backend.asarray(x), backend.asarray(y), reduction="none"))
    np.testing.assert_allclose(out, [_BIG, _BIG, 800.0, np.exp(-50.0)], rtol=backend.rtol)


def test_hinge_gradient_away_from_kinks(backend):
    """d/dx max(0, 1 - y x) = -y where the margin is violated, 0 elsewhere."""
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    x = np.array([0.5, -0.25, 3.0, -3.0, 0.9])
    y = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
    ys = backend.asarray(y)
    _, g = backend.value_and_grad(lambda a: polyloss.hinge_loss(a, ys, reduction="sum"), x)
    np.testing.assert_allclose(g, np.where(1 - y * x > 0, -y, 0.0), rtol=backend.rtol)
    _, g2 = backend.value_and_grad(lambda a: polyloss.squared_hinge_loss(a, ys, reduction="sum"), x)
    np.testing.assert_allclose(g2, -2 * y * np.maximum(0.0, 1 - y * x), rtol=backend.rtol, atol=backend.atol)


# --------------------------------------------------------------------------
# JAX: jit, grad, vmap; torch.compile
# --------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_jax_jit_grad_vmap():
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(_scores((3, 4, 2)), dtype=jnp.float32)
    t = jnp.asarray(_indices((3, 2), 4))
    for fn, options in ((polyloss.multi_margin_loss, {"p": 2, "weight": [1.0, 2.0, 0.5, 1.0]}),
                        (polyloss.multiclass_hinge_loss, {}), (polyloss.multiclass_perceptron_loss, {})):
        f = lambda a, b, fn=fn, o=options: fn(a, b, **o)  # noqa: E731
        np.testing.assert_allclose(jax.jit(f)(x, t), f(x, t), rtol=1e-5)
        assert np.isfinite(np.asarray(jax.jit(jax.grad(f))(x, t))).all()
        v = jax.vmap(f)(jnp.stack([x, -x]), jnp.stack([t, t]))
        np.testing.assert_allclose(v[1], f(-x, t), rtol=1e-5)
        assert np.isnan(float(jax.jit(f)(x, t.at[0, 0].set(4))))  # out of range under tracing: NaN

    xb = jnp.asarray(_scores((4, 5)), dtype=jnp.float32)
    y01 = jnp.asarray(_01((4, 5)), dtype=jnp.float32)
    for fn in (polyloss.hinge_loss, polyloss.squared_hinge_loss, polyloss.soft_margin_loss,
               polyloss.perceptron_loss, polyloss.hinge_embedding_loss, polyloss.multilabel_soft_margin_loss,
               polyloss.categorical_hinge_loss):
        np.testing.assert_allclose(jax.jit(fn)(xb, y01), fn(xb, y01), rtol=1e-5)
        assert np.isfinite(np.asarray(jax.grad(fn)(xb * 1e4, y01))).all()
        per_row = jax.vmap(lambda a, b, fn=fn: fn(a, b))(xb, y01)
        np.testing.assert_allclose(per_row, [fn(xb[i], y01[i]) for i in range(4)], rtol=1e-5)
    # the 0/1 conversion is traced, not read: the same numbers under jit
    np.testing.assert_allclose(jax.jit(polyloss.hinge_loss)(xb, y01), np_hinge(np.asarray(xb), np.asarray(y01)).mean(),
                               rtol=1e-5)

    labels = jnp.asarray(_label_lists(6, 5))
    xl = jnp.asarray(_scores((6, 5)), dtype=jnp.float32)
    f = jax.jit(lambda a, b: polyloss.multilabel_margin_loss(a, b, reduction="none"))
    np.testing.assert_allclose(f(xl, labels), np_multilabel_margin(np.asarray(xl, np.float64), np.asarray(labels)),
                               rtol=1e-5, atol=1e-6)
    out = f(xl, labels.at[2, 4].set(5))
    assert np.isnan(out[2]) and np.isfinite(np.delete(np.asarray(out), 2)).all()
    assert np.isfinite(np.asarray(jax.grad(lambda a: polyloss.multilabel_margin_loss(a, labels))(xl))).all()
    v = jax.vmap(lambda a, b: polyloss.multilabel_margin_loss(a, b))(xl, labels)
    np.testing.assert_allclose(v, f(xl, labels), rtol=1e-5)


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.slow  # 15-30 s of compilation
def test_torch_compile_fullgraph():
    import torch

    x = torch.tensor(_scores((3, 4)), dtype=torch.float32)
    y01 = torch.tensor(_01((3, 4)), dtype=torch.float32)
    hinge = torch.compile(lambda a, b: polyloss.hinge_loss(a, b), fullgraph=True)
    torch.testing.assert_close(hinge(x, y01), polyloss.hinge_loss(x, y01))
    torch.testing.assert_close(hinge(x, 2 * y01 - 1), polyloss.hinge_loss(x, y01))
    t = torch.tensor(_indices(3, 4))
    mm = torch.compile(lambda a, b: polyloss.multi_margin_loss(a, b, p=2, weight=[1.0, 2.0, 0.5, 1.0]),
                       fullgraph=True)
    torch.testing.assert_close(mm(x, t), polyloss.multi_margin_loss(x, t, p=2, weight=[1.0, 2.0, 0.5, 1.0]))
    bad = t.clone()
    bad[0] = 4
    assert torch.isnan(mm(x, bad))
    labels = torch.tensor(_label_lists(3, 4))
    ml = torch.compile(lambda a, b: polyloss.multilabel_margin_loss(a, b), fullgraph=True)
    torch.testing.assert_close(ml(x, labels), polyloss.multilabel_margin_loss(x, labels))


# --------------------------------------------------------------------------
# hypothesis properties (NumPy float64)
# --------------------------------------------------------------------------

_scores_st = hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)),
                        elements=st.floats(-20, 20, allow_nan=False))


@settings(max_examples=25, deadline=None)
@given(_scores_st, st.data(), st.sampled_from([(-1.0, 1.0), (0.0, 1.0)]))
def test_hinge_family_orderings(x, data, labels):
    y = np.asarray(data.draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from(labels))))
    hinge = polyloss.hinge_loss(x, y, reduction="none")
    assert (hinge >= 0).all()
    np.testing.assert_allclose(polyloss.squared_hinge_loss(x, y, reduction="none"), hinge**2, rtol=1e-12, atol=0)
    s = _sign(y)
    perceptron = polyloss.perceptron_loss(x, s, reduction="none")
    assert (perceptron >= 0).all() and (perceptron <= hinge).all() and (hinge <= perceptron + 1).all()
    assert (polyloss.soft_margin_loss(x, s, reduction="none") >= perceptron).all()


@settings(max_examples=25, deadline=None)
@given(_scores_st, st.data())
def test_multiclass_losses_on_two_classes_are_binary_hinge(x, data):
    """With two classes, Crammer–Singer is the binary hinge of the score difference,
    torch's multi-margin half of it; and for any C it is max(0, 1 + max_other - x_y)."""
    n = x.shape[0]
    x2 = np.concatenate([x[:, :1], x[:, -1:] + 0.5], axis=1)
    t = np.asarray(data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 1))))
    d, s = x2[:, 1] - x2[:, 0], 2.0 * t - 1.0
    hinge = polyloss.hinge_loss(d, s, reduction="none")
    np.testing.assert_allclose(polyloss.multiclass_hinge_loss(x2, t, reduction="none"), hinge, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(polyloss.multi_margin_loss(x2, t, reduction="none"), hinge / 2, rtol=1e-12, atol=1e-12)
    c = x.shape[1]
    tc = np.asarray(data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1))))
    cs = polyloss.multiclass_hinge_loss(x, tc, reduction="none")
    x_y = x[np.arange(n), tc]
    other = np.where(np.eye(c, dtype=bool)[tc], -np.inf, x).max(1) if c > 1 else np.full(n, -np.inf)
    np.testing.assert_allclose(cs, np.maximum(0.0, 1.0 + other - x_y), rtol=1e-12, atol=1e-12)
    assert (cs >= polyloss.multiclass_perceptron_loss(x, tc, reduction="none")).all()
