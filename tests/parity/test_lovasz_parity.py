"""Lovász-softmax, Lovász hinge and MCC against segmentation_models_pytorch 0.6.0
(``LovaszLoss`` and ``MCCLoss``, transcribed verbatim in tests/references.py: smp's
package does not import beside the CPU torch here), values and gradients.

smp computes the Lovász gradient in float32 (``gt_sorted.float().cumsum(0)``), and
``torch.dot`` then refuses float64 errors: smp's Lovász losses raise on float64
input. The float64 comparisons therefore run smp's code with its ``_lovasz_grad``
in the truth's dtype (``.double()`` for ``.float()``, nothing else changed);
``test_smp_verbatim_in_float32`` compares the unmodified code in float32.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import polyloss
import references
from references import smp_losses

pytestmark = pytest.mark.parity
IGNORE = 255


def _lovasz_grad_float64(gt_sorted):
    """smp's ``_lovasz_grad`` with ``.double()`` in place of ``.float()``."""
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.double().cumsum(0)
    union = gts + (1 - gt_sorted).double().cumsum(0)
    jaccard = 1.0 - intersection / union
    if p > 1:  # cover 1-pixel case
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


@pytest.fixture
def smp64(monkeypatch):
    monkeypatch.setattr(references, "_lovasz_grad", _lovasz_grad_float64)
    return smp_losses


