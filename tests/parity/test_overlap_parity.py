"""Dice, Jaccard, Tversky and generalized Dice against MONAI and the reference article's code.

MONAI (``monai.losses``) runs in float64 torch; polyloss runs on every backend of the
matrix. MONAI's defaults differ from polyloss' (smoothing 1e-5), so every option is
passed explicitly.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyloss

pytestmark = pytest.mark.parity
torch = monai_losses = ArticleDiceLoss = None  # the peers: set by the `peers` fixture


@pytest.fixture(autouse=True, scope="module")
def peers():
    """Import the peers, with plain imports: in the parity session a missing peer fails
    every test here, never skips it; other sessions only collect this file (``-m "not
    parity"``) and need none of them."""
    global torch, monai_losses, ArticleDiceLoss
    import monai.losses as monai_losses
    import torch

    from references import ArticleDiceLoss  # imports torch


N, C, H, W = 2, 3, 4, 3


def _data(seed=0, soft=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, C, H, W)) * 2.0
    labels = rng.integers(0, C, size=(N, H, W))
    labels[0][labels[0] == 2] = 1  # class 2 absent from sample 0
    onehot = np.moveaxis(np.eye(C)[labels], -1, 1)
    if soft:
        onehot = rng.uniform(size=(N, C, H, W))
    return x, labels, onehot


def _monai(cls, x, target, **kw):
    t = torch.as_tensor(target)
    out = cls(**kw)(torch.as_tensor(x, dtype=torch.float64), t)
    return out.detach().numpy()


def _act(activation):
    return {"sigmoid": {"sigmoid": True}, "softmax": {"softmax": True}, None: {}}[activation]


def _close(backend, got, want, rtol=None):
    np.testing.assert_allclose(
        backend.to_numpy(got), np.reshape(want, np.shape(backend.to_numpy(got))),
        rtol=backend.rtol if rtol is None else rtol, atol=backend.atol,
    )


# (activation, class_map, include_background, batch, squared, smooth, ignore_index)
DICE_CASES = [
    ("softmax", True, True, False, False, (1e-5, 1e-5), None),
    ("softmax", True, False, False, False, (1.0, 1.0), None),
    ("softmax", False, True, True, False, (0.5, 2.0), None),
    ("sigmoid", False, True, False, True, (1.0, 1.0), None),
    ("sigmoid", False, False, True, True, (0.0, 1.0), None),
    (None, False, True, False, False, (1e-5, 1e-5), None),
    ("softmax", True, True, False, False, (1.0, 1.0), 255),  # sentinel label in a class map
    ("softmax", True, False, False, False, (1.0, 1.0), 1),  # an in-range class is ignored
    ("softmax", False, True, False, False, (1.0, 1.0), 0),  # one-hot target, class 0 pixels ignored
    ("softmax", False, True, True, False, (1.0, 1.0), -1),  # one-hot target, unlabelled pixels ignored
]


def _targets(activation, class_map, ignore_index, seed=0):
    x, labels, onehot = _data(seed)
    if activation is None:
        x = np.exp(x) / np.exp(x).sum(1, keepdims=True)  # probabilities
    if ignore_index is not None and class_map:
        labels = labels.copy()
        labels[:, 0, :] = ignore_index
    if ignore_index == -1 and not class_map:
        onehot = onehot.copy()
        onehot[:, :, 0, :] = 0.0  # unlabelled pixels
    return x, labels, onehot


def _case_kwargs(case):
    activation, class_map, include_background, batch, _squared, (snr, sdr), ignore_index = case
    monai = dict(
        include_background=include_background, to_onehot_y=class_map, batch=batch,
        smooth_nr=snr, smooth_dr=sdr, **_act(activation),
    )
    ours = dict(
        axis=1, activation=activation, include_background=include_background, batch=batch,
        smooth_nr=snr, smooth_dr=sdr,
    )
    if ignore_index is not None:
        monai["ignore_index"] = ignore_index
        ours["ignore_index"] = ignore_index
    return monai, ours


