"""Tables of the polyloss docs, rendered while the docs build.

Nothing here is typed in or re-implemented: the family tables, the API pages' details
and the migration tables come from ``polyloss.REGISTRY``; the equivalences are the rows
of ``tests/conventions.py``, which the parity test session checks against the
libraries; and every number is polyloss itself, called on NumPy arrays.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polyloss_inventories
from sphinx.util import logging

import polyloss
from polyloss._registry import FAMILIES, LIBRARIES, ordered_losses

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# reStructuredText helpers
# --------------------------------------------------------------------------


def fmt(value: Any) -> str:
    v = float(value)
    return str(v) if math.isnan(v) or math.isinf(v) else f"{v:.6g}"


def lit(text: Any) -> str:
    """An inline literal that survives backquotes and newlines."""
    text = str(text).replace("`", "'").replace("\n", " ")
    return f"``{text}``" if text else ""


def esc(text: Any) -> str:
    """Plain text (notes), with the characters reStructuredText would interpret escaped."""
    return (
        str(text).replace("\\", "\\\\").replace("*", "\\*").replace("|", "\\|").replace("\n", " ")
    )


def list_table(header: list[str], rows: Iterable[list[str]], widths: list[int]) -> list[str]:
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: " + " ".join(map(str, widths)),
        "",
    ]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            lines.append(("   * - " if i == 0 else "     - ") + (cell or " "))
    return [*lines, ""]


def summary(info: Any) -> str:
    """The docstring's first paragraph, reStructuredText as written (math included)."""
    doc = inspect.getdoc(info.function) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


#: the external names the committed intersphinx inventories hold (docs/_inventories)
LINKED = polyloss_inventories.names()


def peer_text(peer: Any) -> str:
    """The peer's name, a link to its library's page when the inventories hold it."""
    if peer.importable and peer.name in LINKED:
        text = f":py:obj:`{peer.name}`"
    elif peer.importable:
        text = lit(peer.name)
    else:
        text = f"{LIBRARIES[peer.library]}: {lit(peer.name)}"
    return text + (f" ({esc(peer.note)})" if peer.note else "")


def peers_text(info: Any) -> str:
    return "; ".join(peer_text(p) for p in info.peers) or "(none named)"


# --------------------------------------------------------------------------
# registry tables
# --------------------------------------------------------------------------


def example_table(info: Any) -> list[str]:
    """The loss's registered example, evaluated with NumPy while the docs build."""
    arrays = [
        np.asarray(a.values, dtype=np.int64 if a.integer else np.float64)
        for a in info.example.arrays
    ]
    options = dict(info.example.options)
    rows = [
        [lit(name), f"shape {a.shape}, {a.dtype}"]
        for name, a in zip(info.arguments, arrays, strict=True)
    ]
    rows.append(["options", ", ".join(lit(f"{k}={v!r}") for k, v in options.items()) or "defaults"])
    try:
        for r in info.reductions:
            out = np.asarray(info.function(*arrays, **options, reduction=r))
            rows.append(
                [
                    lit(f'reduction="{r}"'),
                    f"array of shape {out.shape}" if r == "none" else fmt(out),
                ]
            )
        single = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
        rows.append(
            [
                "float32 arrays",
                f"result dtype {np.asarray(info.function(*single, **options)).dtype}",
            ]
        )
    except Exception as exc:
        logger.warning("polyloss.%s: its registered example fails on NumPy: %r", info.name, exc)
        return ["The registered example could not be evaluated.", ""]
    intro = (
        "The fixed case that the backend test matrix and ``python -m polyloss`` evaluate on "
        "every backend, computed here with NumPy (float64) when these pages were built."
    )
    return [intro, "", *list_table(["", "value"], rows, [25, 75])]


def family_sections(figures: dict[str, list[str]] | None = None) -> str:
    """One section per family that has a loss, in the registry's family order; the
    reStructuredText of ``figures[family]`` follows the family's table."""
    infos = ordered_losses()
    lines: list[str] = []
    for family, title in FAMILIES.items():
        members = [i for i in infos if i.family == family]
        if not members:
            continue
        lines += [f".. _api-family-{family}:", "", title, "-" * len(title), ""]
        rows = [
            [
                f":func:`~polyloss.{i.name}`",
                f":class:`~polyloss.{i.object_name}`",
                summary(i),
                peers_text(i),
            ]
            for i in members
        ]
        lines += list_table(
            ["function", "loss object", "formula", "matches"], rows, [20, 18, 37, 25]
        )
        lines += (figures or {}).get(family, [])
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# the equivalences of tests/conventions.py
# --------------------------------------------------------------------------


def convention_rows(path: str) -> list[tuple[str, str, str, str]]:
    """The ``(library, their call, polyloss call, note)`` rows of ``tests/conventions.py``."""
    spec = importlib.util.spec_from_file_location("polyloss_docs_conventions", Path(path))
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [tuple(row) for row in module.CONVENTIONS]


def library_key(name: str) -> str:
    """The :data:`LIBRARIES` key of a row's library name (the name itself if none)."""
    n = name.lower()
    for key, title in LIBRARIES.items():
        if n in (key, title.lower()) or title.lower().startswith(n + " "):
            return key
    return "article" if "article" in n else name


