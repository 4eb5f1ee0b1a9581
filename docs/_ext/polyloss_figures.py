"""Figures of the polyloss docs, drawn with matplotlib (Agg) from polyloss itself.

Every curve is polyloss evaluated on NumPy float64 arrays; gradients are central
finite differences of polyloss (NumPy has no autodiff).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import polyloss

GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)
H = 1e-6


def _logit(p: Any) -> Any:
    return np.log(p) - np.log1p(-p)


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def focal_figure(path: Path, logger: Any) -> None:
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


def dice_gradient_figure(path: Path, logger: Any) -> None:
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
                np.abs(_fd(lambda a, dice=dice, tt=tt: dice(a, tt, activation="sigmoid"), z)).ravel(),
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


def poly1_figure(path: Path, logger: Any) -> None:
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
    ax2.set_title(r"poly1_focal_loss: FL + $\varepsilon(1 - p_t)^{\gamma+1}$")
    ax2.legend()
    _save(fig, path)


def _benchmark_rows(data: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows and metadata of benchmarks/cpu-results.json (written by benchmarks/run.py)."""
    return list(data.get("results", [])), dict(data.get("metadata", {}))


def _elements(size: str) -> int:
    """'4096x1000' -> 4096000."""
    return math.prod(int(d) for d in str(size).split("x") if d.isdigit())


def benchmark_figure(path: Path, root: Path, logger: Any) -> None:
    """Time of polyloss over time of the native peer, from benchmarks/cpu-results.json."""
    source = root / "benchmarks" / "cpu-results.json"
    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    if source.exists():
        try:
            rows, meta = _benchmark_rows(json.loads(source.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            logger.warning("benchmarks/cpu-results.json cannot be read: %r", exc)
    if not rows:
        fig, ax = plt.subplots(figsize=(6.4, 1.6))
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            "no benchmark results yet\n(run the bench session to write "
            "benchmarks/cpu-results.json)",
            ha="center",
            va="center",
            fontsize=11,
        )
        _save(fig, path)
        return
    rows = sorted(
        rows,
        key=lambda r: (
            str(r.get("backend")),
            str(r.get("case")),
            str(r.get("mode")),
            _elements(r.get("size", "")),
        ),
    )
    labels = [
        " · ".join(
            str(r[k]) for k in ("case", "backend", "mode", "size") if r.get(k) not in (None, "")
        )
        + (f"  (vs {r['peer']})" if r.get("peer") else "")
        for r in rows
    ]
    ratios = np.array([float(r["ratio"]) for r in rows])
    backends = sorted({str(r.get("backend")) for r in rows})
    colors = {b: f"C{i}" for i, b in enumerate(backends)}
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.24 * len(rows)))
    ax.barh(np.arange(len(rows)), ratios, color=[colors[str(r.get("backend"))] for r in rows])
    ax.axvline(1.0, color="k", lw=1)
    ax.set_yticks(np.arange(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("polyloss time / native peer time  (< 1: polyloss faster)")
    title = "CPU benchmark"
    for key in ("machine", "cpu", "date", "torch", "jax", "numpy"):
        if key in meta and isinstance(meta[key], (str, int, float)):
            title += f" · {key} {meta[key]}"
    ax.set_title(title, fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[b]) for b in backends]
    ax.legend(handles, backends, fontsize=8, loc="lower right")
    _save(fig, path)


def make_all(outdir: Path, root: Path, logger: Any) -> None:
    with np.errstate(all="ignore"):
        for name, make in (
            ("focal.png", focal_figure),
            ("dice_gradient.png", dice_gradient_figure),
            ("poly1.png", poly1_figure),
        ):
            try:
                make(outdir / name, logger)
            except Exception as exc:
                logger.warning("figure %s failed: %r", name, exc)
                plt.close("all")
        try:
            benchmark_figure(outdir / "benchmark.png", root, logger)
        except Exception as exc:
            logger.warning("figure benchmark.png failed: %r", exc)
            plt.close("all")
