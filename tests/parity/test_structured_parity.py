"""CTC against ``torch.nn.functional.ctc_loss`` and ``optax.losses.ctc_loss``, sparsemax
against ``optax.losses.multiclass_sparsemax_loss``: values on every backend, gradients
with torch autograd and ``jax.grad``.

Option mapping: optax's per-sequence CTC of ``logits`` with paddings is
``ctc_loss(log_softmax(logits), labels, T - sum(logit_paddings), N - sum(label_paddings),
blank=blank_id, time_axis=1, reduction="none")``. torch's CTC gradient with respect to
``log_probs`` is that of the logits under a log-softmax (it adds ``exp(log_probs)`` on
the frames within the input length); polyloss gives the exact gradient, so gradients are
compared through ``log_softmax``, and the difference itself is checked.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F

import polyloss

pytestmark = pytest.mark.parity

T, N, C = 8, 4, 5
TARGETS = np.array([[1, 2, 2, 3], [4, 4, 1, -1], [3, -1, -1, -1], [2, 1, 3, 4]])
INPUT_LENGTHS = np.array([8, 6, 4, 7])
TARGET_LENGTHS = np.array([4, 3, 1, 4])


def _log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _logits(seed):
    return np.random.default_rng(seed).normal(size=(T, N, C)) * 2.0


def _rounded(backend, x):
    return backend.to_numpy(backend.asarray(x)).astype(np.float64)


def _close(backend, got, want):
    np.testing.assert_allclose(backend.to_numpy(got), np.asarray(want), rtol=backend.rtol, atol=backend.atol)


def _torch_ctc(lp, targets, il, tl, **options):
    """torch's loss of float64 (T, N, C) log-probabilities (padding replaced by 0: torch
    does not read it, but it needs class indices to be safe)."""
    return F.ctc_loss(torch.as_tensor(lp), torch.as_tensor(np.where(targets < 0, 0, targets)),
                      torch.as_tensor(il), torch.as_tensor(tl), **options).numpy()


# --------------------------------------------------------------------------
# torch.nn.functional.ctc_loss
# --------------------------------------------------------------------------

CASES = {
    "defaults": ({}, {}),
    "blank=2": ({"blank": 2}, {"targets": np.where(TARGETS == 2, 0, TARGETS)}),
    "time_axis=1": ({"time_axis": 1}, {}),
    "infeasible": ({}, {"il": np.array([8, 6, 4, 3])}),  # 2 1 3 4 in 3 frames
    "zero_infinity": ({"zero_infinity": True}, {"il": np.array([8, 3, 4, 7])}),  # 4 4 1 needs 4
    "concatenated": ({}, {"concatenated": True}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ctc_matches_torch(backend, case):
    options, data = CASES[case]
    targets = data.get("targets", TARGETS)
    il = data.get("il", INPUT_LENGTHS)
    lp = _log_softmax(_logits(1))
    lp_rounded = _rounded(backend, lp)
    if data.get("concatenated"):
        flat = np.concatenate([targets[n, : TARGET_LENGTHS[n]] for n in range(N)])
        t_arg, t_torch = flat, flat
    else:
        t_arg, t_torch = targets, targets
    x = np.swapaxes(lp, 0, 1) if options.get("time_axis") == 1 else lp
    args = [backend.asarray(a) for a in (x, t_arg, il, TARGET_LENGTHS)]
    torch_options = {k: v for k, v in options.items() if k != "time_axis"}
    for reduction in ("none", "sum", "mean"):
        want = _torch_ctc(lp_rounded, t_torch, il, TARGET_LENGTHS, reduction=reduction, **torch_options)
        _close(backend, polyloss.ctc_loss(*args, **options, reduction=reduction), want)
    if case == "infeasible":
        assert np.isinf(want)


def _value_and_logit_grad(backend, logits, fn):
    """Value and gradient, with respect to the logits, of ``fn(log_softmax(logits))``."""
    if backend.library == "torch":
        return backend.value_and_grad(lambda a: fn(torch.log_softmax(a, dim=-1)), logits)
    return backend.value_and_grad(lambda a: fn(jax.nn.log_softmax(a, axis=-1)), logits)


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_ctc_logit_gradient_matches_torch(backend, reduction, zero_infinity):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    logits = _logits(2)
    il = np.array([8, 3, 4, 7]) if zero_infinity else INPUT_LENGTHS  # sample 1 is infeasible
    args = [backend.asarray(a) for a in (TARGETS, il, TARGET_LENGTHS)]
    value, grad = _value_and_logit_grad(
        backend, logits,
        lambda lp: polyloss.ctc_loss(lp, *args, zero_infinity=zero_infinity, reduction=reduction))
    x = torch.tensor(_rounded(backend, logits), requires_grad=True)
    want = F.ctc_loss(torch.log_softmax(x, -1), torch.as_tensor(np.where(TARGETS < 0, 0, TARGETS)),
                      torch.as_tensor(il), torch.as_tensor(TARGET_LENGTHS), zero_infinity=zero_infinity,
                      reduction=reduction)
    (want_grad,) = torch.autograd.grad(want, x)
    tol = {"rtol": backend.rtol * 10, "atol": backend.atol * 10}
    np.testing.assert_allclose(value, want.detach().numpy(), **tol)
    np.testing.assert_allclose(grad, want_grad.numpy(), **tol)


def test_ctc_log_probs_gradient_is_torchs_minus_exp_log_probs():
    """The documented disagreement: torch's gradient with respect to the log-probabilities
    is polyloss' (the exact one) plus ``exp(log_probs)`` on each sample's frames."""
    lp = np.random.default_rng(3).normal(size=(T, N, C)) - 1.0  # not normalized
    t, il, tl = torch.as_tensor(np.where(TARGETS < 0, 0, TARGETS)), torch.as_tensor(INPUT_LENGTHS), \
        torch.as_tensor(TARGET_LENGTHS)
    x = torch.tensor(lp, requires_grad=True)
    (ours,) = torch.autograd.grad(polyloss.ctc_loss(x, t, il, tl, reduction="sum"), x)
    (theirs,) = torch.autograd.grad(F.ctc_loss(x, t, il, tl, reduction="sum"), x)
    frames = (np.arange(T)[:, None] < INPUT_LENGTHS[None, :])[..., None]
    np.testing.assert_allclose(theirs.numpy(), ours.numpy() + np.where(frames, np.exp(lp), 0.0), rtol=1e-10,
                               atol=1e-12)


# --------------------------------------------------------------------------
# optax.losses.ctc_loss
# --------------------------------------------------------------------------


def _optax_case(seed, blank_id):
    """(B, T, K) logits with right paddings, labels with right paddings (no label is the blank)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(N, T, C)) * 2.0
    labels = np.where(TARGETS < 0, 0, TARGETS)
    if blank_id:
        labels = np.where(labels == blank_id, 0, labels)
    logit_paddings = (np.arange(T)[None, :] >= INPUT_LENGTHS[:, None]).astype(np.float64)
    label_paddings = (np.arange(TARGETS.shape[1])[None, :] >= TARGET_LENGTHS[:, None]).astype(np.float64)
    return logits, logit_paddings, labels, label_paddings


