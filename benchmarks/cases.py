"""Benchmark cases: polyloss against its peers, one loss, backend, size and mode each.

A case's ``make()`` builds the data and returns ``(polyloss_fn, peer_fn, check)``:
two zero-argument callables that each run one forward (or forward + backward)
and block until the result is ready, and a callable returning both values so the
runner can confirm that the two compute the same loss. A case whose loss or peer
is missing raises :class:`Skip`.

Peers: torch.nn.functional and torch.nn loss objects (eager, and one
``torch.compile`` pair), optax (under ``jax.jit``), scikit-learn's ``log_loss``,
MONAI's ``DiceLoss`` (also ``jaccard=True``)/``TverskyLoss``/``GeneralizedDiceLoss``/
``FocalLoss`` (sigmoid and softmax), torchvision's sigmoid focal formula (written out
here: torchvision is not a dependency), segmentation_models_pytorch 0.6.0's
``LovaszLoss`` (transcribed verbatim in tests/references.py: smp does not import beside
this torch) and a hand-written NumPy cross-entropy.

A case may carry its own ``target`` (the largest acceptable ratio polyloss/peer);
otherwise the runner's ``target_for`` rules apply. Where the peer normalises
differently, ``check`` scales the peer's value (the timed calls are each library's
own) and the peer label says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import polyloss

SIZES = {
    "small": (64, 10),
    "large": (4096, 1000),
    "llm": (4096, 32768),
    "seg": (8, 4, 64, 64),
    "seg3d": (2, 4, 64, 64, 64),
    "seg-binary": (8, 64, 64),  # Lovász hinge: one logit per pixel
    "llm-large": (8192, 32000),  # 1 GB of float32 logits: full runs only, few pairs
    "ctc": (100, 16, 28),  # CTC: T frames, N sequences, C classes (S = CTC_S labels)
}
CTC_S = 30
_LABELS = {"ctc": f"100x16x28,S{CTC_S}"}


def size_label(size: str) -> str:
    return _LABELS.get(size) or "x".join(str(d) for d in SIZES[size])


class Skip(Exception):
    """The case cannot run here (a loss or a peer is missing)."""


@dataclass(frozen=True)
class Case:
    loss: str  # what is timed, e.g. "cross_entropy(weight, label_smoothing)"
    backend: str  # torch | jax | numpy
    peer: str
    size: str  # key of SIZES
    mode: str  # fwd | fwd+bwd
    make: Callable[[], tuple[Callable[[], Any], Callable[[], Any], Callable[[], tuple[float, float]]]]
    tags: tuple[str, ...] = ()  # quick: part of --quick
    target: float | None = None  # the largest acceptable ratio; None: the runner's rules

    @property
    def name(self) -> str:
        return f"{self.backend}/{self.loss} vs {self.peer} [{size_label(self.size)}, {self.mode}]"


def _poly(name: str) -> Callable[..., Any]:
    fn = getattr(polyloss, name, None)
    if fn is None:
        raise Skip(f"polyloss.{name} does not exist yet")
    return fn


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _logits(size: str, seed: int = 0, dtype: str = "float32") -> np.ndarray:
    if size == "llm-large":  # drawn in float32: no 2 GB float64 intermediate
        return _rng(seed).standard_normal(SIZES[size], dtype=np.float32) * np.float32(2.0)
    return (_rng(seed).standard_normal(SIZES[size]) * 2.0).astype(dtype)


def _labels(size: str, seed: int = 1) -> np.ndarray:
    shape = SIZES[size]
    n_classes = shape[1]
    return _rng(seed).integers(0, n_classes, size=(shape[0], *shape[2:])).astype("int64")


def _probs(size: str, seed: int = 2, dtype: str = "float32") -> np.ndarray:
    return _rng(seed).uniform(0.02, 0.98, SIZES[size]).astype(dtype)


def _binary(size: str, seed: int = 3, dtype: str = "float32") -> np.ndarray:
    return (_rng(seed).uniform(size=SIZES[size]) < 0.3).astype(dtype)


# --------------------------------------------------------------------------
# torch
# --------------------------------------------------------------------------


def _torch_pair(poly: Callable[..., Any], peer: Callable[..., Any], x_np: np.ndarray,
                others: tuple[Any, ...], mode: str, *, scale: float = 1.0):
    """`scale` multiplies the peer's value in `check` only (a different normalisation)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(x_np))
    args = tuple(torch.from_numpy(np.ascontiguousarray(o)) if isinstance(o, np.ndarray) else o
                 for o in others)
    if mode == "fwd":
        def run_poly():
            return poly(x, *args)

        def run_peer():
            return peer(x, *args)
    else:
        x.requires_grad_(True)
        grad = torch.autograd.grad

        def run_poly():
            return grad(poly(x, *args), x)

        def run_peer():
            return grad(peer(x, *args), x)

    def check():
        with torch.no_grad():
            return float(poly(x, *args)), float(peer(x, *args)) * scale

    return run_poly, run_peer, check


