"""Figures of the polyloss docs, drawn with matplotlib (Agg) from polyloss itself.

Every curve is polyloss evaluated on NumPy float64 arrays; gradients are central
finite differences of polyloss (NumPy has no autodiff). The measured figures read the
committed results of the benchmarks: ``benchmarks/cpu-results.json`` (time against the
peers, one figure per family) and ``benchmarks/vocabulary-memory.json`` (peak memory of
``linear_cross_entropy`` against the vocabulary size).

:data:`FIGURES` names, for each figure, the losses whose API page shows it and the
families whose section of the API page does (see ``polyloss_docs.py``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

import polyloss
from polyloss._registry import FAMILIES

GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)
H = 1e-6


def _logit(p: Any) -> Any:
    return np.log(p) - np.log1p(-p)


def _save(fig: Any, path: Path) -> None:
    """Write the PNG whole or not at all (a build running beside this one reads it)."""
    partial = path.with_name(f".{path.stem}.{os.getpid()}.png")
    fig.savefig(partial, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    os.replace(partial, path)


def focal_figure(path: Path, root: Path, logger: Any) -> None:
    """The RetinaNet paper's Figure 1: FL(p_t) = -(1 - p_t)^γ log p_t."""
    p_t = np.linspace(0.001, 0.999, 500)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for g in GAMMAS:
        y = polyloss.sigmoid_focal_loss(
            _logit(p_t), np.ones_like(p_t), gamma=g, alpha=None, reduction="none"
        )
        ax.plot(p_t, y, label=f"γ = {g:g}" + (" (cross-entropy)" if g == 0 else ""), lw=1.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 5)
    ax.set_xlabel("probability of the true class $p_t$")
    ax.set_ylabel("loss")
    ax.set_title("Focal loss $-(1-p_t)^\\gamma \\log p_t$  (sigmoid_focal_loss, alpha=None)")
    ax.axvspan(0.6, 1.0, color="0.93", zorder=0)
    ax.text(0.8, 1.6, "well-classified\nexamples", ha="center", fontsize=9)
    ax.legend(loc="upper right")
    _save(fig, path)


def _fd(f: Callable[[Any], Any], x: Any) -> Any:
    """Central finite difference of an element-wise (reduction="none") loss."""
    return (np.asarray(f(x + H)) - np.asarray(f(x - H))) / (2 * H)


def dice_gradient_figure(path: Path, root: Path, logger: Any) -> None:
    """The point of the article 深度学习 ② 常用损失函数 2): Dice gradients blow up where p and t are small."""
    p = np.logspace(-3, np.log10(0.999), 400)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    curves = (  # (label, colour, loss of a (n, 1) batch of single elements)
        (
            "Dice $2pt/(p+t)$",
            "tab:blue",
            lambda x, t, **a: polyloss.dice_loss(
                x, t, smooth_nr=0.0, smooth_dr=0.0, reduction="none", **a
            ),
        ),
        (
            "Dice $2pt/(p^2+t^2)$",
            "tab:red",
            lambda x, t, **a: polyloss.dice_loss(
                x, t, smooth_nr=0.0, smooth_dr=0.0, squared=True, reduction="none", **a
            ),
        ),
    )
    for t, ls in ((0.1, "-"), (0.01, "--")):
        tt = np.full((p.size, 1), t)
        x, z = p[:, None], _logit(p)[:, None]
        for label, colour, dice in curves:
            ax1.plot(
                p,
                np.abs(_fd(lambda a, dice=dice, tt=tt: dice(a, tt), x)).ravel(),
                ls,
                color=colour,
                label=f"{label}, t = {t}",
            )
            ax2.plot(
                p,
                np.abs(
                    _fd(lambda a, dice=dice, tt=tt: dice(a, tt, activation="sigmoid"), z)
                ).ravel(),
                ls,
                color=colour,
            )
        ce = lambda a, tt=tt: polyloss.binary_cross_entropy(a, tt, reduction="none")  # noqa: E731
        ce_z = lambda a, tt=tt: polyloss.binary_cross_entropy_with_logits(a, tt, reduction="none")  # noqa: E731
        ax1.plot(
            p,
            np.abs(_fd(ce, x)).ravel(),
            ls,
            color="tab:green",
            label=f"binary cross-entropy, t = {t}",
        )
        ax2.plot(p, np.abs(_fd(ce_z, z)).ravel(), ls, color="tab:green")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("predicted probability p")
        ax.grid(True, which="major", color="0.9")
    ax1.set_ylabel(r"$|\partial \ell / \partial p|$")
    ax1.set_title("gradient with respect to the probability")
    ax2.set_ylabel(r"$|\partial \ell / \partial z|$,  $p = \sigma(z)$")
    ax2.set_title("gradient with respect to the logit")
    ax1.legend(fontsize=7.5, loc="upper right")
    fig.suptitle("One element, target t, no smoothing: Dice vs cross-entropy gradients", y=1.02)
    _save(fig, path)


