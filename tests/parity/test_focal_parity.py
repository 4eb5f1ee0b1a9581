"""Focal losses against the article's FocalLoss, torch's cross-entropy, torchvision's
sigmoid focal loss (transcribed) and MONAI's sigmoid focal loss, and Poly-1 focal
against Leng et al.'s reference code (transcribed)."""

from __future__ import annotations

import numpy as np
import pytest

import polyloss

pytestmark = pytest.mark.parity
torch = F = ArticleFocalLoss = torchvision_sigmoid_focal_loss = None  # set by the `peers` fixture


@pytest.fixture(autouse=True, scope="module")
def peers():
    """Import the peers, with plain imports: in the parity session a missing peer fails
    every test here, never skips it; other sessions only collect this file (``-m "not
    parity"``) and need none of them."""
    global torch, F, ArticleFocalLoss, torchvision_sigmoid_focal_loss
    import torch

    from references import ArticleFocalLoss, torchvision_sigmoid_focal_loss  # imports torch

    F = torch.nn.functional


def _close(backend, got, want, rtol=None):
    np.testing.assert_allclose(backend.to_numpy(got), np.asarray(want),
                               rtol=backend.rtol if rtol is None else rtol, atol=backend.atol)


def _multiclass(seed=0, shape=(2, 5, 3, 4)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 3.0
    t = rng.integers(0, shape[1], size=(shape[0], *shape[2:]))
    alpha = rng.uniform(size=shape[1])
    return x, t, alpha


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_focal_loss_matches_article(backend, gamma, with_alpha):
    x, t, alpha = _multiclass()
    a = torch.as_tensor(alpha) if with_alpha else None
    for reduction, size_average in (("mean", True), ("sum", False)):
        want = ArticleFocalLoss(gamma=gamma, alpha=a, size_average=size_average)(
            torch.as_tensor(x), torch.as_tensor(t))
        got = polyloss.focal_loss(backend.asarray(x), backend.asarray(t), gamma=gamma,
                                  alpha=alpha if with_alpha else None, reduction=reduction)
        _close(backend, got, want.numpy())
    # the loss object, with a per-class alpha, is the function
    obj = polyloss.FocalLoss(gamma=gamma, alpha=alpha if with_alpha else None)
    _close(backend, obj(backend.asarray(x), backend.asarray(t)),
           ArticleFocalLoss(gamma=gamma, alpha=a)(torch.as_tensor(x), torch.as_tensor(t)).numpy())


def test_focal_loss_gamma0_is_cross_entropy(backend):
    x, t, _ = _multiclass(1)
    t[0, 0, 0] = -100
    xs, ts = backend.asarray(x), backend.asarray(t)
    for reduction in ("mean", "sum", "none"):
        want = F.cross_entropy(torch.as_tensor(x), torch.as_tensor(t), reduction=reduction).numpy()
        _close(backend, polyloss.focal_loss(xs, ts, gamma=0.0, reduction=reduction), want)
    x2, t2 = x[:, :, 0, :].transpose(0, 2, 1), t[:, 0, :]  # channel-last (N, L, C)
    want = F.cross_entropy(torch.as_tensor(x2).transpose(1, 2), torch.as_tensor(t2)).numpy()
    _close(backend, polyloss.focal_loss(backend.asarray(x2), backend.asarray(t2), gamma=0.0, axis=-1), want)


def test_focal_loss_gamma0_is_polyloss_cross_entropy(backend):
    cross_entropy = polyloss.cross_entropy
    x, t, _ = _multiclass(2)
    xs, ts = backend.asarray(x), backend.asarray(t)
    for reduction in ("mean", "sum", "none"):
        _close(backend, polyloss.focal_loss(xs, ts, gamma=0.0, reduction=reduction),
               backend.to_numpy(cross_entropy(xs, ts, reduction=reduction)))


def _binary(seed=0, soft=False, shape=(4, 3, 5)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 2.0
    t = rng.uniform(size=shape) if soft else (rng.uniform(size=shape) < 0.4).astype(np.float64)
    return x, t


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [0.25, 0.8, None])
@pytest.mark.parametrize("soft", [False, True])
def test_sigmoid_focal_loss_matches_torchvision(backend, gamma, alpha, soft):
    x, t = _binary(soft=soft)
    for reduction in ("none", "mean", "sum"):
        want = torchvision_sigmoid_focal_loss(torch.as_tensor(x), torch.as_tensor(t),
                                              alpha=-1 if alpha is None else alpha, gamma=gamma,
                                              reduction=reduction)
        got = polyloss.sigmoid_focal_loss(backend.asarray(x), backend.asarray(t), gamma=gamma, alpha=alpha,
                                          reduction=reduction)
        # polyloss' 1 - p_t has no cancellation; torchvision's loses ~1e-16 absolute
        _close(backend, got, want.numpy(), rtol=max(backend.rtol, 1e-11))


def test_sigmoid_focal_loss_matches_monai(backend):
    """MONAI's ``FocalLoss(use_softmax=False)`` is an installed peer of the same formula. It
    casts to float32 (``input.float()``), hence rtol 1e-5 on every backend, and its "sum" sums
    the per-(sample, class) spatial means, i.e. polyloss' sum divided by the spatial size."""
    import monai.losses as monai_losses
    x, t = _binary(1, shape=(2, 3, 4, 4))
    xs, ts = backend.asarray(x), backend.asarray(t)
    for reduction, scale in (("none", 1.0), ("mean", 1.0), ("sum", 1.0 / 16)):
        want = monai_losses.FocalLoss(gamma=2.0, alpha=0.25, use_softmax=False, reduction=reduction)(
            torch.as_tensor(x), torch.as_tensor(t)).numpy()
        got = polyloss.sigmoid_focal_loss(xs, ts, reduction=reduction)
        np.testing.assert_allclose(backend.to_numpy(got) * scale, want, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------
# Poly-1 focal: Leng et al., "PolyLoss", ICLR 2022, appendix (TensorFlow), in torch
# --------------------------------------------------------------------------


def leng_poly1_focal_loss(logits, labels, epsilon=1.0, gamma=2.0, alpha=0.25):
    p = torch.sigmoid(logits)
    ce_loss = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    pt = labels * p + (1 - labels) * (1 - p)
    fl = ce_loss * torch.pow(1 - pt, gamma)
    if alpha >= 0:
        alpha_t = alpha * labels + (1 - alpha) * (1 - labels)
        fl = alpha_t * fl
    return fl + epsilon * torch.pow(1 - pt, gamma + 1)


@pytest.mark.parametrize("epsilon", [1.0, -0.5, 2.0])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("alpha", [0.25, None])
def test_poly1_focal_loss_matches_leng(backend, epsilon, gamma, alpha):
    x, t = _binary(2)
    want = leng_poly1_focal_loss(torch.as_tensor(x), torch.as_tensor(t), epsilon=epsilon, gamma=gamma,
                                 alpha=-1 if alpha is None else alpha)
    xs, ts = backend.asarray(x), backend.asarray(t)
    kw = dict(epsilon=epsilon, gamma=gamma, alpha=alpha)
    rtol = max(backend.rtol, 1e-11)
    _close(backend, polyloss.poly1_focal_loss(xs, ts, reduction="none", **kw), want.numpy(), rtol)
    _close(backend, polyloss.poly1_focal_loss(xs, ts, **kw), want.mean().numpy(), rtol)
    _close(backend, polyloss.poly1_focal_loss(xs, ts, reduction="sum", **kw), want.sum().numpy(), rtol)
    # epsilon = 0 is the focal loss
    _close(backend, polyloss.poly1_focal_loss(xs, ts, epsilon=0.0, gamma=gamma, alpha=alpha),
           backend.to_numpy(polyloss.sigmoid_focal_loss(xs, ts, gamma=gamma, alpha=alpha)))