def _tests_dir_module(name: str) -> Any:
    """A module of the repository's tests/ directory (the transcribed peers)."""
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import importlib

    return importlib.import_module(name)


def _adder(cases: list[Case], backend: str):
    """``add(loss, peer, sizes, make_fn, quick=..., modes=..., targets=...)`` for a backend:
    one case per size and mode; `targets` maps ``(size, mode)`` to a target."""

    def add(loss, peer_name, sizes, make_fn, quick=("small",), modes=("fwd", "fwd+bwd"), targets=None):
        for size in sizes:
            for mode in modes:
                tags = ("quick",) if (size, mode) in quick or size in quick else ()
                target = (targets or {}).get((size, mode))
                cases.append(Case(loss, backend, peer_name, size, mode,
                                  (lambda s=size, m=mode: make_fn(s, m)), tags, target))

    return add


def torch_cases() -> list[Case]:
    import torch.nn.functional as F

    cases: list[Case] = []
    add = _adder(cases, "torch")

    # regression
    for name in ("l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"):
        def make(size, mode, name=name):
            return _torch_pair(_poly(name), getattr(F, name), _logits(size),
                               (_logits(size, seed=5),), mode)
        add(name, f"F.{name}", ("small", "large"), make)

    def make_bce(size, mode):
        return _torch_pair(_poly("binary_cross_entropy"), F.binary_cross_entropy,
                           _probs(size), (_binary(size),), mode)
    add("binary_cross_entropy", "F.binary_cross_entropy", ("small", "large"), make_bce)

    def make_bcel(size, mode):
        return _torch_pair(_poly("binary_cross_entropy_with_logits"),
                           F.binary_cross_entropy_with_logits, _logits(size), (_binary(size),), mode)
    add("binary_cross_entropy_with_logits", "F.binary_cross_entropy_with_logits",
        ("small", "large"), make_bcel)

    def make_nll(size, mode):
        import torch

        logp = torch.log_softmax(torch.from_numpy(_logits(size)), dim=1).numpy()
        return _torch_pair(_poly("nll_loss"), F.nll_loss, logp, (_labels(size),), mode)
    add("nll_loss", "F.nll_loss", ("small", "large", "llm", "seg"), make_nll)

    def make_ce(size, mode):
        return _torch_pair(_poly("cross_entropy"), F.cross_entropy, _logits(size),
                           (_labels(size),), mode)
    add("cross_entropy", "F.cross_entropy", ("small", "large", "llm", "seg"), make_ce,
        targets={("small", "fwd"): 1.6})  # issue 13
    # issue 13: 8192x32000 fwd+bwd (1 GB of logits; full runs only, few pairs)
    add("cross_entropy", "F.cross_entropy", ("llm-large",), make_ce, quick=(), modes=("fwd+bwd",),
        targets={("llm-large", "fwd+bwd"): 0.5})

    def weight_of(size):
        import torch

        return torch.from_numpy(_rng(7).uniform(0.5, 2.0, SIZES[size][1]).astype("float32"))

    def make_ce_wls(size, mode):
        w = weight_of(size)
        poly, peer = _poly("cross_entropy"), F.cross_entropy
        return _torch_pair(lambda x, t: poly(x, t, weight=w, label_smoothing=0.1),
                           lambda x, t: peer(x, t, weight=w, label_smoothing=0.1),
                           _logits(size), (_labels(size),), mode)
    add("cross_entropy(weight, label_smoothing)", "F.cross_entropy", ("small", "large", "llm"),
        make_ce_wls)

    # issue 13: the loss objects, as a training loop calls them
    def make_ce_object(size, mode, options=False):
        import torch

        if not hasattr(polyloss, "CrossEntropyLoss"):
            raise Skip("polyloss.CrossEntropyLoss does not exist yet")
        kw = {"weight": weight_of(size), "label_smoothing": 0.1} if options else {}
        return _torch_pair(polyloss.CrossEntropyLoss(**kw), torch.nn.CrossEntropyLoss(**kw),
                           _logits(size), (_labels(size),), mode)
    add("CrossEntropyLoss()", "torch.nn.CrossEntropyLoss()", ("small",), make_ce_object,
        modes=("fwd",), targets={("small", "fwd"): 1.25})
    add("CrossEntropyLoss(weight, label_smoothing)", "torch.nn.CrossEntropyLoss(weight, label_smoothing)",
        ("small",), lambda s, m: make_ce_object(s, m, options=True), modes=("fwd",),
        targets={("small", "fwd"): 1.25})

    # issue 13: torch.compile(fullgraph=True) of each, forward and backward; the runner's
    # warm-up calls compile them
    def make_ce_compiled(size, mode):
        import torch

        poly = torch.compile(_poly("cross_entropy"), fullgraph=True)
        peer = torch.compile(F.cross_entropy, fullgraph=True)
        x = torch.from_numpy(_logits(size)).requires_grad_(True)
        t = torch.from_numpy(_labels(size))
        grad = torch.autograd.grad

        def check():  # the compiled functions themselves, on the graphs the timed calls use
            return float(poly(x, t).detach()), float(peer(x, t).detach())

        return (lambda: grad(poly(x, t), x)), (lambda: grad(peer(x, t), x)), check
    add("torch.compile(cross_entropy)", "torch.compile(F.cross_entropy)", ("large",), make_ce_compiled,
        quick=(), modes=("fwd+bwd",), targets={("large", "fwd+bwd"): 1.05})

    def make_ce_ignore(size, mode):
        t = _labels(size)
        t[::7] = -100
        return _torch_pair(_poly("cross_entropy"), F.cross_entropy, _logits(size), (t,), mode)
    add("cross_entropy(ignore_index)", "F.cross_entropy", ("small", "large"), make_ce_ignore,
        quick=())

    # sigmoid focal vs torchvision's formula (torchvision.ops.sigmoid_focal_loss, written out)
    def tv_focal(inputs, targets, alpha=0.25, gamma=2.0):
        p = inputs.sigmoid()
        ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce * ((1 - p_t) ** gamma)
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        return (alpha_t * loss).mean()

    def make_sfocal(size, mode):
        return _torch_pair(_poly("sigmoid_focal_loss"), tv_focal, _logits(size), (_binary(size),), mode)
    add("sigmoid_focal_loss", "torchvision sigmoid_focal_loss", ("small", "large", "seg"), make_sfocal)

    # issue 12: CTC. Both sides take logits z (T, N, C) and log_softmax them inside the timed
    # call, so that fwd+bwd is the gradient of the logits, on which the two agree (torch's CTC
    # backward is a logit gradient, not a log-prob gradient); "mean" divides each sequence's
    # loss by its target length and averages over the batch, in both.
    def make_ctc(size, mode):
        import torch

        poly = _poly("ctc_loss")
        z, targets, il, tl = _ctc_data()
        return _torch_pair(lambda z, *a: poly(torch.log_softmax(z, dim=-1), *a),
                           lambda z, *a: F.ctc_loss(torch.log_softmax(z, dim=-1), *a),
                           z, (targets, il, tl), mode)
    add("ctc_loss(log_softmax(z))", "F.ctc_loss", ("ctc",), make_ctc, quick=(("ctc", "fwd+bwd"),),
        targets={("ctc", "fwd"): 1.10, ("ctc", "fwd+bwd"): 1.10})

    # issue 12: Lovász against smp 0.6.0's LovaszLoss, transcribed verbatim (float32, as smp
    # computes its Lovász gradient in float32)
    def make_lovasz_softmax(size, mode):
        smp = _tests_dir_module("references").smp_losses
        return _torch_pair(_poly("lovasz_softmax_loss"), smp.LovaszLoss("multiclass"),
                           _logits(size), (_labels(size),), mode)
    add("lovasz_softmax_loss", "smp LovaszLoss 0.6.0 (transcribed) multiclass", ("seg",),
        make_lovasz_softmax, quick=(), targets={("seg", "fwd"): 1.10, ("seg", "fwd+bwd"): 1.10})

    def make_lovasz_hinge(size, mode):
        smp = _tests_dir_module("references").smp_losses
        return _torch_pair(_poly("lovasz_hinge_loss"), smp.LovaszLoss("binary"),
                           _logits(size), (_binary(size, seed=4),), mode)
    add("lovasz_hinge_loss", "smp LovaszLoss 0.6.0 (transcribed) binary", ("seg-binary",),
        make_lovasz_hinge, quick=(), targets={("seg-binary", "fwd"): 1.10, ("seg-binary", "fwd+bwd"): 1.10})

    cases += monai_cases()
    return cases


