"""Every row of tests/conventions.py's CONVENTIONS, evaluated: the other library's call
against the polyloss call on the same data.

MONAI, Keras 3 (numpy backend) and kornia run for real: the parity session installs
them, and a row whose library is missing fails there. segmentation_models_pytorch and torchvision cannot be installed
here (they need torchvision/timm), so their formulas are transcribed below from
- qubvel-org/segmentation_models.pytorch: segmentation_models_pytorch/losses/dice.py,
  jaccard.py, tversky.py, focal.py and _functional.py (soft_dice_score,
  soft_jaccard_score, soft_tversky_score, focal_loss_with_logits);
- pytorch/vision: torchvision/ops/focal_loss.py (sigmoid_focal_loss);
and the reference article's DiceLoss and FocalLoss are copied from the article.
"""

from __future__ import annotations

import os
import types

import numpy as np
import pytest

import polyloss
from conventions import CONVENTIONS
from polyloss._backends import JAX_X64

pytestmark = pytest.mark.parity
torch = F = references = None  # set by the `peers` fixture


@pytest.fixture(autouse=True, scope="module")
def peers():
    """Import torch and the transcriptions, with plain imports: in the parity session a
    missing one fails every test here, never skips it; other sessions only collect this
    file (``-m "not parity"``) and need none of them."""
    global torch, F, references
    import torch

    import references

    F = torch.nn.functional


# --------------------------------------------------------------------------
# transcriptions
# --------------------------------------------------------------------------


def _smp_score(kind, alpha=0.5, beta=0.5):
    def score(output, target, smooth, eps, dims):
        intersection = torch.sum(output * target, dim=dims)
        if kind == "tversky":
            fp = torch.sum(output * (1.0 - target), dim=dims)
            fn = torch.sum((1 - output) * target, dim=dims)
            return (intersection + smooth) / (intersection + alpha * fp + beta * fn + smooth).clamp_min(eps)
        cardinality = torch.sum(output + target, dim=dims)
        if kind == "jaccard":
            return (intersection + smooth) / (cardinality - intersection + smooth).clamp_min(eps)
        return (2.0 * intersection + smooth) / (cardinality + smooth).clamp_min(eps)

    return score


class _SmpDice:
    """smp DiceLoss.forward (from_logits=True, log_loss=False, no classes/ignore_index)."""

    kind = "dice"

    def __init__(self, mode, smooth=0.0, eps=1e-7, alpha=0.5, beta=0.5, gamma=1.0):
        self.mode, self.smooth, self.eps, self.gamma = mode, smooth, eps, gamma
        self.score = _smp_score(self.kind, alpha, beta)

    def __call__(self, y_pred, y_true):
        y_pred = y_pred.log_softmax(dim=1).exp() if self.mode == "multiclass" else F.logsigmoid(y_pred).exp()
        bs, num_classes, dims = y_true.size(0), y_pred.size(1), (0, 2)
        if self.mode == "binary":
            y_true, y_pred = y_true.view(bs, 1, -1), y_pred.view(bs, 1, -1)
        if self.mode == "multiclass":
            y_true = F.one_hot(y_true.view(bs, -1), num_classes).permute(0, 2, 1)
            y_pred = y_pred.view(bs, num_classes, -1)
        if self.mode == "multilabel":
            y_true, y_pred = y_true.view(bs, num_classes, -1), y_pred.view(bs, num_classes, -1)
        scores = self.score(y_pred, y_true.type_as(y_pred), self.smooth, self.eps, dims)
        loss = 1.0 - scores
        loss = loss * (y_true.sum(dims) > 0).to(loss.dtype)
        return loss.mean() ** self.gamma if self.kind == "tversky" else loss.mean()


class _SmpJaccard(_SmpDice):
    kind = "jaccard"


class _SmpTversky(_SmpDice):
    kind = "tversky"


def _smp_focal_loss_with_logits(output, target, gamma=2.0, alpha=0.25):
    target = target.type(output.type())
    logpt = F.binary_cross_entropy_with_logits(output, target, reduction="none")
    pt = torch.exp(-logpt)
    loss = (1.0 - pt).pow(gamma) * logpt
    if alpha is not None:
        loss *= alpha * target + (1 - alpha) * (1 - target)
    return loss.mean()


class _SmpFocal:
    def __init__(self, mode, alpha=None, gamma=2.0):
        assert mode == "binary"
        self.alpha, self.gamma = alpha, gamma

    def __call__(self, y_pred, y_true):
        return _smp_focal_loss_with_logits(y_pred.view(-1), y_true.view(-1), self.gamma, self.alpha)