def _peer(fn, x, *rest):
    """smp's value and its autograd gradient with respect to `x`, in float64."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = fn(xt, *(torch.as_tensor(r) for r in rest))
    (grad,) = torch.autograd.grad(value, xt)
    return value.detach().numpy(), grad.numpy()


def _check(backend, fn, x, want, want_grad):
    """Our value on the backend and, where it differentiates, our gradient."""
    tol = dict(rtol=backend.rtol, atol=backend.atol)
    np.testing.assert_allclose(backend.to_numpy(fn(backend.asarray(x))), want, **tol)
    if backend.has_grad:
        _, grad = backend.value_and_grad(fn, x)
        np.testing.assert_allclose(grad, want_grad, **tol)


def _multiclass(seed, ignore):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 4, 4, 5)) * 2.0
    t = rng.integers(0, 4, size=(3, 4, 5))
    t[2] = np.where(t[2] == 3, 0, t[2])  # a class absent from one image
    if ignore is not None:
        t[0, 0] = ignore
        t[1, 2, 1:4] = ignore
    return x, t


def _binary(seed, ignore):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 4, 5)) * 2.0
    t = (rng.uniform(size=x.shape) < 0.4).astype(np.float64)
    if ignore is not None:
        t[0, 1, :3] = ignore
    return x, t


# --------------------------------------------------------------------------
# Lovász-softmax
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ignore", [None, IGNORE])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_softmax_matches_smp(backend, smp64, per_image, ignore):
    x, t = _multiclass(0, ignore)
    peer = smp64.LovaszLoss("multiclass", per_image=per_image, ignore_index=ignore)
    want, want_grad = _peer(peer, x, t)
    ts = backend.asarray(t)
    for reduction, scale in (("mean", 1.0), ("sum", 3.0 if per_image else 1.0)):
        fn = lambda a, r=reduction: polyloss.lovasz_softmax_loss(  # noqa: E731
            a, ts, per_image=per_image, ignore_index=ignore, reduction=r)
        _check(backend, fn, x, want * scale, want_grad * scale)
    # the loss object is the function
    obj = polyloss.LovaszSoftmaxLoss(per_image=per_image, ignore_index=ignore)
    np.testing.assert_allclose(backend.to_numpy(obj(backend.asarray(x), ts)), want,
                               rtol=backend.rtol, atol=backend.atol)
    if per_image:  # "none": smp on each image alone
        each = [_peer(peer, x[i : i + 1], t[i : i + 1])[0] for i in range(3)]
        got = polyloss.lovasz_softmax_loss(backend.asarray(x), ts, per_image=True, ignore_index=ignore,
                                           reduction="none")
        np.testing.assert_allclose(backend.to_numpy(got), each, rtol=backend.rtol, atol=backend.atol)


@pytest.mark.parametrize("classes", ["present", "all"])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_softmax_on_probabilities_and_classes_match_smp(backend, smp64, classes, per_image):
    """``activation=None`` and ``classes`` against smp's ``_lovasz_softmax(probas, labels,
    classes, per_image, ignore)`` (its LovaszLoss always softmaxes and uses "present"),
    channel-last with ``axis=-1``."""
    x, t = _multiclass(1, IGNORE)
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    want, want_grad = _peer(
        lambda a, b: smp64._lovasz_softmax(a, b, classes=classes, per_image=per_image, ignore=IGNORE), p, t)
    ts = backend.asarray(t)
    fn = lambda a: polyloss.lovasz_softmax_loss(  # noqa: E731
        a, ts, activation=None, classes=classes, per_image=per_image, ignore_index=IGNORE)
    _check(backend, fn, p, want, want_grad)
    last = lambda a: polyloss.lovasz_softmax_loss(  # noqa: E731
        a, ts, axis=-1, activation=None, classes=classes, per_image=per_image, ignore_index=IGNORE)
    _check(backend, last, np.moveaxis(p, 1, -1), want, np.moveaxis(want_grad, 1, -1))


# --------------------------------------------------------------------------
# Lovász hinge
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ignore", [None, IGNORE])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_hinge_matches_smp(backend, smp64, per_image, ignore):
    x, t = _binary(2, ignore)
    peer = smp64.LovaszLoss("binary", per_image=per_image, ignore_index=ignore)
    want, want_grad = _peer(peer, x, t)
    ts = backend.asarray(t)
    for reduction, scale in (("mean", 1.0), ("sum", 3.0 if per_image else 1.0)):
        fn = lambda a, r=reduction: polyloss.lovasz_hinge_loss(  # noqa: E731
            a, ts, per_image=per_image, ignore_index=ignore, reduction=r)
        _check(backend, fn, x, want * scale, want_grad * scale)
    if per_image:
        each = [_peer(peer, x[i : i + 1], t[i : i + 1])[0] for i in range(3)]
        got = polyloss.lovasz_hinge_loss(backend.asarray(x), ts, per_image=True, ignore_index=ignore,
                                         reduction="none")
        np.testing.assert_allclose(backend.to_numpy(got), each, rtol=backend.rtol, atol=backend.atol)


# --------------------------------------------------------------------------
# MCC
# --------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_mcc_matches_smp(backend, eps):
    rng = np.random.default_rng(3)
    p = rng.uniform(size=(3, 4, 5))
    y = (rng.uniform(size=p.shape) < 0.3).astype(np.float64)
    want, want_grad = _peer(smp_losses.MCCLoss(eps=eps), p, y)
    ys = backend.asarray(y)
    for reduction in ("mean", "sum", "none"):
        _check(backend, lambda a, r=reduction: polyloss.mcc_loss(a, ys, eps=eps, reduction=r), p, want, want_grad)
    np.testing.assert_allclose(backend.to_numpy(polyloss.MCCLoss(eps=eps)(backend.asarray(p), ys)), want,
                               rtol=backend.rtol, atol=backend.atol)


# --------------------------------------------------------------------------
# smp's own code, unmodified, in float32
# --------------------------------------------------------------------------


def test_smp_verbatim_in_float32():
    x, t = _multiclass(4, IGNORE)
    xb, tb = _binary(4, IGNORE)
    with pytest.raises(RuntimeError, match="dtype"):  # the float64 refusal described above
        smp_losses.LovaszLoss("multiclass")(torch.tensor(x), torch.tensor(t))
    cases = [
        (smp_losses.LovaszLoss("multiclass", per_image=True, ignore_index=IGNORE), polyloss.lovasz_softmax_loss,
         x, t, {"per_image": True, "ignore_index": IGNORE}),
        (smp_losses.LovaszLoss("binary", ignore_index=IGNORE), polyloss.lovasz_hinge_loss,
         xb, tb, {"ignore_index": IGNORE}),
    ]
    for peer, ours, a, b, options in cases:
        a32 = torch.tensor(a, dtype=torch.float32, requires_grad=True)
        b32 = torch.tensor(b, dtype=torch.float32 if b.dtype.kind == "f" else torch.int64)
        want = peer(a32, b32)
        (want_grad,) = torch.autograd.grad(want, a32)
        got = ours(a32, b32, **options)
        (grad,) = torch.autograd.grad(got, a32)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad, want_grad, rtol=1e-5, atol=1e-7)