def _ctc_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Logits (T, N, C), padded targets (N, S) with no blank (0), input and target lengths."""
    t_, n, c = SIZES["ctc"]
    rng = _rng(13)
    z = (rng.standard_normal((t_, n, c)) * 2.0).astype("float32")
    targets = rng.integers(1, c, size=(n, CTC_S)).astype("int64")
    il = rng.integers(80, t_ + 1, size=n).astype("int64")
    tl = rng.integers(10, CTC_S + 1, size=n).astype("int64")
    il[0], tl[0] = t_, CTC_S  # the full lengths occur
    return z, targets, il, tl


def monai_cases() -> list[Case]:
    """Segmentation against MONAI, 2D (8x4x64x64) and 3D (2x4x64x64x64), class-map targets
    (``to_onehot_y=True``), MONAI's smoothing 1e-5 passed explicitly to polyloss."""
    cases: list[Case] = []

    def onehot(t, c):
        return np.moveaxis(np.eye(c, dtype="float32")[t], -1, 1)

    def make(loss, size, mode):
        try:
            import monai.losses as ml
        except ImportError as e:  # pragma: no cover
            raise Skip("MONAI is not installed") from e
        x, t = _logits(size), _labels(size)
        c = x.shape[1]
        s = 1e-5
        common = {"axis": 1, "activation": "softmax", "smooth_nr": s, "smooth_dr": s}
        if loss in ("dice_loss", "jaccard_loss"):
            poly = _poly(loss)
            peer = ml.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s,
                               jaccard=loss == "jaccard_loss")
            return _torch_pair(lambda x, t: poly(x, t, **common),
                               lambda x, t: peer(x, t[:, None]), x, (t,), mode)
        if loss == "tversky_loss":
            poly = _poly("tversky_loss")
            peer = ml.TverskyLoss(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s,
                                  alpha=0.3, beta=0.7)
            return _torch_pair(lambda x, t: poly(x, t, alpha=0.3, beta=0.7, **common),
                               lambda x, t: peer(x, t[:, None]), x, (t,), mode)
        if loss == "generalized_dice_loss":  # MONAI's defaults: w_type="square", smoothing 1e-5
            poly = _poly("generalized_dice_loss")
            peer = ml.GeneralizedDiceLoss(softmax=True, to_onehot_y=True)
            return _torch_pair(lambda x, t: poly(x, t, w_type="square", **common),
                               lambda x, t: peer(x, t[:, None]), x, (t,), mode)
        if loss == "focal_loss":
            # MONAI's softmax focal loss is -(1 - p)^gamma log p times the one-hot target at
            # every class, averaged over N * C * spatial: polyloss' focal_loss (averaged over
            # N * spatial) / C. check() multiplies MONAI's value by C.
            poly = _poly("focal_loss")
            peer = ml.FocalLoss(use_softmax=True, gamma=2.0, to_onehot_y=True)
            return _torch_pair(lambda x, t: poly(x, t, gamma=2.0),
                               lambda x, t: peer(x, t[:, None]), x, (t,), mode, scale=float(c))
        if loss == "sigmoid_focal_loss":  # MONAI FocalLoss: sigmoid focal on one-hot targets
            poly = _poly("sigmoid_focal_loss")
            peer = ml.FocalLoss(gamma=2.0)
            return _torch_pair(lambda x, y: poly(x, y, gamma=2.0, alpha=None), peer,
                               x, (onehot(t, c),), mode)
        raise AssertionError(loss)

    # loss -> (peer label, sizes, target); the sigmoid focal case keeps the runner's rule (0.67)
    table = {
        "dice_loss": ("monai DiceLoss", ("seg", "seg3d"), 0.75),
        "jaccard_loss": ("monai DiceLoss(jaccard=True)", ("seg", "seg3d"), 0.75),
        "tversky_loss": ("monai TverskyLoss", ("seg", "seg3d"), 0.75),
        "generalized_dice_loss": ("monai GeneralizedDiceLoss", ("seg", "seg3d"), 0.75),
        "focal_loss": ("monai FocalLoss(use_softmax), value x C", ("seg", "seg3d"), 0.67),
        "sigmoid_focal_loss": ("monai FocalLoss", ("seg",), None),
    }
    quick = {("dice_loss", "seg", "fwd+bwd"), ("focal_loss", "seg", "fwd+bwd")}
    for loss, (peer, sizes, target) in table.items():
        for size in sizes:
            for mode in ("fwd", "fwd+bwd"):
                tags = ("quick",) if (loss, size, mode) in quick else ()
                cases.append(Case(loss, "torch", peer, size, mode,
                                  (lambda loss_=loss, s=size, m=mode: make(loss_, s, m)), tags, target))
    return cases