def library_title(name: str) -> str:
    return LIBRARIES.get(library_key(name), name)


def migration(libraries: list[str], rows: list[tuple[str, str, str, str]]) -> list[str]:
    lines: list[str] = []
    mine = [r for r in rows if library_key(r[0]) in libraries]
    if mine:
        lines += ["Equivalences that the parity test session checks (see :doc:`/conventions`):", ""]
        lines += list_table(
            ["their call", "polyloss call with the same value", "note"],
            ([lit(r[1]), lit(r[2]), esc(r[3])] for r in mine),
            [31, 31, 38],
        )
    peers = [
        [
            peer_text(p),
            f":func:`polyloss.{i.name} <polyloss.{i.name}>`",
            ", ".join(lit(o) for o in i.options if o != "reduction") or "(none)",
        ]
        for i in ordered_losses()
        for p in i.peers
        if p.library in libraries
    ]
    if peers:
        lines += ["Losses matched against this library:", ""]
        lines += list_table(["peer", "polyloss", "polyloss options"], peers, [40, 30, 30])
    names = " or ".join(LIBRARIES.get(k, k) for k in libraries)
    return lines or [f"*No registered loss is matched against {names} yet.*", ""]


def equivalences(rows: list[tuple[str, str, str, str]]) -> list[str]:
    return list_table(
        ["library", "their call", "polyloss call", "note"],
        ([esc(library_title(r[0])), lit(r[1]), lit(r[2]), esc(r[3])] for r in rows),
        [16, 26, 26, 32],
    )


# --------------------------------------------------------------------------
# values: polyloss calls written in a page, evaluated on named NumPy data
# --------------------------------------------------------------------------

_ARTICLE_P = np.array(  # the 2×3×3 example of the article 深度学习 ② 常用损失函数 2)
    [
        [[0.2656, 0.4492, 0.3135], [0.8917, 0.2472, 0.4546], [0.3573, 0.1485, 0.3700]],
        [[0.7022, 0.3999, 0.5945], [0.2945, 0.3459, 0.6240], [0.4438, 0.7022, 0.7051]],
    ]
)
_ARTICLE_T = np.array(
    [
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
        [[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]],
    ]
)
_LOGITS = np.array([[1.2, -0.3, 0.4], [0.1, 2.0, -1.0], [-0.5, 0.2, 0.9], [2.5, 0.0, -2.0]])

#: name -> (column title, variables). The conventions page names the data of each table.
DATA: dict[str, tuple[str, dict[str, Any]]] = {
    "edge": (
        "value",
        {"p": np.array([0.0]), "t": np.array([1.0]), "y": np.array([1]), "z": np.array([-1e4])},
    ),
    "article": ("the article's 2×3×3 example", {"p": _ARTICLE_P, "t": _ARTICLE_T}),
    "empty": (
        "empty prediction and target",
        {"p": np.zeros_like(_ARTICLE_P), "t": np.zeros_like(_ARTICLE_T)},
    ),
    "logits": (
        "value",
        {
            "x": _LOGITS,
            "y": np.array([0, 1, 2, 2]),
            "w": np.array([1.0, 2.0, 3.0]),
            "ignored": np.full(4, -100),
            "log_p": _LOGITS - np.log(np.exp(_LOGITS).sum(axis=1, keepdims=True)),
            "z": np.array([2.0, -1.0, 0.5, -3.0, 1.5, 0.0]),
            "t": np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
        },
    ),
    "margins": (
        "value",
        {
            "s": np.array([[0.5, -0.4, -1.2], [0.8, 0.3, -0.5], [0.2, 0.6, 0.1], [-0.3, 0.4, 1.1]]),
            "y": np.array([0, 1, 2, 2]),
            "onehot": np.eye(3)[[0, 1, 2, 2]],
            "z": np.array([2.0, -1.0, 0.5, -3.0, 1.5, 0.0]),
            "t": np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
            "u": np.array([[1.0, 0.0], [2.0, 2.0], [0.0, 0.0]]),
            "v": np.array([[1.0, 1.0], [-1.0, 0.5], [1.0, 2.0]]),
        },
    ),
}


def values(datasets: list[str], content: list[str]) -> list[str]:
    """Rows ``description | polyloss call``, each call evaluated on every data set."""
    functions = {name: getattr(polyloss, name) for name in polyloss.__all__}
    rows = []
    for line in filter(str.strip, content):
        description, call = (s.strip() for s in line.rsplit(" | ", 1))
        cells = [description, lit(call)]
        for name in datasets:
            try:
                with np.errstate(all="ignore"):
                    cells.append(fmt(eval(call, {"np": np, **functions}, dict(DATA[name][1]))))
            except Exception as exc:
                logger.warning("polyloss-table values: %s on %s fails: %r", call, name, exc)
                cells.append("(fails)")
        rows.append(cells)
    width = 30 // len(datasets)
    return list_table(
        ["convention", "polyloss call", *(DATA[n][0] for n in datasets)],
        rows,
        [30, 40, *([width] * len(datasets))],
    )