def _optax_mapped(logit_paddings, label_paddings):
    input_lengths = (logit_paddings.shape[1] - logit_paddings.sum(1)).astype(np.int64)
    target_lengths = (label_paddings.shape[1] - label_paddings.sum(1)).astype(np.int64)
    return input_lengths, target_lengths


@pytest.mark.parametrize("blank_id", [0, 3])
def test_ctc_matches_optax(backend, blank_id):
    logits, logit_paddings, labels, label_paddings = _optax_case(4, blank_id)
    logits = _rounded(backend, logits)
    want = optax.losses.ctc_loss(jnp.asarray(logits), jnp.asarray(logit_paddings), jnp.asarray(labels),
                                 jnp.asarray(label_paddings), blank_id=blank_id)
    il, tl = _optax_mapped(logit_paddings, label_paddings)
    got = polyloss.ctc_loss(backend.asarray(_log_softmax(logits)), backend.asarray(labels), backend.asarray(il),
                            backend.asarray(tl), blank=blank_id, time_axis=1, reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), np.asarray(want), rtol=backend.rtol * 10, atol=backend.atol)


def test_ctc_logit_gradient_matches_optax(backend):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    logits, logit_paddings, labels, label_paddings = _optax_case(5, 0)
    logits = _rounded(backend, logits)
    want, want_grad = jax.value_and_grad(lambda a: jnp.sum(optax.losses.ctc_loss(
        a, jnp.asarray(logit_paddings), jnp.asarray(labels), jnp.asarray(label_paddings))))(jnp.asarray(logits))
    il, tl = _optax_mapped(logit_paddings, label_paddings)
    args = [backend.asarray(a) for a in (labels, il, tl)]
    value, grad = _value_and_logit_grad(
        backend, logits, lambda lp: polyloss.ctc_loss(lp, *args, time_axis=1, reduction="sum"))
    tol = {"rtol": backend.rtol * 10, "atol": backend.atol * 10}
    np.testing.assert_allclose(value, float(want), **tol)
    np.testing.assert_allclose(grad, np.asarray(want_grad), **tol)


# --------------------------------------------------------------------------
# optax.losses.multiclass_sparsemax_loss
# --------------------------------------------------------------------------


def _scores(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(10, 6)) * 1.5
    z[0] = [4.0, 1.0, 0.5, 0.0, -1.0, 2.0]  # a margin >= 1: loss 0
    z[1] = 0.25  # all tied
    return z, rng.integers(0, 6, 10)


def test_sparsemax_matches_optax(backend):
    z, y = _scores(6)
    z = _rounded(backend, z)
    want = np.asarray(optax.losses.multiclass_sparsemax_loss(jnp.asarray(z), jnp.asarray(y)))
    x, t = backend.asarray(z), backend.asarray(y)
    for reduction, expected in (("none", want), ("sum", want.sum()), ("mean", want.mean())):
        np.testing.assert_allclose(backend.to_numpy(polyloss.sparsemax_loss(x, t, reduction=reduction)), expected,
                                   rtol=backend.rtol * 10, atol=backend.atol)
    # channel-first K-dim input: optax on the flattened (N * d, C) scores
    z3 = np.moveaxis(z.reshape(2, 5, 6), -1, 1)
    np.testing.assert_allclose(
        backend.to_numpy(polyloss.sparsemax_loss(backend.asarray(z3), backend.asarray(y.reshape(2, 5)),
                                                 reduction="none")),
        want.reshape(2, 5), rtol=backend.rtol * 10, atol=backend.atol)


def test_sparsemax_gradient_matches_optax(backend):
    if not backend.has_grad:
        pytest.skip(f"{backend} has no autodiff")
    z, y = _scores(7)
    z = _rounded(backend, z)
    want, want_grad = jax.value_and_grad(
        lambda a: jnp.mean(optax.losses.multiclass_sparsemax_loss(a, jnp.asarray(y))))(jnp.asarray(z))
    t = backend.asarray(y)
    value, grad = backend.value_and_grad(lambda a: polyloss.sparsemax_loss(a, t), z)
    tol = {"rtol": backend.rtol * 10, "atol": backend.atol * 10}
    np.testing.assert_allclose(value, float(want), **tol)
    np.testing.assert_allclose(grad, np.asarray(want_grad), **tol)