# --------------------------------------------------------------------------
# JAX (jit) vs optax
# --------------------------------------------------------------------------


def jax_cases() -> list[Case]:
    cases: list[Case] = []

    def pair(poly, peer, x_np, others, mode):
        import jax
        import jax.numpy as jnp

        x = jnp.asarray(x_np)
        args = tuple(jnp.asarray(o) for o in others)
        if mode == "fwd":
            fp, fq = jax.jit(poly), jax.jit(peer)
        else:
            fp, fq = jax.jit(jax.grad(poly)), jax.jit(jax.grad(peer))

        def run_poly():
            return fp(x, *args).block_until_ready()

        def run_peer():
            return fq(x, *args).block_until_ready()

        def check():
            return float(jax.jit(poly)(x, *args)), float(jax.jit(peer)(x, *args))

        return run_poly, run_peer, check

    add = _adder(cases, "jax")

    def optax():
        try:
            import optax
        except ImportError as e:  # pragma: no cover
            raise Skip("optax is not installed") from e
        return optax.losses

    def make_ce(size, mode):
        ol, poly = optax(), _poly("cross_entropy")
        return pair(lambda x, t: poly(x, t, axis=-1),
                    lambda x, t: ol.softmax_cross_entropy_with_integer_labels(x, t).mean(),
                    _logits(size), (_labels(size).astype("int32"),), mode)
    add("cross_entropy", "optax softmax_cross_entropy_with_integer_labels",
        ("small", "large", "llm"), make_ce,
        targets={("large", "fwd"): 1.0, ("large", "fwd+bwd"): 1.0})  # issue 13

    def make_bcel(size, mode):
        ol, poly = optax(), _poly("binary_cross_entropy_with_logits")
        return pair(poly, lambda x, y: ol.sigmoid_binary_cross_entropy(x, y).mean(),
                    _logits(size), (_binary(size),), mode)
    add("binary_cross_entropy_with_logits", "optax sigmoid_binary_cross_entropy",
        ("small", "large"), make_bcel)

    def make_huber(size, mode):
        ol, poly = optax(), _poly("huber_loss")
        return pair(poly, lambda x, y: ol.huber_loss(x, y).mean(),
                    _logits(size), (_logits(size, seed=5),), mode)
    add("huber_loss", "optax huber_loss", ("small", "large"), make_huber)

    def make_sfocal(size, mode):
        ol, poly = optax(), _poly("sigmoid_focal_loss")
        return pair(poly, lambda x, y: ol.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0).mean(),
                    _logits(size), (_binary(size),), mode)
    add("sigmoid_focal_loss", "optax sigmoid_focal_loss", ("small", "large"), make_sfocal)

    def make_poly1(size, mode):
        ol, poly = optax(), _poly("poly1_cross_entropy")
        t = _labels(size)
        onehot = np.eye(SIZES[size][1], dtype="float32")[t]
        return pair(lambda x, t, y: poly(x, t, axis=-1, epsilon=1.0),
                    lambda x, t, y: ol.poly_loss_cross_entropy(x, y, epsilon=1.0).mean(),
                    _logits(size), (t.astype("int32"), onehot), mode)
    add("poly1_cross_entropy", "optax poly_loss_cross_entropy", ("small", "large"), make_poly1,
        quick=())

    def make_dice(size, mode):
        ol, poly = optax(), _poly("dice_loss")
        # optax.losses.dice_loss: channel-last (..., C) predictions, softmax inside, per-sample
        # mean over classes of 1 - (I + s)/(I + FP/2 + FN/2 + s) = 1 - (2I + 2s)/(P + T + 2s):
        # its smooth=1 (default) is polyloss' smooth_nr = smooth_dr = 2; axis=-1, softmax.
        x = np.moveaxis(_logits("seg"), 1, -1).copy()
        y = np.eye(x.shape[-1], dtype="float32")[_labels("seg")]
        return pair(lambda x, y: poly(x, y, axis=-1, activation="softmax", smooth_nr=2.0, smooth_dr=2.0),
                    lambda x, y: ol.dice_loss(x, y).mean(), x, (y,), mode)
    add("dice_loss", "optax dice_loss", ("seg",), make_dice, quick=(),
        targets={("seg", "fwd+bwd"): 1.0})  # issue 13 (jit grad)

    # issue 12: CTC against optax.losses.ctc_loss, which takes (N, T, C) logits and paddings:
    # polyloss gets log_softmax(logits) with time_axis=1 and the lengths T - sum(logit
    # paddings), S - sum(label paddings); optax's per-sequence losses are divided by the
    # target lengths and averaged, which is polyloss' "mean" (torch's).
    def make_ctc(size, mode):
        import jax
        import jax.numpy as jnp

        ol, poly = optax(), _poly("ctc_loss")
        z, targets, il, tl = _ctc_data()
        t_ = z.shape[0]
        z = np.ascontiguousarray(np.moveaxis(z, 0, 1))  # (N, T, C)
        logit_paddings = (np.arange(t_)[None, :] >= il[:, None]).astype("float32")
        label_paddings = (np.arange(CTC_S)[None, :] >= tl[:, None]).astype("float32")
        targets = targets.astype("int32")
        return pair(lambda z, y, lp, yp, il, tl: poly(jax.nn.log_softmax(z, axis=-1), y, il, tl, time_axis=1),
                    lambda z, y, lp, yp, il, tl: jnp.mean(ol.ctc_loss(z, lp, y, yp) / tl),
                    z, (targets, logit_paddings, label_paddings, il.astype("int32"), tl.astype("int32")),
                    mode)
    add("ctc_loss(log_softmax(z), time_axis=1)", "optax ctc_loss, / target length", ("ctc",), make_ctc,
        quick=(), targets={("ctc", "fwd"): 1.10, ("ctc", "fwd+bwd"): 1.10})
    return cases