def poly1_figure(path: Path, root: Path, logger: Any) -> None:
    """Poly-1 = CE + ε(1 − p_t) (Leng et al., ICLR 2022), and its focal form."""
    p_t = np.linspace(0.005, 0.995, 400)
    x = np.stack([np.log(p_t), np.log1p(-p_t)], axis=1)  # softmax of these is (p_t, 1 - p_t)
    y = np.zeros(p_t.size, dtype=np.int64)
    z, ones = _logit(p_t), np.ones_like(p_t)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for eps in (-1.0, 0.0, 1.0, 2.0):
        style = {"lw": 1.8, "ls": "-" if eps else "--", "color": "k" if eps == 0 else None}
        ce = polyloss.poly1_cross_entropy(x, y, epsilon=eps, reduction="none")
        ax1.plot(
            p_t, ce, label="cross-entropy (ε = 0)" if eps == 0 else f"Poly-1, ε = {eps:g}", **style
        )
        fl = polyloss.poly1_focal_loss(
            z, ones, epsilon=eps, gamma=2.0, alpha=None, reduction="none"
        )
        ax2.plot(
            p_t,
            fl,
            label="focal loss, γ = 2 (ε = 0)" if eps == 0 else f"Poly-1 focal, ε = {eps:g}",
            **style,
        )
    ax1.set_ylim(0, 5)
    ax1.set_xlabel("probability of the true class $p_t$")
    ax1.set_ylabel("loss")
    ax1.set_title(r"poly1_cross_entropy: CE + $\varepsilon(1 - p_t)$")
    ax1.legend()
    ax2.set_ylim(0, 3)
    ax2.set_xlabel("probability of the true class $p_t$")
    ax2.set_ylabel("loss")
    ax2.set_title(r"poly1_focal_loss: FL + $\varepsilon(1 - p_t)^{\gamma+1}$")
    ax2.legend()
    _save(fig, path)


def margin_figure(path: Path, root: Path, logger: Any) -> None:
    """The binary margin losses against the margin m = y f(x) (y = +1, so m = f(x))."""
    m = np.linspace(-3.0, 3.0, 601)
    y = np.ones_like(m)
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    zero_one = np.where(m <= 0, 1.0, 0.0)
    ax.plot(m, zero_one, color="0.6", lw=1.2, ls=":", label="0-1 loss $[m \\leq 0]$ (reference)")
    curves = (
        ("hinge_loss", r"hinge $\max(0, 1 - m)$", "tab:blue", "-"),
        ("squared_hinge_loss", r"squared hinge $\max(0, 1 - m)^2$", "tab:red", "-"),
        ("soft_margin_loss", r"soft margin $\log(1 + e^{-m})$", "tab:green", "-"),
        ("perceptron_loss", r"perceptron $\max(0, -m)$", "k", "--"),
    )
    for name, label, colour, ls in curves:
        loss = getattr(polyloss, name)(m, y, reduction="none")
        ax.plot(m, loss, ls, color=colour, lw=1.8, label=f"{name}: {label}")
    ax.set_xlim(-3, 3)
    ax.set_ylim(0, 4)
    ax.axvline(0, color="0.85", lw=1, zorder=0)
    ax.axvline(1, color="0.85", lw=1, zorder=0)
    ax.set_xlabel(r"margin $m = y\,f(x)$  (target $y = +1$, score $f(x) = m$)")
    ax.set_ylabel("loss")
    ax.set_title('Margin losses: polyloss with reduction="none" on a grid of margins')
    ax.legend(fontsize=8.5, loc="upper right")
    _save(fig, path)


