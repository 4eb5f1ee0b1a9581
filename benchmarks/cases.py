"""Benchmark cases: polyloss against its peers, one loss, backend, size and mode each.

A case's ``make()`` builds the data and returns ``(polyloss_fn, peer_fn, check)``:
two zero-argument callables that each run one forward (or forward + backward)
and block until the result is ready, and a callable returning both values so the
runner can confirm that the two compute the same loss. A case whose loss or peer
is missing raises :class:`Skip`.

Peers: torch.nn.functional (eager), optax (under ``jax.jit``), scikit-learn's
``log_loss``, MONAI's ``DiceLoss``/``FocalLoss``/``TverskyLoss``, torchvision's
sigmoid focal formula (written out here: torchvision is not a dependency) and a
hand-written NumPy cross-entropy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import polyloss

SIZES = {
    "small": (64, 10),
    "large": (4096, 1000),
    "llm": (4096, 32768),
    "seg": (8, 4, 64, 64),
}


def size_label(size: str) -> str:
    return "x".join(str(d) for d in SIZES[size])


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
                others: tuple[Any, ...], mode: str):
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
            return float(poly(x, *args)), float(peer(x, *args))

    return run_poly, run_peer, check


def torch_cases() -> list[Case]:
    import torch.nn.functional as F

    cases: list[Case] = []

    def add(loss, peer_name, sizes, make_fn, quick=("small",)):
        for size in sizes:
            for mode in ("fwd", "fwd+bwd"):
                tags = ("quick",) if size in quick else ()
                cases.append(Case(loss, "torch", peer_name, size, mode,
                                  (lambda s=size, m=mode: make_fn(s, m)), tags))

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
    add("cross_entropy", "F.cross_entropy", ("small", "large", "llm", "seg"), make_ce)

    def make_ce_wls(size, mode):
        import torch

        c = SIZES[size][1]
        w = torch.from_numpy(_rng(7).uniform(0.5, 2.0, c).astype("float32"))
        poly, peer = _poly("cross_entropy"), F.cross_entropy
        return _torch_pair(lambda x, t: poly(x, t, weight=w, label_smoothing=0.1),
                           lambda x, t: peer(x, t, weight=w, label_smoothing=0.1),
                           _logits(size), (_labels(size),), mode)
    add("cross_entropy(weight, label_smoothing)", "F.cross_entropy", ("small", "large", "llm"),
        make_ce_wls)

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

    cases += monai_cases()
    return cases


def monai_cases() -> list[Case]:
    cases: list[Case] = []

    def onehot(t, c):
        return np.moveaxis(np.eye(c, dtype="float32")[t], -1, 1)

    def make(loss, mode):
        try:
            import monai.losses as ml
        except ImportError as e:  # pragma: no cover
            raise Skip("MONAI is not installed") from e
        x, t = _logits("seg"), _labels("seg")
        c = x.shape[1]
        s = 1e-5
        if loss == "dice_loss":
            poly = _poly("dice_loss")
            peer = ml.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s)
            return _torch_pair(
                lambda x, t: poly(x, t, axis=1, activation="softmax", smooth_nr=s, smooth_dr=s),
                lambda x, t: peer(x, t[:, None]), x, (t,), mode)
        if loss == "tversky_loss":
            poly = _poly("tversky_loss")
            peer = ml.TverskyLoss(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s,
                                  alpha=0.3, beta=0.7)
            return _torch_pair(
                lambda x, t: poly(x, t, axis=1, activation="softmax", smooth_nr=s, smooth_dr=s,
                                  alpha=0.3, beta=0.7),
                lambda x, t: peer(x, t[:, None]), x, (t,), mode)
        if loss == "sigmoid_focal_loss":  # MONAI FocalLoss: sigmoid focal on one-hot targets
            poly = _poly("sigmoid_focal_loss")
            peer = ml.FocalLoss(gamma=2.0)
            return _torch_pair(lambda x, y: poly(x, y, gamma=2.0, alpha=None), peer,
                               x, (onehot(t, c),), mode)
        raise AssertionError(loss)

    peers = {"dice_loss": "monai DiceLoss", "tversky_loss": "monai TverskyLoss",
             "sigmoid_focal_loss": "monai FocalLoss"}
    for loss, peer in peers.items():
        for mode in ("fwd", "fwd+bwd"):
            cases.append(Case(loss, "torch", peer, "seg", mode,
                              (lambda loss_=loss, m=mode: make(loss_, m)), ("quick",) if mode == "fwd+bwd" else ()))
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

    def add(loss, peer_name, sizes, make_fn, quick=("small",)):
        for size in sizes:
            for mode in ("fwd", "fwd+bwd"):
                tags = ("quick",) if size in quick else ()
                cases.append(Case(loss, "jax", peer_name, size, mode,
                                  (lambda s=size, m=mode: make_fn(s, m)), tags))

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
        ("small", "large", "llm"), make_ce)

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
        # mean over classes of 1 - (2I + s)/(P + T + s); polyloss: axis=-1, activation="softmax".
        x = np.moveaxis(_logits("seg"), 1, -1).copy()
        y = np.eye(x.shape[-1], dtype="float32")[_labels("seg")]
        return pair(lambda x, y: poly(x, y, axis=-1, activation="softmax"),
                    lambda x, y: ol.dice_loss(x, y).mean(), x, (y,), mode)
    add("dice_loss", "optax dice_loss", ("seg",), make_dice, quick=())
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
                          (lambda s=size: make_ce(s)), ("quick",) if size == "small" else ()))

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