@pytest.mark.parametrize("case", DICE_CASES, ids=[str(i) for i in range(len(DICE_CASES))])
@pytest.mark.parametrize("jaccard", [False, True], ids=["dice", "jaccard"])
def test_dice_and_jaccard_match_monai(backend, case, jaccard):
    activation, class_map, _, _, squared, _, ignore_index = case
    x, labels, onehot = _targets(activation, class_map, ignore_index)
    monai_kw, ours = _case_kwargs(case)
    fn = polyloss.jaccard_loss if jaccard else polyloss.dice_loss
    target_np = labels if class_map else onehot
    monai_target = labels[:, None] if class_map else onehot
    for reduction in ("none", "mean", "sum"):
        want = _monai(monai_losses.DiceLoss, x, monai_target, squared_pred=squared, jaccard=jaccard,
                      reduction=reduction, **monai_kw)
        got = fn(backend.asarray(x), backend.asarray(target_np), squared=squared, reduction=reduction, **ours)
        if reduction == "none":
            c = C - (0 if ours["include_background"] else 1)
            assert tuple(got.shape) == ((c,) if ours["batch"] else (N, c))
        _close(backend, got, want)


def test_dice_weight_matches_monai(backend):
    """MONAI multiplies each class loss by its weight: equal for "none" and "sum"; polyloss'
    weighted mean is ``sum(w l) / sum(w)`` (MONAI divides by N*C), checked from MONAI's "none"."""
    x, labels, _ = _data(1)
    w = [0.2, 1.0, 3.0]
    # a float64 tensor: MONAI would make a Python list float32
    kw = dict(softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0, weight=torch.tensor(w, dtype=torch.float64))
    none = _monai(monai_losses.DiceLoss, x, labels[:, None], reduction="none", **kw).reshape(N, C)
    ours = dict(axis=1, activation="softmax", weight=w)
    xs, ts = backend.asarray(x), backend.asarray(labels)
    _close(backend, polyloss.dice_loss(xs, ts, reduction="none", **ours), none)
    _close(backend, polyloss.dice_loss(xs, ts, reduction="sum", **ours), none.sum())
    _close(backend, polyloss.dice_loss(xs, ts, reduction="mean", **ours), none.sum() / (N * sum(w)))
    # weight after include_background=False has length C - 1, as MONAI
    kw2 = dict(kw, weight=torch.tensor(w[1:], dtype=torch.float64), include_background=False)
    want = _monai(monai_losses.DiceLoss, x, labels[:, None], reduction="sum", **kw2)
    got = polyloss.dice_loss(xs, ts, axis=1, activation="softmax", weight=w[1:], include_background=False,
                             reduction="sum")
    _close(backend, got, want)


def test_dice_soft_labels_match_monai(backend):
    """Soft labels with the classic I = sum(p t): MONAI's ``soft_label=False``. (MONAI's
    ``soft_label=True`` is the Dice semimetric of Wang et al. 2023, I = sum(min(p, t)) for the
    L1 sums, which polyloss does not provide.)"""
    x, _, soft = _data(2, soft=True)
    for squared in (False, True):
        want = _monai(monai_losses.DiceLoss, x, soft, sigmoid=True, squared_pred=squared, soft_label=False,
                      smooth_nr=1.0, smooth_dr=1.0, reduction="none")
        got = polyloss.dice_loss(backend.asarray(x), backend.asarray(soft), axis=1, activation="sigmoid",
                                 squared=squared, reduction="none")
        _close(backend, got, want, rtol=backend.rtol * 10)  # MONAI's soft_label path goes through norms


def test_dice_channel_last_matches_monai(backend):
    x, labels, _ = _data(3)
    want = _monai(monai_losses.DiceLoss, x, labels[:, None], softmax=True, to_onehot_y=True,
                  smooth_nr=1.0, smooth_dr=1.0, reduction="none")
    got = polyloss.dice_loss(backend.asarray(np.moveaxis(x, 1, -1)), backend.asarray(labels), axis=-1,
                             activation="softmax", reduction="none")
    _close(backend, got, want)


# (activation, class_map, include_background, batch, smooth, ignore_index, alpha, beta)
TVERSKY_CASES = [
    ("softmax", True, True, False, (1e-5, 1e-5), None, 0.3, 0.7),
    ("softmax", True, False, True, (1.0, 1.0), None, 0.7, 0.3),
    ("sigmoid", False, True, False, (0.5, 2.0), None, 0.5, 0.5),
    ("softmax", True, True, False, (1.0, 1.0), 255, 0.2, 0.8),
    ("softmax", False, True, False, (1.0, 1.0), 0, 0.2, 0.8),
]


