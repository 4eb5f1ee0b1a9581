"""Composite loss objects against MONAI's composite losses.

MONAI's ``DiceCELoss``, ``DiceFocalLoss`` and ``GeneralizedDiceFocalLoss`` are sums of
polyloss loss objects (``tests/conventions.py`` holds the same mappings):

- ``DiceCELoss(to_onehot_y=True, softmax=True)`` is
  ``DiceLoss(axis=1, activation="softmax", smooth_nr=1e-5, smooth_dr=1e-5) + CrossEntropyLoss()``;
  ``lambda_dice``/``lambda_ce`` are coefficients, ``jaccard=True`` a ``JaccardLoss`` part,
  ``label_smoothing`` the cross-entropy's.
- The focal part of ``DiceFocalLoss`` and ``GeneralizedDiceFocalLoss`` is MONAI's
  ``FocalLoss`` with ``use_softmax=False`` (they do not pass it on): a *sigmoid* focal
  loss of the logits against the one-hot target, whatever the Dice activation, i.e.
  ``SigmoidFocalLoss(gamma=..., alpha=None)`` called with the one-hot target (MONAI's
  ``alpha`` is its alpha). MONAI computes it in float32, hence rtol 1e-5. Its ``"sum"``
  sums the spatial means of each (sample, class): ``(1 / (H*W)) * SigmoidFocalLoss(reduction="sum")``.
- MONAI's softmax ``FocalLoss(use_softmax=True)`` is ``focal_loss(alpha=[1 - a, a, ..., a]) / C``.

Values on every backend; gradients of the torch backends against MONAI's autograd.
"""

from __future__ import annotations

import monai.losses as monai_losses
import numpy as np
import pytest
import torch

import polyloss

pytestmark = pytest.mark.parity

N, C, H, W = 2, 3, 4, 3
S = 1e-5  # MONAI's smoothing


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, C, H, W)) * 2.0
    labels = rng.integers(0, C, size=(N, H, W))
    labels[:, 0, :C] = np.arange(C)  # every class present in every sample
    onehot = np.moveaxis(np.eye(C)[labels], -1, 1)
    soft = rng.uniform(0.05, 1.0, size=(N, C, H, W))
    soft = soft / soft.sum(axis=1, keepdims=True)
    return {"x": x, "labels": labels, "onehot": onehot, "soft": soft}


def _monai_target(data, kind):
    return torch.as_tensor(data["labels"][:, None]) if kind == "labels" else torch.as_tensor(data[kind])