def _sparsemax_probabilities(z: Any) -> Any:
    """sparsemax(z) row by row, read off the loss's gradient: ∇_z ℓ(z, y) = sparsemax(z) − e_y.

    The gradient is a central finite difference of :func:`polyloss.sparsemax_loss`
    (``reduction="none"``, target class 0), so the probabilities come from polyloss
    itself. The loss is piecewise quadratic, so the difference is exact up to rounding
    away from the kinks.
    """
    target = np.zeros(z.shape[0], dtype=np.int64)
    grad = np.empty_like(z)
    for c in range(z.shape[1]):
        step = np.zeros_like(z)
        step[:, c] = H
        up = polyloss.sparsemax_loss(z + step, target, reduction="none")
        down = polyloss.sparsemax_loss(z - step, target, reduction="none")
        grad[:, c] = (np.asarray(up) - np.asarray(down)) / (2 * H)
    grad[:, 0] += 1.0  # + e_y
    return grad


def sparsemax_figure(path: Path, root: Path, logger: Any) -> None:
    """Softmax against sparsemax on a 3-class input, and their losses."""
    t = np.linspace(-3.0, 3.0, 601)
    z = np.stack([t, np.zeros_like(t), np.full_like(t, -0.5)], axis=1)  # scores (t, 0, -0.5)
    sparse = _sparsemax_probabilities(z)
    soft = np.exp(z - z.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = ("tab:blue", "tab:orange", "tab:green")
    for c, name in enumerate(("$z_1 = t$", "$z_2 = 0$", "$z_3 = -0.5$")):
        ax1.plot(
            t, sparse[:, c], color=colours[c], lw=1.9, label=f"sparsemax, class {c + 1} ({name})"
        )
    for c in range(3):
        ax1.plot(t, soft[:, c], color=colours[c], lw=1.2, ls="--", label=f"softmax, class {c + 1}")
    ax1.set_xlim(-3, 3)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_xlabel("score $t$ of class 1 (scores $(t, 0, -0.5)$)")
    ax1.set_ylabel("probability")
    ax1.set_title("sparsemax reaches exactly 0 and 1; softmax never does")
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    target = np.zeros(t.size, dtype=np.int64)
    ax2.plot(
        t,
        polyloss.sparsemax_loss(z, target, reduction="none"),
        color="tab:blue",
        lw=1.9,
        label="sparsemax_loss",
    )
    ax2.plot(
        t,
        polyloss.cross_entropy(z, target, reduction="none"),
        color="tab:blue",
        lw=1.2,
        ls="--",
        label="cross_entropy (softmax)",
    )
    ax2.axvline(1.0, color="0.8", lw=1, zorder=0)
    ax2.text(1.08, 2.6, "$t = 1$: the target leads\nby 1, sparsemax loss 0", fontsize=8.5)
    ax2.set_xlim(-3, 3)
    ax2.set_ylim(0, 3.5)
    ax2.set_xlabel("score $t$ of the target class 1 (scores $(t, 0, -0.5)$)")
    ax2.set_ylabel("loss")
    ax2.set_title("the losses of target class 1")
    ax2.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    _save(fig, path)


def _no_data(path: Path, text: str) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11)
    _save(fig, path)


def _read_json(source: Path, logger: Any) -> Any:
    if not source.exists():
        return None
    try:
        return json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("%s cannot be read: %r", source.name, exc)
        return None