@pytest.mark.parametrize("case", TVERSKY_CASES, ids=[str(i) for i in range(len(TVERSKY_CASES))])
def test_tversky_matches_monai(backend, case):
    activation, class_map, incl, batch, (snr, sdr), ignore_index, alpha, beta = case
    x, labels, onehot = _targets(activation, class_map, ignore_index)
    monai_kw = dict(include_background=incl, to_onehot_y=class_map, batch=batch, smooth_nr=snr, smooth_dr=sdr,
                    alpha=alpha, beta=beta, **_act(activation))
    if ignore_index is not None:
        monai_kw["ignore_index"] = ignore_index
    ours = dict(axis=1, activation=activation, include_background=incl, batch=batch, smooth_nr=snr,
                smooth_dr=sdr, alpha=alpha, beta=beta, ignore_index=ignore_index)
    monai_target = labels[:, None] if class_map else onehot
    xs, ts = backend.asarray(x), backend.asarray(labels if class_map else onehot)
    for reduction in ("none", "mean", "sum"):
        want = _monai(monai_losses.TverskyLoss, x, monai_target, reduction=reduction, **monai_kw)
        _close(backend, polyloss.tversky_loss(xs, ts, reduction=reduction, **ours), want)
    # focal Tversky: MONAI's per-class (1 - TI) raised to gamma
    none = _monai(monai_losses.TverskyLoss, x, monai_target, reduction="none", **monai_kw)
    for gamma in (0.5, 2.0):
        got = polyloss.tversky_loss(xs, ts, gamma=gamma, reduction="none", **ours)
        _close(backend, got, np.clip(none, 0, None) ** gamma)


# (w_type, batch, include_background, class_map, activation)
GDL_CASES = [
    (w, b, incl, cm, act)
    for w in ("square", "simple", "uniform")
    for b, incl, cm, act in [(False, True, True, "softmax"), (True, True, False, "softmax"),
                             (False, False, True, "sigmoid"), (True, False, False, None)]
]


@pytest.mark.parametrize("case", GDL_CASES, ids=["-".join(map(str, c)) for c in GDL_CASES])
def test_generalized_dice_matches_monai(backend, case):
    """Class 2 is absent from sample 0, so its infinite weight takes the largest finite one."""
    w_type, batch, incl, class_map, activation = case
    x, labels, onehot = _targets(activation, class_map, None)
    if batch:  # a class absent from the whole batch
        labels = np.where(labels == 2, 1, labels)
        onehot = np.moveaxis(np.eye(C)[labels], -1, 1)
    monai_kw = dict(w_type=w_type, batch=batch, include_background=incl, to_onehot_y=class_map,
                    smooth_nr=1e-5, smooth_dr=1e-5, **_act(activation))
    ours = dict(axis=1, w_type=w_type, batch=batch, include_background=incl, activation=activation,
                smooth_nr=1e-5, smooth_dr=1e-5)
    monai_target = labels[:, None] if class_map else onehot
    xs, ts = backend.asarray(x), backend.asarray(labels if class_map else onehot)
    # MONAI computes the class weights in float32 (``w_func(ground_o.float())``): float32-rounded
    # weights move the float64 result by ~1e-8 relative, so float64 is compared at 1e-6.
    rtol = 1e-6 if backend.dtype == "float64" and w_type != "uniform" else None
    for reduction in ("none", "mean", "sum"):
        want = _monai(monai_losses.GeneralizedDiceLoss, x, monai_target, reduction=reduction, **monai_kw)
        got = polyloss.generalized_dice_loss(xs, ts, reduction=reduction, **ours)
        if reduction == "none":
            assert tuple(got.shape) == (() if batch else (N,))
        _close(backend, got, want, rtol=rtol)


# --------------------------------------------------------------------------
# the reference article's DiceLoss (hubutui/DiceLoss-PyTorch style), transcribed
# --------------------------------------------------------------------------

ARTICLE_INPUT = [[[0.2656, 0.4492, 0.3135], [0.8917, 0.2472, 0.4546], [0.3573, 0.1485, 0.3700]],
                 [[0.7022, 0.3999, 0.5945], [0.2945, 0.3459, 0.6240], [0.4438, 0.7022, 0.7051]]]
ARTICLE_TARGET = [[[1., 0., 0.], [0., 0., 1.], [1., 0., 0.]],
                  [[1., 0., 1.], [1., 1., 1.], [0., 1., 1.]]]


@pytest.mark.parametrize("batched", [False, True])
def test_dice_matches_article_code(backend, batched):
    p = np.asarray(ARTICLE_INPUT)
    t = np.asarray(ARTICLE_TARGET)
    if batched:
        p, t = p[None], t[None]
    want = float(ArticleDiceLoss()(torch.as_tensor(p), torch.as_tensor(t)))
    got = polyloss.dice_loss(backend.asarray(p), backend.asarray(t), smooth_nr=2.0, smooth_dr=1.0)
    _close(backend, got, want)
    assert round(want, 4) == (0.3738 if batched else 0.3351)  # the numbers the article prints
