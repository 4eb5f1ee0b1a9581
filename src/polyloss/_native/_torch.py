"""Native PyTorch kernels of whole losses (see ``polyloss._native``).

They call the fused ATen kernels (``torch._C._nn.*``) directly:
``torch.nn.functional``'s wrappers re-broadcast, re-check and re-map the reduction
on every call, which costs as much as the kernel itself on small batches, and the
loss functions have already validated the arguments. A kernel returns
``NotImplemented`` for what it does not cover exactly; the generic path then runs.
In particular:

- class-index losses under tracing (``torch.compile``, ``vmap``) cannot read an index
  to raise for it: an out-of-range one is made ignored for the kernel and the result
  NaN by ``where``, as on the generic path;
- a ``"mean"`` whose divisor is 0 (every target ignored): torch gives NaN, polyloss
  0 with a zero gradient. On CPU the result is checked (a cheap read) and the
  generic path redoes the rare NaN case; on other devices the kernel divides the
  ``"sum"`` by the total weight itself, without a host synchronisation;
- ``binary_cross_entropy`` with a gradient when some probability is within 1e-12
  of 0 or 1, where torch's clamped gradient differs from the exact one.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import array_api_compat.torch as xp

from .. import _chunked
from .._checks import check_class_indices
from .._reduce import safe_divide

# Imported only once torch itself is (see polyloss._array.backend_module): never imports it.
torch: Any = sys.modules["torch"]
F: Any = torch.nn.functional

_nn = torch._C._nn
_REDUCTION = {"none": 0, "mean": 1, "sum": 2}
_is_compiling = torch.compiler.is_compiling
_is_batched = torch._C._functorch.is_batchedtensor
_functorch_active = torch._C._are_functorch_transforms_active


def _eager(x: torch.Tensor) -> bool:
    """Not traced by torch.compile and not a vmap-batched tensor."""
    return not _is_compiling() and not _is_batched(x)


def _reads_cheaply(x: torch.Tensor) -> bool:
    """Whether reading a value of `x` back to Python costs no device synchronisation."""
    return x.is_cpu


def _check_indices(target: torch.Tensor, num_classes: int, ignore_index: int) -> None:
    check_class_indices(xp, target, num_classes, ignore_index=ignore_index)


def _classes_exact(num_classes: int, dtype: torch.dtype) -> bool:
    """Whether every class number is exact as a float of `dtype`, so that no label, in
    range or not, rounds onto another class in `_float_one_hot`."""
    return num_classes <= (1 << 24 if dtype == torch.float32 else 1 << 53)


def _float_one_hot(labels: torch.Tensor, like: torch.Tensor, axis: int) -> torch.Tensor:
    """A one-hot of `like`'s shape and dtype along `axis`, from class labels given as floats
    of that dtype (size 1 along `axis`; any non-class value, such as -1, gives no class),
    by one comparison written into a float tensor: on CPU about a tenth of the cost of a
    scatter into zeros, or of a boolean mask and its cast."""
    shape = [1] * like.ndim
    shape[axis] = like.shape[axis]
    classes = torch.arange(like.shape[axis], dtype=like.dtype, device=like.device).view(shape)
    return torch.eq(labels, classes, out=torch.empty_like(like))


# --------------------------------------------------------------------------
# regression
# --------------------------------------------------------------------------


def l1_loss(x: torch.Tensor, y: torch.Tensor, *, weight: object = None, reduction: str) -> torch.Tensor:
    if weight is not None:
        return NotImplemented
    return _nn.l1_loss(x, y, _REDUCTION[reduction])


def mse_loss(x: torch.Tensor, y: torch.Tensor, *, weight: object = None, reduction: str) -> torch.Tensor:
    if weight is not None:
        return NotImplemented
    return _nn.mse_loss(x, y, _REDUCTION[reduction])


def huber_loss(x: torch.Tensor, y: torch.Tensor, *, delta: float, reduction: str) -> torch.Tensor:
    if delta == 0:  # torch requires delta > 0; the generic path gives 0
        return NotImplemented
    return _nn.huber_loss(x, y, _REDUCTION[reduction], float(delta))


def smooth_l1_loss(x: torch.Tensor, y: torch.Tensor, *, beta: float, reduction: str) -> torch.Tensor:
    return _nn.smooth_l1_loss(x, y, _REDUCTION[reduction], float(beta))


# --------------------------------------------------------------------------
# class-indexed
# --------------------------------------------------------------------------


def _class_first(x: torch.Tensor, target: torch.Tensor, axis: int):
    """The class axis at 1 (ATen's layout); an unbatched ``(C,)`` keeps axis 0.

    Channel-last ``(N, d1, ..., C)`` is flattened to ``(N * d1 * ..., C)`` (a view for
    contiguous inputs); another axis is moved and made contiguous (the backward of
    ATen's ``nll_loss2d`` needs it). The per-sample result of ``"none"`` is reshaped
    back by the caller (`_unflatten`).
    """
    if axis == 1 or x.ndim == 1:
        return x, target
    if axis == x.ndim - 1:
        return x.reshape(-1, x.shape[-1]), target.reshape(-1)
    return torch.movedim(x, axis, 1).contiguous(), target


def _unflatten(out: torch.Tensor, x: torch.Tensor, axis: int, reduction: str) -> torch.Tensor:
    """Undo the flattening of `_class_first` on a ``"none"`` result."""
    if reduction != "none" or axis == 1 or x.ndim <= 2:
        return out
    return out.reshape(x.shape[:axis] + x.shape[axis + 1 :])


def _indexed(kernel, x, target, weight, ignore_index, axis, reduction, *extra):
    """Run an ATen class-index kernel with polyloss' mean convention (0 when nothing counts)."""
    if target.dtype != torch.int64:
        target = target.long()
    shaped = x
    x, target = _class_first(x, target, axis)
    if not _eager(shaped):
        out = _indexed_traced(kernel, x, target, weight, ignore_index, reduction, extra)
        return _unflatten(out, shaped, axis, reduction)
    cpu = _reads_cheaply(x)
    if not cpu:  # CUDA kernels assert on the device rather than raise: validate first
        _check_indices(target, x.shape[1 if x.ndim > 1 else 0], ignore_index)
    try:
        if reduction != "mean":
            out = kernel(x, target, weight, _REDUCTION[reduction], ignore_index, *extra)
            return _unflatten(out, shaped, axis, reduction)
        if cpu:
            out = kernel(x, target, weight, 1, ignore_index, *extra)
            # NaN: nothing counts (torch divides 0 by 0) or NaN in the input; the generic
            # path gives 0 with a zero gradient for the first and NaN for the second
            return NotImplemented if math.isnan(out.item()) else out
    except (IndexError, RuntimeError):
        # ATen's CPU kernels check the index range themselves ("Target 7 is out of
        # bounds"): answer with polyloss' ValueError naming the index
        _check_indices(target, x.shape[1 if x.ndim > 1 else 0], ignore_index)
        raise
    total = kernel(x, target, weight, 2, ignore_index, *extra)
    return _mean_over(total, target != ignore_index, target, weight)  # validated: the rest is in range


def _mean_over(total, counted, target, weight):
    """``total`` divided by the count (the total class weight) of the `counted` entries;
    0 with a zero gradient when nothing counts."""
    if weight is None:
        divisor = counted.sum(dtype=total.dtype)
    else:
        divisor = torch.where(counted, weight[torch.where(counted, target, 0)], 0.0).sum()
    return safe_divide(xp, total, divisor)


def _indexed_traced(kernel, x, target, weight, ignore_index, reduction, extra):
    """`_indexed` under torch.compile or vmap, where no value can be read: an out-of-range
    index is sent to `ignore_index` before the kernel (never read out of bounds) and gives
    NaN after it, and a mean over nothing is 0; all by ``where``, without a branch."""
    num_classes = x.shape[1 if x.ndim > 1 else 0]
    counted = (target >= 0) & (target < num_classes)
    ignored = target == ignore_index
    valid = counted | ignored
    safe = torch.where(valid, target, ignore_index)
    if reduction == "none":
        return torch.where(valid, kernel(x, safe, weight, 0, ignore_index, *extra), float("nan"))
    total = kernel(x, safe, weight, 2, ignore_index, *extra)
    if reduction == "mean":
        total = _mean_over(total, counted & ~ignored, target, weight)
    return torch.where(valid.all(), total, float("nan"))


def nll_loss(
    x: torch.Tensor, target: torch.Tensor, *, weight: torch.Tensor | None, ignore_index: int,
    axis: int, reduction: str,
) -> torch.Tensor:
    return _indexed(_nn.nll_loss_nd, x, target, weight, ignore_index, axis, reduction)


def cross_entropy(
    x: torch.Tensor, target: torch.Tensor, *, weight: torch.Tensor | None, ignore_index: int,
    label_smoothing: float, axis: int, reduction: str,
) -> torch.Tensor:
    if target.is_floating_point():
        # class probabilities: torch gives NaN for a masked (-inf) logit of target
        # probability 0, where the generic path gives 0
        return NotImplemented
    if _takes_rows(x, axis):  # (N, C), or channel-last (N, d1, ..., C) as (N d1 ..., C)
        out = _cross_entropy_by_rows(x.reshape(-1, x.shape[-1]), target.reshape(-1), weight, ignore_index,
                                     float(label_smoothing), reduction)
        return out.reshape(target.shape) if reduction == "none" else out
    return _indexed(
        _nn.cross_entropy_loss, x, target, weight, ignore_index, axis, reduction, float(label_smoothing)
    )


# Large (N, C) batches on CPU go by blocks of rows. F.cross_entropy makes three fresh
# (N, C) tensors: the log-softmax in the forward, and in the backward a dense one-hot
# gradient and the result. On CPU each fresh tensor pays its page faults, which cost
# more than the arithmetic: at 8192 x 32000 float32 one read of the logits takes 35 ms,
# a fresh (N, C) tensor 265 ms. Here the forward writes each block's log-softmax into
# one block that is reused (and stays in cache) and keeps the rows' losses only; the
# backward writes each block's softmax straight into the gradient and scales it there,
# so the gradient is the only fresh (N, C) tensor. Row i's loss and gradient, with w_c
# the class weights (1 without), eps the smoothing, t = t_i and only rows that count:
#   loss_i = -(1 - eps) w_t log p_t - (eps / C) sum_c w_c log p_c
#   dloss_i / dx_i = p ((1 - eps) w_t + (eps / C) sum_c w_c) - (1 - eps) w_t e_t - (eps / C) w
# An ignored row's gradient is 0 times its softmax: NaN for a row of -inf logits, as
# torch's kernel gives (see polyloss.cross_entropy's notes).

# Blocks pay when F.cross_entropy's (N, C) tensors take 32 MiB or more: glibc maps
# every allocation of that size anew (its largest mmap threshold), so each pays its page
# faults at every call. Below that, freed memory is reused, and ATen's kernels are as
# fast as the blocks or faster (measured at one thread, forward and backward, 4096 x
# 1000 float32: 0.51 of F.cross_entropy when the allocator mapped anew, 1.18 when it
# reused; 0.46-0.51 at 4096 x 32768 and 0.45-0.46 at 8192 x 32000, forward alone 0.22-0.25).
_ROWS_FROM = 32 << 20  # bytes of logits
_BLOCK = 1 << 21  # elements in a block of rows (8 MiB of float32: within a core's cache share)
_log_softmax_into = torch.ops.aten._log_softmax.out
_softmax_into = torch.ops.aten._softmax.out


def _takes_rows(x: torch.Tensor, axis: int) -> bool:
    if x.ndim < 2 or axis != x.ndim - 1 or not x.is_cpu or not x.is_contiguous():
        return False
    return x.numel() * x.element_size() >= _ROWS_FROM and _eager(x) and not _functorch_active()


def _blocks(n: int, num_classes: int) -> list[slice]:
    rows = max(1, _BLOCK // num_classes)
    return [slice(start, min(start + rows, n)) for start in range(0, n, rows)]


class _CrossEntropyByRows(torch.autograd.Function):
    """Cross-entropy of ``(N, C)`` logits `x` and in-range targets `safe` (0 where
    `ignored`); `target_weight` is ``w_t`` (or None) and `divisor` the mean's (0: the
    mean is 0 with a zero gradient)."""

    @staticmethod
    def forward(ctx: Any, x: Any, safe: Any, ignored: Any, weight: Any, target_weight: Any, smoothing: float,
                reduction: str, divisor: float) -> Any:
        n, num_classes = x.shape
        block = x.new_empty((min(max(1, _BLOCK // num_classes), n), num_classes))
        log_pt = x.new_empty(n)
        smooth = x.new_empty(n) if smoothing else None  # sum_c w_c log p_c
        for rows in _blocks(n, num_classes):
            lsm = _log_softmax_into(x[rows], 1, False, out=block[: rows.stop - rows.start])
            log_pt[rows] = lsm.gather(1, safe[rows, None]).squeeze(1)
            if smooth is not None:
                smooth[rows] = lsm.sum(1) if weight is None else lsm @ weight
        loss = log_pt.mul_(-(1.0 - smoothing))
        if target_weight is not None:
            loss.mul_(target_weight)
        if smooth is not None:
            loss.sub_(smooth, alpha=smoothing / num_classes)
        loss.masked_fill_(ignored, 0.0)
        ctx.save_for_backward(x, safe, ignored, weight, target_weight)
        ctx.smoothing, ctx.reduction, ctx.divisor = smoothing, reduction, divisor
        if reduction == "none":
            return loss
        total = loss.sum()
        return total if reduction == "sum" else total / divisor if divisor else total.zero_()

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        x, safe, ignored, weight, target_weight = ctx.saved_tensors
        n, num_classes = x.shape
        eps, reduction = ctx.smoothing, ctx.reduction
        if reduction == "mean":
            g = g / ctx.divisor if ctx.divisor else torch.zeros_like(g)
        row_g = torch.where(ignored, 0.0, g)  # d total / d loss_i, 0 where ignored
        on_target = row_g * (1.0 - eps) if target_weight is None else row_g * target_weight * (1.0 - eps)
        total_weight = num_classes if weight is None else weight.sum()
        on_softmax = on_target + row_g * (total_weight * eps / num_classes)
        targets = torch.arange(n, device=x.device) * num_classes + safe
        if torch.is_grad_enabled():  # create_graph: a differentiable composition
            grad = torch.softmax(x, 1) * on_softmax[:, None]
            if eps:
                grad = grad - (eps / num_classes) * (row_g[:, None] if weight is None else torch.outer(row_g, weight))
            grad = grad.reshape(-1).index_add(0, targets, on_target, alpha=-1).reshape(n, num_classes)
            return grad, *(None,) * 7
        grad = torch.empty_like(x)
        for rows in _blocks(n, num_classes):
            block = _softmax_into(x[rows], 1, False, out=grad[rows])
            block.mul_(on_softmax[rows, None])
            if eps and weight is None:
                block.sub_(row_g[rows, None], alpha=eps / num_classes)
            elif eps:
                block.addr_(row_g[rows], weight, alpha=-eps / num_classes)
        grad.view(-1).index_add_(0, targets, on_target, alpha=-1)
        return grad, *(None,) * 7


def _cross_entropy_by_rows(
    x: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int, smoothing: float,
    reduction: str,
) -> torch.Tensor:
    """`cross_entropy` of eager ``(N, C)`` CPU logits by `_CrossEntropyByRows`; an
    out-of-range index raises the ValueError of ``check_class_indices``."""
    num_classes = x.shape[1]
    ignored = target == ignore_index
    safe = target.masked_fill(ignored, 0).long()
    lo, hi = (v.item() for v in torch.aminmax(safe))
    if lo < 0 or hi >= num_classes:
        _check_indices(target, num_classes, ignore_index)  # raises
    target_weight = None if weight is None else weight.take(safe)
    divisor = 0.0
    if reduction == "mean":
        kept = ~ignored
        divisor = float(kept.sum() if target_weight is None else target_weight[kept].sum())
    return _CrossEntropyByRows.apply(x, safe, ignored, weight, target_weight, smoothing, reduction, divisor)


# --------------------------------------------------------------------------
# overlap: per-class sums of a class map (Dice, Jaccard, Tversky, generalized Dice)
# --------------------------------------------------------------------------

# The four overlap losses differ only in the arithmetic on the (N, C) sums I = sum p t,
# P = sum p (sum p^2 with `squared`) and T = sum t, which stays in polyloss.overlap. The
# kernel makes them from the class map's `_float_one_hot` and sums. Ignored pixels have
# the label -1 (no class) and p = 0.
#
# With a softmax (not squared), the one-hot becomes q = p t in place once T is summed,
# and the backward is in closed form: with G = dL/dP + dL/dI t the softmax's backward
# p (G - sum_c p G) is p (dL/dP - a) + q dL/dI for a = sum_c p dL/dP + sum_c q dL/dI (two
# batched matrix products). That makes one fresh (N, C, S) tensor in each direction,
# which counts on CPU, where a fresh tensor of several MiB pays its page faults (3D: 0.57-
# 0.72 of MONAI against 0.80-0.86 for the activation's backward kernel on a G made first).
# Otherwise (sigmoid, none, squared) the backward is the activation's own kernel applied
# to G (dL/dP times 2p with `squared`); without an activation, G is masked.


class _ClassMapSums(torch.autograd.Function):
    """``(3, N, C)``: I, P and T of activated ``(N, C, S)`` (``cdim=1``) or ``(N, S, C)``
    (``cdim=2``) scores and ``(N, S)`` labels as floats (-1 or any non-class for no
    class); `keep` (a float mask, or None) marks the pixels that count."""

    @staticmethod
    def forward(ctx: Any, x: Any, labels: Any, keep: Any, activation: str | None, squared: bool,
                cdim: int) -> Any:
        if activation == "softmax":
            p = torch.softmax(x, cdim)
        elif activation == "sigmoid":
            p = torch.sigmoid(x)
        else:
            p = x
        sdim = 3 - cdim
        if keep is not None:  # p is 0 on ignored pixels from here on, so is their gradient after an activation
            p = p * keep.unsqueeze(cdim) if p is x else p.mul_(keep.unsqueeze(cdim))
        onehot = _float_one_hot(labels.unsqueeze(cdim), x, cdim)
        sums = x.new_empty((3, x.shape[0], x.shape[cdim]))
        torch.sum(onehot, sdim, out=sums[2])
        closed = activation == "softmax" and not squared
        if closed:
            q = onehot.mul_(p)
            torch.sum(q, sdim, out=sums[0])
        else:
            torch.linalg.vecdot(p, onehot, dim=sdim, out=sums[0])
        if squared:
            torch.linalg.vecdot(p, p, dim=sdim, out=sums[1])
        else:
            torch.sum(p, sdim, out=sums[1])
        ctx.save_for_backward(p if (activation is not None or squared) else None, onehot,
                              keep if activation is None else None)
        ctx.activation, ctx.squared, ctx.cdim, ctx.closed = activation, squared, cdim, closed
        return sums

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        p, onehot, keep = ctx.saved_tensors
        cdim = ctx.cdim
        sdim = 3 - cdim
        d_intersection, d_predicted = g[0].unsqueeze(sdim), g[1].unsqueeze(sdim)
        if ctx.closed:  # onehot holds q = p t
            if cdim == 1:
                a = torch.bmm(g[1].unsqueeze(1), p).baddbmm_(g[0].unsqueeze(1), onehot)
            else:
                a = torch.bmm(p, g[1].unsqueeze(2)).baddbmm_(onehot, g[0].unsqueeze(2))
            return torch.sub(d_predicted, a).mul_(p).addcmul_(onehot, d_intersection), *(None,) * 5
        grad = torch.mul(onehot, d_intersection)
        if ctx.squared:
            grad.addcmul_(p, 2.0 * d_predicted)
        else:
            grad.add_(d_predicted)
        if ctx.activation == "softmax":
            grad = torch._softmax_backward_data(grad, p, cdim, p.dtype)
        elif ctx.activation == "sigmoid":
            grad = torch.ops.aten.sigmoid_backward(grad, p)
        elif keep is not None:
            grad.mul_(keep.unsqueeze(cdim))
        return grad, None, None, None, None, None


def _class_map_sums(
    x: torch.Tensor, target: torch.Tensor, *, axis: int, activation: str | None, squared: bool,
    ignore_index: int | None,
) -> torch.Tensor:
    """``(3, N, C)``: the sums I, P, T over the spatial dimensions of each sample and
    class, for validated scores (compute dtype, class axis `axis`, before the
    activation) and an integer class map. Pixels equal to `ignore_index` count in no
    sum. Labels out of range (unchecked in traced calls) count in no sum here, and the
    caller makes those samples' sums NaN. The class axis must be 1 or the last one.
    CPU only (where it is measured; the generic path runs on accelerators), and not
    under ``torch.func`` transforms (``vmap``, ``grad``)."""
    n, num_classes = x.shape[0], x.shape[axis]
    if not x.is_cpu or _functorch_active() or not _classes_exact(num_classes, x.dtype):
        return NotImplemented
    if axis == 1:
        x3, cdim = x.reshape(n, num_classes, -1), 1
    elif axis == x.ndim - 1:
        x3, cdim = x.reshape(n, -1, num_classes), 2
    else:
        return NotImplemented
    labels = target.reshape(n, -1)
    keep = None
    if ignore_index is not None:
        ignored = labels == ignore_index
        keep = (~ignored).to(x.dtype)
        labels = labels.to(x.dtype).masked_fill_(ignored, -1.0)
    else:
        labels = labels.to(x.dtype)
    return _ClassMapSums.apply(x3, labels, keep, activation, squared, cdim)


dice_loss = jaccard_loss = tversky_loss = generalized_dice_loss = _class_map_sums


# --------------------------------------------------------------------------
# binary
# --------------------------------------------------------------------------

# torch's gradient of binary_cross_entropy divides by max(p (1 - p), 1e-12); within that
# margin of 0 and 1 (and in the clamped region) it differs from the exact gradient of
# the clamped loss that the generic path differentiates.
_BCE_MARGIN = 2e-12


_BCE_RANGE = "input of binary_cross_entropy must hold probabilities in [0, 1]"
_BCE_TARGET_RANGE = "target of binary_cross_entropy must hold probabilities in [0, 1]"


def binary_cross_entropy(
    p: torch.Tensor, y: torch.Tensor, *, weight: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """ATen's BCE; in eager calls it also validates both arguments' probabilities
    (ValueError naming which)."""
    if not _eager(p):  # out-of-range arguments must give NaN under tracing: the generic path
        return NotImplemented
    lowest, highest = torch.aminmax(y.detach())
    if not (lowest.item() >= 0.0 and highest.item() <= 1.0):  # NaN fails both
        raise ValueError(_BCE_TARGET_RANGE)
    if p.requires_grad and torch.is_grad_enabled():
        if not _reads_cheaply(p):
            return NotImplemented
        lo, hi = (v.item() for v in torch.aminmax(p.detach()))
        if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both
            raise ValueError(_BCE_RANGE)
        if not (lo > _BCE_MARGIN and hi < 1.0 - _BCE_MARGIN):
            return NotImplemented
    elif not _reads_cheaply(p):  # CUDA's kernel asserts on the device instead
        if bool(torch.any((p < 0.0) | (p > 1.0) | (p != p))):
            raise ValueError(_BCE_RANGE)
    if weight is not None and weight.shape != p.shape:
        weight = weight.expand(p.shape)
    try:
        return _nn.binary_cross_entropy(p, y, weight, _REDUCTION[reduction])
    except RuntimeError as e:  # ATen's CPU range check ("all elements of input should be between 0 and 1")
        if "between 0 and 1" in str(e):
            raise ValueError(_BCE_RANGE) from None
        raise


def binary_cross_entropy_with_logits(
    x: torch.Tensor, y: torch.Tensor, *, weight: torch.Tensor | None, pos_weight: torch.Tensor | None,
    reduction: str,
) -> torch.Tensor:
    return torch.binary_cross_entropy_with_logits(x, y, weight, pos_weight, _REDUCTION[reduction])


# --------------------------------------------------------------------------
# focal
# --------------------------------------------------------------------------


def sigmoid_focal_loss(
    x: torch.Tensor, t: torch.Tensor, *, gamma: float, alpha: float | None, reduction: str
) -> torch.Tensor:
    """``alpha_t (1 - p_t)^gamma BCE(x, t)`` with the generic path's formulas, in fewer kernels.

    ``BCE = softplus(x) - x t`` and ``1 - p_t = sigmoid(x)(1 - t) + sigmoid(-x) t`` as
    the generic path writes them; ``q ** gamma`` by ``pow``, whose gradient at
    ``q = 0`` is finite for ``gamma = 0`` and ``gamma >= 1`` only: other gammas go
    to the generic path (its ``exp(gamma log q)`` with a double ``where``).
    """
    if 0.0 < gamma < 1.0:
        return NotImplemented
    ce = F.softplus(x, beta=1.0, threshold=40.0) - x * t
    q = torch.sigmoid(x) * (1.0 - t) + torch.sigmoid(-x) * t
    loss = ce if gamma == 0 else ce * q.pow(float(gamma))
    if alpha is not None:
        loss = loss * ((1.0 - alpha) + (2.0 * alpha - 1.0) * t)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


# Softmax focal with class indices: log p_t gathered from ATen's fused log-softmax
# ((x - m) - log(sum exp(x - m)), the generic path's arithmetic), (1 - p_t)^gamma from
# -expm1(log p_t), no one-hot in the forward, and an analytic backward: with
# G = g d loss / d log p_t, dx = G (onehot_t - softmax), which is ATen's log-softmax
# backward of G onehot_t (its fused exp is twice as fast as torch.exp on CPU; the
# one-hot is `_float_one_hot`). The log-softmax is kept for the backward
# (one tensor of the input's size: recomputing it costs more than the focal arithmetic).
# A row whose log-softmax is NaN -- every logit -inf (a masked row), a +inf or a NaN
# logit -- sends the call to the generic path, which has its own rules for such rows.


_log_softmax_backward = torch.ops.aten._log_softmax_backward_data


class _SoftmaxFocal(torch.autograd.Function):
    """Element losses ``-alpha_t q^gamma log p_t`` from the precomputed (not
    differentiable) log-softmax `lsm`, ``lp = log p_t`` (0 where ignored), ``q = 1 - p_t``
    and ``mod = q^gamma``; their sum, divided by `count` for ``"mean"``. Differentiable
    in `x` only, and once (``once_differentiable``: no second derivative)."""

    @staticmethod
    def forward(ctx: Any, x: Any, lsm: Any, lp: Any, q: Any, mod: Any, index: Any, ignored: Any, alpha_t: Any,
                gamma: float, axis: int, reduction: str, count: Any) -> Any:
        # (ctx in forward, no setup_context: Function.apply then skips binding the
        # arguments by inspect.signature, which costs as much as the arithmetic on
        # small inputs; under torch.func transforms the generic path runs instead)
        ctx.save_for_backward(lsm, lp, q, mod, index, ignored, alpha_t)
        ctx.gamma, ctx.axis, ctx.reduction, ctx.count = gamma, axis, reduction, count
        loss = lp.neg() if mod is None else torch.mul(mod, lp).neg_()
        if alpha_t is not None:
            loss.mul_(alpha_t)
        if reduction == "none":
            return loss
        total = loss.sum()
        return total if reduction == "sum" else total / count

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        lsm, lp, q, mod, index, ignored, alpha_t = ctx.saved_tensors
        if ctx.reduction == "mean":
            g = g / ctx.count
        if mod is None:  # gamma = 0: d loss / d log p_t = -alpha_t
            dlp = torch.full_like(lp, -1.0) if alpha_t is None else alpha_t.neg()
            if ignored is not None:
                dlp.masked_fill_(ignored, 0.0)
        else:
            # d(-q^gamma log p_t) / d log p_t = q^gamma (gamma p_t log p_t / q - 1). Where
            # p_t = 1 to working precision (q = 0, and the ignored entries' log p_t = 0)
            # log p_t / q is 0 / 0: its limit -1 is taken, and q^gamma = 0 makes the
            # derivative 0, as the generic path's modulator
            dlp = torch.div(lp, q).nan_to_num_(-1.0, math.inf, -math.inf).mul_(lp.exp()).mul_(ctx.gamma).sub_(1.0).mul_(mod)
            if alpha_t is not None:
                dlp.mul_(alpha_t)
        dlp.mul_(g)
        onehot_g = _float_one_hot(index.to(lsm.dtype), lsm, ctx.axis).mul_(dlp.unsqueeze(ctx.axis))
        return _log_softmax_backward(onehot_g, lsm, ctx.axis, lsm.dtype), *(None,) * 11


def focal_loss(
    x: torch.Tensor, target: torch.Tensor, *, gamma: float, alpha: torch.Tensor | None, ignore_index: int | None,
    axis: int, reduction: str,
) -> torch.Tensor:
    """Softmax focal loss of validated logits (compute dtype, class axis `axis`), integer
    class indices and a validated ``(C,)`` alpha. Eager calls only (out-of-range indices
    must give NaN under tracing: the generic path), outside torch.func transforms; an
    out-of-range index raises the ValueError of ``check_class_indices``."""
    num_classes = x.shape[axis]
    if not _eager(x) or _functorch_active() or not _classes_exact(num_classes, x.dtype):
        return NotImplemented
    lo, hi = (v.item() for v in torch.aminmax(target))
    info = torch.iinfo(target.dtype)
    if not info.min <= ignore_index <= info.max:  # no entry can equal it (as index_masks)
        ignore_index = None
    ignored, safe = None, target
    if ignore_index is not None and lo <= ignore_index <= hi:
        ignored = target == ignore_index
        safe = target.masked_fill(ignored, 0)
        lo, hi = (v.item() for v in torch.aminmax(safe))
    if lo < 0 or hi >= num_classes:
        check_class_indices(xp, target, num_classes, ignore_index=ignore_index)  # raises
        return NotImplemented
    safe = safe.long()
    index = safe.unsqueeze(axis)
    with torch.no_grad():
        lsm = torch.log_softmax(x, axis)
        lp = lsm.gather(axis, index).squeeze(axis)
        if math.isnan(lp.sum().item()):  # log p_t <= 0: NaN only from a NaN row (see above)
            return NotImplemented
        if ignored is not None:
            lp.masked_fill_(ignored, 0.0)
        q = mod = None
        if gamma != 0:
            q = torch.expm1(lp).neg_()  # 1 - p_t, without cancellation
            mod = q.pow(float(gamma))
    alpha_t = None if alpha is None else alpha.take(safe)
    count = None
    if reduction == "mean":  # the entries that count; 1 when none does (the sum is then 0)
        count = target.numel() if ignored is None else (target.numel() - ignored.sum()).clamp_(min=1)
    return _SoftmaxFocal.apply(x, lsm, lp, q, mod, index, ignored, alpha_t, float(gamma), axis, reduction, count)


# --------------------------------------------------------------------------
# sequence: CTC
# --------------------------------------------------------------------------

# torch's CTC backward gives the gradient of the logits under a log-softmax (it adds
# exp(log_probs) on every frame within the input length), not that of log_probs: the
# kernel subtracts it, so that it gives the exact gradient of the generic path. ATen's
# op sizes its alpha table by the longest target (a data-dependent shape, which
# torch.compile cannot trace), so under compile it runs inside an opaque custom op of
# static (N,) output, whose graph does not grow with T.


def _ctc_frames(lp: torch.Tensor, il: torch.Tensor) -> torch.Tensor:
    """``(T, N, 1)``: whether frame t is within sample n's input length."""
    return (torch.arange(lp.shape[0], device=lp.device)[:, None] < il[None, :])[..., None]


@torch.library.custom_op(
    "polyloss::ctc_nll", mutates_args=(),
    schema="(Tensor log_probs, Tensor targets, Tensor input_lengths, Tensor target_lengths, int blank) -> Tensor",
)
def _ctc_nll_op(lp: torch.Tensor, tg: torch.Tensor, il: torch.Tensor, tl: torch.Tensor, blank: int) -> torch.Tensor:
    # zero_infinity=True: the value stays inf, the backward gives 0 for such samples
    return torch._ctc_loss(lp, tg, il, tl, blank, True)[0]


@torch.library.custom_op(
    "polyloss::ctc_nll_backward", mutates_args=(),
    schema="(Tensor grad, Tensor log_probs, Tensor targets, Tensor input_lengths, Tensor target_lengths, "
    "int blank) -> Tensor",
)
def _ctc_nll_backward_op(
    grad: torch.Tensor, lp: torch.Tensor, tg: torch.Tensor, il: torch.Tensor, tl: torch.Tensor, blank: int
) -> torch.Tensor:
    nll, alpha = torch._ctc_loss(lp, tg, il, tl, blank, True)  # recomputed: alpha's shape is data-dependent
    g = torch.ops.aten._ctc_loss_backward.Tensor(grad, lp, tg, il, tl, nll, alpha, blank, True)
    frames = _ctc_frames(lp, il) & torch.isfinite(nll)[None, :, None]
    return g - torch.where(frames, lp.exp() * grad[None, :, None], 0.0)


@_ctc_nll_op.register_fake
def _ctc_nll_fake(lp: torch.Tensor, tg: torch.Tensor, il: torch.Tensor, tl: torch.Tensor, blank: int) -> torch.Tensor:
    return lp.new_empty((lp.shape[1],))


@_ctc_nll_backward_op.register_fake
def _ctc_nll_backward_fake(
    grad: torch.Tensor, lp: torch.Tensor, tg: torch.Tensor, il: torch.Tensor, tl: torch.Tensor, blank: int
) -> torch.Tensor:
    return torch.empty_like(lp)


def _ctc_nll_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    lp, tg, il, tl, blank = inputs
    ctx.save_for_backward(lp, tg, il, tl)
    ctx.blank = blank


def _ctc_nll_grad(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
    lp, tg, il, tl = ctx.saved_tensors
    return _ctc_nll_backward_op(grad, lp, tg, il, tl, ctx.blank), None, None, None, None


_ctc_nll_op.register_autograd(_ctc_nll_grad, setup_context=_ctc_nll_setup)


def ctc_loss(
    lp: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor, target_lengths: torch.Tensor, *,
    blank: int,
) -> torch.Tensor:
    """Per-sample negative log-likelihoods of ``(T, N, C)`` log-probabilities and validated
    padded targets and lengths (the generic path's ``_ctc_nll``): inf, with a zero
    gradient, where no alignment exists. Under ``vmap`` the generic path runs."""
    if _is_batched(lp):
        return NotImplemented
    tg, il, tl = targets.long(), input_lengths.long(), target_lengths.long()
    if _is_compiling():
        return _ctc_nll_op(lp, tg, il, tl, blank)
    nll = torch._ctc_loss(lp, tg, il, tl, blank, True)[0]
    if not (lp.requires_grad and torch.is_grad_enabled()):
        return nll
    mass = torch.where(_ctc_frames(lp, il), lp.exp(), 0.0).sum(dim=(0, 2))
    return torch.where(torch.isfinite(nll), nll - (mass - mass.detach()), nll)


# --------------------------------------------------------------------------
# large vocabulary: linear cross-entropy by chunks
# --------------------------------------------------------------------------

# The chunk arithmetic is polyloss._chunked's (the generic path's): the forward keeps
# only the rows' log-sum-exp, and the backward recomputes each chunk's logits, so that
# neither holds the (N, V) logits (autodiff of the chunked forward would keep them all).


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(h: Any, weight: Any, bias: Any, target: Any, plan: Any) -> Any:
        return _chunked.forward(xp, h, weight, bias, target, plan, overwrite=True)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Any, Any]) -> None:
        h, weight, bias, target, plan = inputs
        ctx.save_for_backward(h, weight, bias, target, output[1])
        ctx.plan = plan
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    def backward(ctx: Any, g: Any, _: Any) -> tuple[Any, ...]:
        h, weight, bias, target, lse = ctx.saved_tensors
        need = tuple(ctx.needs_input_grad[:3])
        dh, dw, db = _chunked.backward(xp, h, weight, bias, target, lse, g, ctx.plan, need)
        if dw is not None and dw.dtype != weight.dtype:
            dw = dw.to(weight.dtype)
        return dh, dw, db, None, None


def linear_cross_entropy(
    h: torch.Tensor, weight: torch.Tensor, target: torch.Tensor, *, bias: torch.Tensor | None, plan: Any
) -> torch.Tensor:
    """Row losses of validated ``(N, d)`` hidden states (compute dtype), a ``(V, d)``
    weight, safe ``(N,)`` targets and an optional bias (compute dtype), with a chunked
    backward. Under ``vmap`` the generic path runs."""
    if _is_batched(h):
        return NotImplemented
    return _LinearCrossEntropy.apply(h, weight, bias, target, plan)[0]