def _check(backend, monai_loss, ours, kind, seed, *, monai_kind=None, rtol=None, atol=None):
    """Our composite (called with the `kind` target) on the backend against MONAI's
    float64 torch value (of its `monai_kind` target); the gradient too on the torch backends."""
    data = _data(seed)
    x = torch.tensor(data["x"], requires_grad=True)
    want = monai_loss(x, _monai_target(data, monai_kind or kind))
    (want_grad,) = torch.autograd.grad(want, x)
    rtol = backend.rtol if rtol is None else max(rtol, backend.rtol)
    atol = backend.atol if atol is None else max(atol, backend.atol)
    target = backend.asarray(data[kind])
    got = ours(backend.asarray(data["x"]), target)
    np.testing.assert_allclose(backend.to_numpy(got), want.detach().numpy(), rtol=rtol, atol=atol)
    if backend.library == "torch":
        _, grad = backend.value_and_grad(lambda a: ours(a, target), data["x"])
        np.testing.assert_allclose(grad, want_grad.numpy(), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------
# DiceCELoss
# --------------------------------------------------------------------------

DICE_CE_CASES = {
    "spec": (dict(to_onehot_y=True, softmax=True),
             polyloss.DiceLoss(axis=1, activation="softmax", smooth_nr=S, smooth_dr=S) + polyloss.CrossEntropyLoss(),
             "labels"),
    "lambdas-jaccard-smoothing-sum": (
        dict(to_onehot_y=True, softmax=True, jaccard=True, lambda_dice=0.3, lambda_ce=2.0, label_smoothing=0.1,
             reduction="sum"),
        0.3 * polyloss.JaccardLoss(axis=1, activation="softmax", smooth_nr=S, smooth_dr=S, reduction="sum")
        + 2.0 * polyloss.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"),
        "labels"),
    "onehot-no-background-batch": (
        dict(softmax=True, include_background=False, batch=True, smooth_nr=0.5, smooth_dr=1.0),
        polyloss.DiceLoss(axis=1, activation="softmax", include_background=False, batch=True, smooth_nr=0.5,
                          smooth_dr=1.0) + polyloss.CrossEntropyLoss(),
        "onehot"),
    "soft-squared": (  # probability targets for both parts
        dict(softmax=True, squared_pred=True),
        polyloss.DiceLoss(axis=1, activation="softmax", squared=True, smooth_nr=S, smooth_dr=S)
        + polyloss.CrossEntropyLoss(),
        "soft"),
}


@pytest.mark.parametrize("case", list(DICE_CE_CASES))
def test_dice_ce_matches_monai(backend, case):
    monai_kw, ours, kind = DICE_CE_CASES[case]
    # MONAI's soft_label=False path of squared_pred goes through norms: ~1e-15 apart
    rtol = 1e-11 if "squared_pred" in monai_kw else None
    _check(backend, monai_losses.DiceCELoss(**monai_kw), ours, kind, seed=1, rtol=rtol)


# --------------------------------------------------------------------------
# DiceFocalLoss and GeneralizedDiceFocalLoss: a sigmoid focal part, in float32
# --------------------------------------------------------------------------

FOCAL = dict(rtol=1e-5, atol=1e-6)

DICE_FOCAL_CASES = {
    "spec": (dict(to_onehot_y=True, softmax=True),
             polyloss.DiceLoss(axis=1, activation="softmax", smooth_nr=S, smooth_dr=S)
             + polyloss.SigmoidFocalLoss(gamma=2.0, alpha=None)),
    "sigmoid-alpha-lambdas": (
        dict(to_onehot_y=True, sigmoid=True, gamma=1.5, alpha=0.25, lambda_dice=2.0, lambda_focal=0.5),
        2.0 * polyloss.DiceLoss(axis=1, activation="sigmoid", smooth_nr=S, smooth_dr=S)
        + 0.5 * polyloss.SigmoidFocalLoss(gamma=1.5, alpha=0.25)),
    "sum-of-spatial-means": (
        dict(to_onehot_y=True, softmax=True, batch=True, reduction="sum"),
        polyloss.DiceLoss(axis=1, activation="softmax", batch=True, smooth_nr=S, smooth_dr=S, reduction="sum")
        + (1.0 / (H * W)) * polyloss.SigmoidFocalLoss(alpha=None, reduction="sum")),
}


@pytest.mark.parametrize("case", list(DICE_FOCAL_CASES))
def test_dice_focal_matches_monai(backend, case):
    monai_kw, ours = DICE_FOCAL_CASES[case]
    _check(backend, monai_losses.DiceFocalLoss(**monai_kw), ours, "onehot", seed=2,
           monai_kind="labels" if monai_kw.get("to_onehot_y") else "onehot", **FOCAL)


GDL_FOCAL_CASES = {
    "spec": (dict(to_onehot_y=True, softmax=True),
             polyloss.GeneralizedDiceLoss(axis=1, activation="softmax", smooth_nr=S, smooth_dr=S)
             + polyloss.SigmoidFocalLoss(gamma=2.0, alpha=None)),
    "simple-batch-lambdas": (
        dict(to_onehot_y=True, sigmoid=True, w_type="simple", batch=True, gamma=1.0, lambda_gdl=0.5,
             lambda_focal=3.0),
        0.5 * polyloss.GeneralizedDiceLoss(axis=1, activation="sigmoid", w_type="simple", batch=True,
                                           smooth_nr=S, smooth_dr=S)
        + 3 * polyloss.SigmoidFocalLoss(gamma=1.0, alpha=None)),
}


@pytest.mark.parametrize("case", list(GDL_FOCAL_CASES))
def test_generalized_dice_focal_matches_monai(backend, case):
    monai_kw, ours = GDL_FOCAL_CASES[case]
    _check(backend, monai_losses.GeneralizedDiceFocalLoss(**monai_kw), ours, "onehot", seed=3,
           monai_kind="labels" if monai_kw.get("to_onehot_y") else "onehot", **FOCAL)


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_softmax_focal_matches_monai(backend, alpha):
    """MONAI's softmax focal loss: class 0 weighted by 1 - alpha, the others by alpha, and a
    mean over C times the pixels."""
    ours = polyloss.FocalLoss(gamma=2.0, alpha=None if alpha is None else [1 - alpha] + [alpha] * (C - 1))
    monai_loss = monai_losses.FocalLoss(use_softmax=True, to_onehot_y=True, gamma=2.0, alpha=alpha)
    _check(backend, monai_loss, (1 / C) * ours, "labels", seed=4, **FOCAL)


def test_conventions_rows_of_the_composites():
    """The rows of tests/conventions.py that these tests stand for, evaluated as written."""
    from conventions import CONVENTIONS

    rows = [r for r in CONVENTIONS if r[1].startswith(("monai.losses.DiceCELoss", "monai.losses.DiceFocalLoss",
                                                        "monai.losses.GeneralizedDiceFocalLoss",
                                                        "monai.losses.FocalLoss(use_softmax=True"))]
    assert len(rows) == 4
    data = _data(5)
    ns = dict(polyloss=polyloss, x=data["x"], labels=data["labels"], onehot=data["onehot"],
              X=torch.as_tensor(data["x"]), L1=torch.as_tensor(data["labels"][:, None]),
              monai=type("monai", (), {"losses": monai_losses}))
    for _, theirs, ours, note in rows:
        assert note
        want = float(eval(theirs, ns))
        got = float(eval(ours, ns))
        np.testing.assert_allclose(got, want, rtol=1e-12 if "DiceCELoss" in theirs else 1e-5, err_msg=theirs)
