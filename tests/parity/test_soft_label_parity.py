"""``soft_label=True`` of the Dice family against MONAI's ``soft_label=True``.

MONAI (``monai.losses.utils.compute_tp_fp_fn``, after Wang et al.'s JDTLosses) takes
the overlap of soft labels from norms: ``tp = (|p| + |t| - |p - t|) / 2`` with the L1
norm (the squared L2 norm with ``squared_pred``), ``fp = |p| - tp``, ``fn = |t| - tp``.
DiceLoss (and its ``jaccard=True``), TverskyLoss and GeneralizedDiceLoss have the
option. Values on every backend, gradients of the torch backends against MONAI's
autograd, and two properties written here in NumPy: ``I = sum(min(p, t))``, and no
change for hard labels.
"""

from __future__ import annotations

import monai.losses as monai_losses
import numpy as np
import pytest
import torch

import polyloss

pytestmark = pytest.mark.parity

N, C, H, W = 2, 3, 4, 3


def _data(seed, normalized):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, C, H, W)) * 2.0
    soft = rng.uniform(size=(N, C, H, W))
    if normalized:  # label distributions (for softmax predictions)
        soft = soft / soft.sum(axis=1, keepdims=True)
    return x, soft


# (polyloss function, MONAI class, polyloss options, MONAI options)
CASES = {
    "dice-sigmoid": (polyloss.dice_loss, monai_losses.DiceLoss,
                     dict(activation="sigmoid"), dict(sigmoid=True)),
    "dice-softmax-squared-batch": (polyloss.dice_loss, monai_losses.DiceLoss,
                                   dict(activation="softmax", squared=True, batch=True),
                                   dict(softmax=True, squared_pred=True, batch=True)),
    "jaccard-probabilities-no-background": (polyloss.jaccard_loss, monai_losses.DiceLoss,
                                            dict(activation=None, include_background=False),
                                            dict(jaccard=True, include_background=False)),
    "jaccard-sigmoid-squared": (polyloss.jaccard_loss, monai_losses.DiceLoss,
                                dict(activation="sigmoid", squared=True), dict(jaccard=True, sigmoid=True,
                                                                               squared_pred=True)),
    "tversky-softmax": (polyloss.tversky_loss, monai_losses.TverskyLoss,
                        dict(activation="softmax", alpha=0.3, beta=0.7), dict(softmax=True, alpha=0.3, beta=0.7)),
    "generalized-sigmoid-simple": (polyloss.generalized_dice_loss, monai_losses.GeneralizedDiceLoss,
                                   dict(activation="sigmoid", w_type="simple"), dict(sigmoid=True, w_type="simple")),
    "generalized-softmax-batch": (polyloss.generalized_dice_loss, monai_losses.GeneralizedDiceLoss,
                                  dict(activation="softmax", batch=True), dict(softmax=True, batch=True)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_soft_label_matches_monai(backend, case):
    fn, cls, ours, theirs = CASES[case]
    x, soft = _data(1, normalized=ours["activation"] == "softmax")
    if ours["activation"] is None:
        x = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)  # probabilities
    # MONAI's generalized Dice computes its class weights in float32
    rtol = max(backend.rtol, 1e-6) if fn is polyloss.generalized_dice_loss else backend.rtol
    t = backend.asarray(soft)
    for reduction in ("none", "mean", "sum"):
        xt = torch.tensor(x, requires_grad=True)
        want = cls(soft_label=True, smooth_nr=0.5, smooth_dr=1.0, reduction=reduction, **theirs)(
            xt, torch.as_tensor(soft))
        options = dict(axis=1, soft_label=True, smooth_nr=0.5, smooth_dr=1.0, reduction=reduction, **ours)
        got = fn(backend.asarray(x), t, **options)
        want_np = want.detach().numpy()
        np.testing.assert_allclose(backend.to_numpy(got), np.reshape(want_np, np.shape(backend.to_numpy(got))),
                                   rtol=rtol, atol=backend.atol, err_msg=reduction)
        if backend.library == "torch" and reduction != "none":
            (want_grad,) = torch.autograd.grad(want, xt)
            _, grad = backend.value_and_grad(lambda a, o=options: fn(a, t, **o), x)
            np.testing.assert_allclose(grad, want_grad.numpy(), rtol=rtol, atol=backend.atol, err_msg=reduction)


def test_soft_intersection_is_the_sum_of_minima(backend):
    """NumPy: with L1 sums, I = sum(min(p, t)); a soft target equal to the prediction is a
    perfect overlap (the classic sum(p t) is not)."""
    x, soft = _data(2, normalized=True)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    i = np.minimum(p, soft).sum(axis=(2, 3))
    want = 1.0 - 2.0 * i / (p.sum(axis=(2, 3)) + soft.sum(axis=(2, 3)))
    ps = backend.asarray(p)
    got = polyloss.dice_loss(ps, backend.asarray(soft), axis=1, soft_label=True, smooth_nr=0.0, smooth_dr=0.0,
                             reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=backend.rtol * 10, atol=backend.atol)
    perfect = polyloss.dice_loss(ps, ps, axis=1, soft_label=True, smooth_nr=0.0, smooth_dr=0.0)
    assert abs(float(backend.to_numpy(perfect))) <= backend.atol * 10
    assert float(backend.to_numpy(polyloss.dice_loss(ps, ps, axis=1, smooth_nr=0.0, smooth_dr=0.0))) > 0.1


@pytest.mark.parametrize("name", ["dice_loss", "jaccard_loss", "tversky_loss", "generalized_dice_loss"])
def test_hard_labels_do_not_change(backend, name):
    """With 0/1 targets and probabilities in [0, 1], soft_label changes nothing."""
    fn = getattr(polyloss, name)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, C, H, W)) * 2.0
    labels = rng.integers(0, C, size=(N, H, W))
    onehot = np.moveaxis(np.eye(C)[labels], -1, 1)
    xs = backend.asarray(x)
    for target in (labels, onehot):
        t = backend.asarray(target)
        a = fn(xs, t, axis=1, activation="softmax", soft_label=True, reduction="none")
        b = fn(xs, t, axis=1, activation="softmax", reduction="none")
        np.testing.assert_allclose(backend.to_numpy(a), backend.to_numpy(b), rtol=backend.rtol * 10,
                                   atol=backend.atol)
    assert fn(xs, backend.asarray(labels), axis=1, activation="softmax") is not None
    obj = getattr(polyloss, {"dice_loss": "DiceLoss", "jaccard_loss": "JaccardLoss", "tversky_loss": "TverskyLoss",
                             "generalized_dice_loss": "GeneralizedDiceLoss"}[name])(soft_label=True, axis=1)
    assert obj.soft_label is True and "soft_label=True" in repr(obj)
