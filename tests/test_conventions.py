"""Every row of tests/conventions.py's CONVENTIONS, evaluated: the other library's call
against the polyloss call on the same data.

MONAI, Keras 3 (numpy backend), kornia, optax, PyTorch and scikit-learn run for real:
the parity session installs them, and a row whose library is missing fails there.
segmentation_models_pytorch and torchvision cannot be installed here (they need
torchvision/timm), so their formulas are transcribed below from
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
    ns.update(_margin_namespace())
    return ns


def _margin_namespace():
    """The data of the margin, regression and embedding rows (documented in
    tests/conventions.py and on the conventions page)."""
    rng = np.random.default_rng(2027)
    s = rng.normal(size=(5, 3)) * 1.5
    y = np.array([0, 1, 2, 2, 1])  # every class present (scikit-learn's hinge_loss wants them all)
    s[0] = [0.5, -0.4, -1.2]  # every other score negative: Keras' CategoricalHinge differs (and at 2, 3, 4)
    s[1] = [0.8, 0.3, -0.5]  # another score positive: Keras' CategoricalHinge is Crammer-Singer's
    u, v = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    u[0] *= 1e-4  # a vector shorter than 1e-3: the norm floor of the cosine rows applies
    up, vp = rng.uniform(0.1, 4.0, size=(4, 6)), rng.uniform(0.1, 4.0, size=(4, 6))
    var = rng.uniform(0.2, 2.0, size=(4, 6))
    pm = np.where(rng.uniform(size=(4, 6)) < 0.5, -1.0, 1.0)
    rel = rng.integers(0, 4, size=(4, 6)).astype(np.float64)
    valid = rng.uniform(size=(4, 6)) < 0.7
    valid[0], valid[1, :2] = False, True  # a list without a valid item; the others have some
    item_w = rng.uniform(0.5, 1.5, size=(4, 6))
    anc, pos, neg = (rng.normal(size=(5, 4)) for _ in range(3))
    emb = rng.normal(size=(6, 3))
    groups = np.array([0, 1, 0, 2, 1, 2])
    data = dict(s=s, y=y, y_onehot=np.eye(3)[y], u=u, v=v, up=up, vp=vp, var=var, pm=pm, rel=rel, valid=valid,
                item_w=item_w, anc=anc, pos=pos, neg=neg, emb=emb, groups=groups)
    tensors = {name.upper(): torch.as_tensor(data[name]) for name in ("s", "y", "u", "v", "up", "vp", "var", "pm",
                                                                       "anc", "pos", "neg")}
    return {**data, **tensors, "F": F}


# MONAI, Keras, kornia, optax and scikit-learn run for real (imported by `_import`; torch
# by the `peers` fixture); the other libraries' calls run on the transcriptions of `_namespace`.
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
    if library == "PyTorch":
        return {"torch": torch}
    if library == "scikit-learn":
        import sklearn.metrics

        return {"sklearn": sklearn}
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
    peer_ns = ns
    if library == "optax" and not JAX_X64:  # JAX without x64 has no float64: the peer gets float32 data
        peer_ns = {k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == np.float64 else v
                   for k, v in ns.items()}
    want = _value(eval(theirs, peer_ns))
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


def test_the_differences_the_rows_name_are_real():
    """The notes' claims that two libraries differ, checked on the rows' data with the
    real libraries: were they equal, a row's option mapping would prove nothing."""
    ns = _namespace()
    for library in ("optax", "Keras", "scikit-learn"):
        ns.update(_import(library))
    optax, keras = ns["optax"], ns["keras"]
    s, y, S, Y, xb, tb = (ns[k] for k in ("s", "y", "S", "Y", "xb", "tb"))
    crammer_singer = np.asarray(optax.losses.multiclass_hinge_loss(s, y), dtype=np.float64)
    multi_margin = F.multi_margin_loss(S, Y, reduction="none").numpy()
    for factor in (1, s.shape[1]):  # C = 3: neither the same nor C times torch's
        assert not np.allclose(crammer_singer, factor * multi_margin, rtol=1e-3)
    np.testing.assert_allclose(ns["sklearn"].metrics.hinge_loss(y, s), crammer_singer.mean(), rtol=1e-6)
    # Keras' CategoricalHinge counts the target class as 0 in its largest other score
    categorical = np.asarray(keras.losses.categorical_hinge(ns["y_onehot"], s), dtype=np.float64)
    target = np.take_along_axis(s, y[:, None], axis=1)[:, 0]
    others_negative = np.max(np.where(ns["y_onehot"] == 1, -np.inf, s), axis=1) < 0
    assert others_negative.any() and not others_negative.all()
    np.testing.assert_allclose(categorical[~others_negative], crammer_singer[~others_negative], rtol=1e-5)
    np.testing.assert_allclose(categorical[others_negative], np.maximum(0.0, 1.0 - target[others_negative]),
                               rtol=1e-5)
    assert not np.allclose(categorical[others_negative], crammer_singer[others_negative], rtol=1e-3)
    # optax converts no 0/1 label; Keras and polyloss do
    unconverted = np.asarray(optax.losses.hinge_loss(xb, tb), dtype=np.float64)
    assert not np.allclose(unconverted, polyloss.hinge_loss(xb, tb, reduction="none"), rtol=1e-3)
    # the triplet eps: in the sum of powers (optax) or in each difference (torch), both 1e-6 by default
    a = ns["anc"]
    at_zero = np.asarray(optax.losses.triplet_margin_loss(a, a, a + 10.0, margin=20.0), dtype=np.float64)
    torch_at_zero = F.triplet_margin_loss(ns["ANC"], ns["ANC"], ns["ANC"] + 10.0, margin=20.0, reduction="none")
    # d(a, a) is sqrt(1e-6) = 1e-3 in optax, ||1e-6 * ones(4)|| = 2e-6 in torch; d(a, a + 10) is 20 + 2.5e-8
    # in optax, ||-10 + 1e-6|| = 20 - 2e-6 in torch
    np.testing.assert_allclose(at_zero, 1e-3 - 2.5e-8, rtol=1e-6 if JAX_X64 else 1e-3)  # 20.001 - 20 in float32
    np.testing.assert_allclose(torch_at_zero.numpy(), 4e-6, rtol=1e-6)