# --------------------------------------------------------------------------
# the namespace the calls are evaluated in
# --------------------------------------------------------------------------


def _namespace():
    rng = np.random.default_rng(2026)
    n, c, h, w = 2, 3, 4, 4
    x = rng.normal(size=(n, c, h, w)) * 1.5
    labels = rng.integers(0, c, size=(n, h, w))
    labels[:, 0, :3] = [0, 1, 2]  # every class present in every sample
    onehot = np.moveaxis(np.eye(c)[labels], -1, 1)
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    xb = rng.normal(size=(n, h, w)) * 1.5
    tb = (rng.uniform(size=(n, h, w)) < 0.4).astype(np.float64)
    pb = 1 / (1 + np.exp(-xb))
    wts = [0.5, 1.0, 2.0]
    a = rng.uniform(size=c)
    ns = dict(
        polyloss=polyloss, x=x, p=p, labels=labels, onehot=onehot, xb=xb, tb=tb, pb=pb, w=wts, a=a,
        x_last=np.moveaxis(x, 1, -1), onehot_last=np.moveaxis(onehot, 1, -1),
        X=torch.as_tensor(x), L=torch.as_tensor(labels), L1=torch.as_tensor(labels[:, None]),
        OH=torch.as_tensor(onehot), XB=torch.as_tensor(xb), TB=torch.as_tensor(tb), PB=torch.as_tensor(pb),
        W=torch.tensor(wts, dtype=torch.float64), A=torch.as_tensor(a),
        np=np, q_last=1 / (1 + np.exp(-np.moveaxis(x, 1, -1))),
        smp=types.SimpleNamespace(losses=types.SimpleNamespace(
            DiceLoss=_SmpDice, JaccardLoss=_SmpJaccard, TverskyLoss=_SmpTversky, FocalLoss=_SmpFocal,
            SoftCrossEntropyLoss=references.smp_losses.SoftCrossEntropyLoss,
            SoftBCEWithLogitsLoss=references.smp_losses.SoftBCEWithLogitsLoss)),
        torchvision=types.SimpleNamespace(ops=types.SimpleNamespace(
            sigmoid_focal_loss=references.torchvision_sigmoid_focal_loss)),
        DiceLoss=references.ArticleDiceLoss, FocalLoss=references.ArticleFocalLoss,
    )
    return ns


# MONAI, Keras and kornia run for real (imported by `_import`); the other libraries'
# calls run on the transcriptions of `_namespace`.
# float32 peers: MONAI's focal loss (input.float()) and Keras (floatx); MONAI's generalized
# Dice computes its class weights in float32.
RTOL = {"Keras": 1e-5}


def _import(library):
    if library == "MONAI":
        import monai
        import monai.losses

        return {"monai": monai}
    if library == "Keras":
        os.environ.setdefault("KERAS_BACKEND", "numpy")
        import keras

        return {"keras": keras}
    if library == "optax":
        import optax

        return {"optax": optax}
    if library.startswith("kornia <="):  # an older kornia: its code, transcribed
        return {"kornia": references.kornia_0_8}
    if library == "kornia":
        import kornia
        import kornia.losses

        return {"kornia": kornia}
    return {}


def _value(v):
    if hasattr(v, "detach"):
        v = v.detach().numpy()
    return np.asarray(v, dtype=np.float64)


@pytest.mark.parametrize("row", CONVENTIONS, ids=[f"{r[0]}-{i}" for i, r in enumerate(CONVENTIONS)])
def test_convention_row(row):
    library, theirs, ours, note = row
    assert note and theirs and ours
    ns = _namespace()
    ns.update(_import(library))
    want = _value(eval(theirs, ns))
    got = _value(eval(ours, ns))
    rtol = RTOL.get(library, 1e-10)
    if "GeneralizedDiceLoss" in theirs:
        rtol = 1e-6
    if library == "MONAI" and "FocalLoss(" in theirs:  # MONAI's focal loss (alone or a part): float32
        rtol = 1e-5
    if library == "optax" and not JAX_X64:  # the parity session's second run, JAX in float32
        rtol = 1e-5
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-7 if rtol > 1e-10 else 1e-12, err_msg=theirs)


def test_rows_are_well_formed():
    assert len(CONVENTIONS) >= 20
    for row in CONVENTIONS:
        assert len(row) == 4 and all(isinstance(s, str) and s for s in row)
        assert row[2].lstrip("(").startswith("polyloss.")  # a call, or a sum of loss objects