def vocabulary_memory_figure(path: Path, root: Path, logger: Any) -> None:
    """Peak memory of linear_cross_entropy and of the materialised logits against V.

    Reads ``benchmarks/vocabulary-memory.json``, the record that
    ``python benchmarks/vocabulary.py --sweep 8192,32768,65536 --json FILE`` writes:
    ``N``, ``d`` and ``sweep``, a list of ``{V, logits_mb, polyloss_mb, materialised_mb}``.
    """
    record = _read_json(root / "benchmarks" / "vocabulary-memory.json", logger)
    rows = sorted((record or {}).get("sweep", []), key=lambda r: r["V"])
    if not rows:
        _no_data(path, "no measurements yet\n(benchmarks/vocabulary.py --sweep ... --json)")
        return
    n, d = int(record["N"]), int(record["d"])
    v = np.array([r["V"] for r in rows], dtype=float)
    ours = np.array([r["polyloss_mb"] for r in rows], dtype=float)
    theirs = np.array([r["materialised_mb"] for r in rows], dtype=float)
    logits = np.array([r.get("logits_mb", n * r["V"] * 4 / 2**20) for r in rows], dtype=float)
    grads = (n + v) * d * 4 / 2**20 + v * 4 / 2**20  # dh, dW and db in float32
    fig, ax = plt.subplots(figsize=(7.6, 4.6))
    ax.plot(
        v,
        theirs,
        "o-",
        color="tab:red",
        lw=2,
        label="F.cross_entropy(h @ W.T + b, t), materialised",
    )
    ax.plot(
        v,
        ours,
        "o-",
        color="tab:blue",
        lw=2,
        label="polyloss.linear_cross_entropy (chunks of 256 classes)",
    )
    ax.plot(v, logits, ":", color="tab:red", lw=1.2, label="the (N, V) float32 logits alone")
    ax.plot(v, grads, ":", color="tab:blue", lw=1.2, label="the gradients returned (dh, dW, db)")
    for x, a, b in zip(v, ours, theirs, strict=True):
        ax.annotate(
            f"{a:.0f} MiB",
            (x, a),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=8.5,
            color="tab:blue",
        )
        ax.annotate(
            f"{b:.0f} MiB",
            (x, b),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8.5,
            color="tab:red",
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(v, [f"{int(x):,}" for x in v])
    ax.minorticks_off()
    ax.set_ylim(min(ours.min(), grads.min()) / 2, theirs.max() * 2.5)
    ax.set_xlabel("vocabulary size V")
    ax.set_ylabel("peak memory growth, forward + backward (MiB)")
    ax.set_title(f"torch on CPU, N = {n:,} rows, d = {d}, float32", fontsize=10)
    ax.grid(True, which="major", color="0.92")
    ax.legend(fontsize=8, loc="upper left")
    _save(fig, path)


# --------------------------------------------------------------------------
# benchmark: one figure per family
# --------------------------------------------------------------------------


def _elements(size: str) -> int:
    """'4096x1000' -> 4096000."""
    return math.prod(int(d) for d in str(size).split("x") if d.isdigit())


def _family_of(case: str) -> str:
    """The registry family of a benchmark case ('cross_entropy(ignore_index)' -> 'classification')."""
    info = polyloss.REGISTRY.get(str(case).split("(")[0].strip())
    return info.family if info is not None else "other"


def benchmark_rows(
    root: Path, logger: Any
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """The rows of ``benchmarks/cpu-results.json`` by family (registry order), and its metadata."""
    data = _read_json(root / "benchmarks" / "cpu-results.json", logger) or {}
    rows = [r for r in data.get("results", []) if r.get("ratio") is not None]
    order = [*FAMILIES, "other"]
    by_family: dict[str, list[dict[str, Any]]] = {}
    for family in order:
        mine = [r for r in rows if _family_of(r.get("case", "")) == family]
        if mine:
            by_family[family] = mine
    return by_family, dict(data.get("metadata", {}))


BACKEND_COLOURS = {"numpy": "tab:green", "torch": "tab:orange", "jax": "tab:blue"}


def benchmark_figure(
    path: Path, family: str, rows: list[dict[str, Any]], bounds: tuple[float, float]
) -> None:
    """Time of polyloss over time of the peer: a group of bars per case, backend and peer
    (its title written above it), a bar per size and mode."""
    rows = sorted(
        rows,
        key=lambda r: (
            str(r.get("case")),
            str(r.get("backend")),
            _elements(r.get("size", "")),
            str(r.get("mode")),
        ),
    )
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(
            (str(r.get("case")), str(r.get("backend")), str(r.get("peer") or "")), []
        ).append(r)
    heads: list[tuple[float, str]] = []
    bars: list[tuple[float, float, str, str]] = []  # (y, ratio, colour, label)
    y = 0.0
    for (case, backend, peer), members in groups.items():
        heads.append((y, f"{case} · {backend}" + (f"  vs {peer}" if peer else "")))
        y += 1
        for r in members:
            label = " · ".join(str(r[k]) for k in ("size", "mode") if r.get(k) not in (None, ""))
            bars.append((y, float(r["ratio"]), BACKEND_COLOURS.get(backend, "tab:gray"), label))
            y += 1
        y += 0.4
    fig, ax = plt.subplots(figsize=(7.4, 0.9 + 0.27 * y))
    ys = np.array([b[0] for b in bars])
    ratios = np.array([b[1] for b in bars])
    ax.barh(ys, ratios, color=[b[2] for b in bars], height=0.72)
    for yi, ratio in zip(ys, ratios, strict=True):
        ax.text(ratio * 1.02, yi, f"{ratio:.2f}", va="center", fontsize=9)
    for yh, text in heads:
        ax.text(bounds[0] * 1.02, yh, text, va="center", ha="left", fontsize=9, fontweight="bold")
    ax.axvline(1.0, color="k", lw=1)
    ax.set_yticks(ys, [b[3] for b in bars], fontsize=9)
    ax.set_ylim(y - 0.4, -0.7)
    ax.set_xscale("log")
    ax.set_xlim(*bounds)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([t for t in (0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6) if bounds[0] <= t <= bounds[1]])
    ax.tick_params(axis="x", labelsize=9)
    ax.set_xlabel("polyloss time / peer time  (< 1: polyloss faster)", fontsize=9.5)
    ax.set_title(FAMILIES.get(family, family), loc="left", fontsize=11)
    present = [b for b in BACKEND_COLOURS if any(str(r.get("backend")) == b for r in rows)]
    handles = [plt.Rectangle((0, 0), 1, 1, color=BACKEND_COLOURS[b]) for b in present]
    ax.legend(
        handles,
        present,
        fontsize=9,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=3,
        frameon=False,
    )
    ax.grid(True, axis="x", color="0.92")
    ax.set_axisbelow(True)
    _save(fig, path)


def benchmark_figures(outdir: Path, root: Path, logger: Any) -> list[tuple[str, str, int]]:
    """One figure per family of ``benchmarks/cpu-results.json``: ``[(family, file, rows)]``."""
    by_family, _ = benchmark_rows(root, logger)
    names = {f"benchmark-{family}.png" for family in by_family} or {"benchmark-none.png"}
    for stale in outdir.glob("benchmark-*.png"):  # families no longer measured
        if stale.name not in names:
            stale.unlink(missing_ok=True)
    if not by_family:
        _no_data(outdir / "benchmark-none.png", "no benchmark results yet\n(run the bench session)")
        return [("none", "benchmark-none.png", 0)]
    ratios = [float(r["ratio"]) for rows in by_family.values() for r in rows]
    bounds = (min(0.5, min(ratios) / 1.15), max(2.0, max(ratios) * 1.25))
    made = []
    for family, rows in by_family.items():
        name = f"benchmark-{family}.png"
        try:
            benchmark_figure(outdir / name, family, rows, bounds)
            made.append((family, name, len(rows)))
        except Exception as exc:
            logger.warning("figure %s failed: %r", name, exc)
            plt.close("all")
    return made


# --------------------------------------------------------------------------
# the figures and where they are shown
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A figure of the figures page, and the API pages and family sections that show it too."""

    file: str
    draw: Callable[[Path, Path, Any], None]
    label: str  # its section on the figures page (``:ref:``)
    alt: str
    caption: str  # a one-line caption for the API pages
    losses: tuple[str, ...] = ()
    families: tuple[str, ...] = ()


FIGURES: tuple[Figure, ...] = (
    Figure(
        "focal.png",
        focal_figure,
        "figure-focal",
        "focal loss against the probability of the true class for five values of gamma",
        r"The focal term :math:`-(1-p_t)^\gamma \log p_t` against :math:`p_t`, for five "
        r":math:`\gamma` (:func:`~polyloss.sigmoid_focal_loss`, ``alpha=None``).",
        losses=("sigmoid_focal_loss", "focal_loss"),
        families=("focal",),
    ),
    Figure(
        "dice_gradient.png",
        dice_gradient_figure,
        "figure-dice-gradient",
        "gradient magnitude of Dice and cross-entropy against the predicted probability",
        "Dice and cross-entropy gradients on one element: Dice's blow up where the "
        "prediction and the target are both small.",
        losses=("dice_loss",),
        families=("overlap",),
    ),
    Figure(
        "poly1.png",
        poly1_figure,
        "figure-poly1",
        "Poly-1 cross-entropy and Poly-1 focal loss against the probability of the true class",
        r"Poly-1 adds :math:`\varepsilon(1 - p_t)` to cross-entropy (left) and "
        r":math:`\varepsilon(1 - p_t)^{\gamma+1}` to the focal loss (right).",
        losses=("poly1_cross_entropy", "poly1_focal_loss"),
    ),
    Figure(
        "margin.png",
        margin_figure,
        "figure-margin",
        "hinge, squared hinge, soft margin and perceptron losses against the margin",
        r"The binary margin losses against the margin :math:`m = y f(x)`: "
        ":func:`~polyloss.hinge_loss`, :func:`~polyloss.squared_hinge_loss`, "
        ":func:`~polyloss.soft_margin_loss` and :func:`~polyloss.perceptron_loss`.",
        losses=("hinge_loss", "squared_hinge_loss", "soft_margin_loss", "perceptron_loss"),
        families=("margin",),
    ),
    Figure(
        "sparsemax.png",
        sparsemax_figure,
        "figure-sparsemax",
        "sparsemax and softmax probabilities of a 3-class input as one score varies, and their losses",
        "Sparsemax against softmax on the scores :math:`(t, 0, -0.5)`: sparse "
        "probabilities (left), and :func:`~polyloss.sparsemax_loss` against "
        ":func:`~polyloss.cross_entropy` (right).",
        losses=("sparsemax_loss",),
        families=("structured",),
    ),
    Figure(
        "vocabulary_memory.png",
        vocabulary_memory_figure,
        "figure-vocabulary-memory",
        "peak memory of linear_cross_entropy and of the materialised logits against the vocabulary size",
        ":func:`~polyloss.linear_cross_entropy` against ``F.cross_entropy`` of the "
        "materialised logits: peak memory of a forward and backward pass against V "
        "(torch, CPU, measured).",
        losses=("linear_cross_entropy",),
        families=("large_vocabulary",),
    ),
)


def figure_block(figure: Figure, *, more: bool = True, width: str = "100%") -> list[str]:
    """The reStructuredText of `figure` on a page other than the figures page."""
    caption = figure.caption + (
        f" More on the :ref:`figures page <{figure.label}>`." if more else ""
    )
    return [
        f".. figure:: /_figures/{figure.file}",
        f"   :alt: {figure.alt}",
        f"   :width: {width}",
        "",
        f"   {caption}",
        "",
    ]


def for_loss(name: str) -> list[Figure]:
    return [f for f in FIGURES if name in f.losses]


def for_family(family: str) -> list[Figure]:
    return [f for f in FIGURES if family in f.families]


def make_all(outdir: Path, root: Path, logger: Any) -> list[tuple[str, str, int]]:
    """Draw every figure into `outdir`; return the benchmark figures made (family, file, rows)."""
    with np.errstate(all="ignore"):
        for figure in FIGURES:
            try:
                figure.draw(outdir / figure.file, root, logger)
            except Exception as exc:
                logger.warning("figure %s failed: %r", figure.file, exc)
                plt.close("all")
        try:
            return benchmark_figures(outdir, root, logger)
        except Exception as exc:
            logger.warning("the benchmark figures failed: %r", exc)
            plt.close("all")
            return []