# --------------------------------------------------------------------------
# NumPy
# --------------------------------------------------------------------------


def numpy_ce(x: np.ndarray, t: np.ndarray) -> float:
    """Hand-written NumPy cross-entropy: the stable textbook version."""
    m = x.max(axis=1, keepdims=True)
    lse = np.log(np.exp(x - m).sum(axis=1)) + m[:, 0]
    return float((lse - x[np.arange(x.shape[0]), t]).mean())


def numpy_cases() -> list[Case]:
    cases: list[Case] = []

    def make_ce(size):
        poly = _poly("cross_entropy")
        x, t = _logits(size), _labels(size)
        return (lambda: poly(x, t), lambda: numpy_ce(x, t),
                lambda: (float(poly(x, t)), numpy_ce(x, t)))

    for size in ("small", "large", "llm"):
        cases.append(Case("cross_entropy", "numpy", "hand-written NumPy", size, "fwd",
                          (lambda s=size: make_ce(s)), ("quick",) if size == "small" else (),
                          2.0 if size == "small" else None))  # issue 13: 2.0 on 64x10

    def make_log_loss():
        poly = _poly("log_loss")
        try:
            from sklearn.metrics import log_loss
        except ImportError as e:  # pragma: no cover
            raise Skip("scikit-learn is not installed") from e
        n, c = 1_000_000, 10
        rng = _rng(11)
        p = rng.uniform(0.01, 1.0, (n, c))
        p /= p.sum(axis=1, keepdims=True)
        t = rng.integers(0, c, n)
        t[:c] = np.arange(c)  # every class present, as sklearn infers labels from y_true
        return (lambda: poly(p, t), lambda: log_loss(t, p),
                lambda: (float(poly(p, t)), float(log_loss(t, p))))

    cases.append(Case("log_loss", "numpy", "sklearn.metrics.log_loss", "log_loss", "fwd",
                      make_log_loss, ()))
    return cases


SIZES["log_loss"] = (1_000_000, 10)


def all_cases(backends: tuple[str, ...] = ("torch", "jax", "numpy")) -> list[Case]:
    found: list[Case] = []
    if "torch" in backends:
        found += torch_cases()
    if "jax" in backends:
        found += jax_cases()
    if "numpy" in backends:
        found += numpy_cases()
    return found
