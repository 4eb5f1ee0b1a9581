"""Tables of the polyloss docs, computed while the docs build (NumPy only).

Nothing here is typed in: the family tables come from ``polyloss.REGISTRY``, the
migration tables from the registry's peers and from ``polyloss._conventions`` (the
equivalences the test-suite verifies against the real libraries), and every number
of the conventions page is computed by calling polyloss with the options that
reproduce a library's convention, next to a NumPy transcription of that library's
formula. A disagreement between the two is a build warning (an error under ``-W``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

LIBRARIES = {
    "torch": "PyTorch (torch.nn.functional, torchvision)",
    "optax": "optax",
    "monai": "MONAI",
    "smp": "segmentation_models_pytorch",
    "keras": "Keras 3",
    "sklearn": "scikit-learn",
    "other": "Other references",
}


class Missing(Exception):
    """A polyloss function the table needs is not in this build."""


def loss(name: str) -> Callable[..., Any]:
    import polyloss

    fn = getattr(polyloss, name, None)
    if fn is None:
        raise Missing(name)
    return fn


def fmt(value: Any) -> str:
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.6g}"


def lit(text: str) -> str:
    """Inline literal that survives backslashes and backquotes."""
    text = str(text).replace("`", "'").replace("\n", " ")
    return f"``{text}``" if text else ""


def esc(text: str) -> str:
    return (
        str(text).replace("\\", "\\\\").replace("*", "\\*").replace("|", "\\|").replace("\n", " ")
    )


def list_table(
    header: list[str], rows: Iterable[list[str]], widths: list[int] | None = None
) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1"]
    if widths:
        lines.append("   :widths: " + " ".join(str(w) for w in widths))
    lines.append("")
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            lines.append(("   * - " if i == 0 else "     - ") + (cell if cell != "" else " "))
    lines.append("")
    return lines


def peer_text(peer: str) -> str:
    return lit(peer) if peer else "(none named)"


def library_of(text: str) -> str:
    t = text.lower()
    for key, needles in (
        ("smp", ("segmentation_models", "smp")),
        ("monai", ("monai",)),
        ("optax", ("optax",)),
        ("keras", ("keras",)),
        ("sklearn", ("sklearn", "scikit")),
        ("torch", ("torch",)),
    ):
        if any(n in t for n in needles):
            return key
    return "other"


# --------------------------------------------------------------------------
# registry tables
# --------------------------------------------------------------------------


def _example_arrays(info: Any, dtype: Any = np.float64) -> tuple[Any, Any, dict[str, Any]]:
    ex = info.example
    x = np.asarray(ex.input, dtype=dtype)
    t = np.asarray(ex.target, dtype=np.int64 if ex.target_kind == "int" else dtype)
    return x, t, dict(ex.options)


def example_table(info: Any) -> list[str]:
    """The loss's registered example, evaluated with NumPy while the docs build."""
    try:
        x, t, options = _example_arrays(info)
        values = {}
        for reduction in info.reductions:
            if reduction == "none":
                out = np.asarray(info.function(x, t, **options, reduction="none"))
                values["none"] = f"array of shape {tuple(out.shape)}"
            else:
                values[reduction] = fmt(info.function(x, t, **options, reduction=reduction))
        x32, t32, _ = _example_arrays(info, np.float32)
        v32 = info.function(x32, t32, **options)
        dtype32 = str(np.asarray(v32).dtype)
    except Exception as exc:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "polyloss.%s: its registered example fails on NumPy: %r", info.name, exc
        )
        return ["The registered example could not be evaluated.", ""]
    lines = [
        "The fixed case that the backend matrix tests and ``python -m polyloss`` evaluate "
        "on every backend, computed here with NumPy (float64) when these pages were built.",
        "",
    ]
    rows = [
        ["input", f"shape {tuple(x.shape)}, float64"],
        ["target", f"shape {tuple(t.shape)}, {t.dtype}"],
        ["options", ", ".join(f"``{k}={v!r}``" for k, v in options.items()) or "defaults"],
    ]
    rows += [[f'``reduction="{r}"``', v] for r, v in values.items()]
    rows.append(["float32 input", f"result dtype {dtype32}"])
    return lines + list_table(["", "value"], rows, [25, 75])


def family_sections(infos: list[Any], titles: dict[str, str]) -> str:
    families: dict[str, list[Any]] = {}
    for info in infos:
        families.setdefault(info.family, []).append(info)
    lines: list[str] = []
    for family, members in families.items():
        title = titles.get(family, family.capitalize())
        lines += [f".. _api-family-{family}:", "", title, "-" * len(title), ""]
        rows = [
            [
                f":func:`~polyloss.{i.name}`",
                f":class:`~polyloss.{i.object_name}`",
                esc(i.summary),
                peer_text(i.peer),
            ]
            for i in members
        ]
        lines += list_table(
            ["function", "loss object", "formula", "matches"], rows, [20, 18, 37, 25]
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# polyloss._conventions (rows verified by the test-suite)
# --------------------------------------------------------------------------


def _row_fields(row: Any) -> tuple[str, str, str, str] | None:
    if hasattr(row, "_asdict"):
        values = list(row._asdict().values())
    elif dataclasses.is_dataclass(row) and not isinstance(row, type):
        values = [getattr(row, f.name) for f in dataclasses.fields(row)]
    elif isinstance(row, (tuple, list)):
        values = list(row)
    else:
        return None
    if len(values) < 3 or not all(isinstance(v, str) for v in values[:3]):
        return None
    note = values[3] if len(values) > 3 and isinstance(values[3], str) else ""
    return values[0], values[1], values[2], note


def convention_rows() -> list[tuple[str, str, str, str]] | None:
    """The rows of ``polyloss._conventions``, or None where that module is absent."""
    try:
        from polyloss import _conventions
    except ImportError:
        return None
    preferred = ("ROWS", "CONVENTIONS", "EQUIVALENTS", "EQUIVALENCES", "MIGRATION", "TABLE")
    names = [n for n in preferred if hasattr(_conventions, n)]
    names += [n for n in vars(_conventions) if not n.startswith("_") and n not in names]
    for name in names:
        value = getattr(_conventions, name)
        if isinstance(value, (tuple, list)) and value:
            rows = [_row_fields(r) for r in value]
            if all(r is not None for r in rows):
                return rows  # type: ignore[return-value]
    return None


def migration(library: str, logger: Any) -> list[str]:

    from polyloss_docs import ordered_losses

    lines: list[str] = []
    rows = convention_rows()
    if rows is not None:
        mine = [r for r in rows if library_of(r[0]) == library]
        if mine:
            lines += [
                "Equivalences that the test-suite checks against the library itself "
                "(``polyloss._conventions``):",
                "",
            ]
            lines += list_table(
                [f"{LIBRARIES[library]} call", "polyloss call with the same value", "note"],
                ([lit(r[1]), lit(r[2]), esc(r[3])] for r in mine),
                [38, 38, 24],
            )
    peers = []
    for info in ordered_losses():
        for peer in info.peer.split(", ") if info.peer else []:
            if library_of(peer) == library:
                opts = [k for k in info.options if k != "reduction"]
                peers.append(
                    [
                        lit(peer),
                        f":func:`polyloss.{info.name} <polyloss.{info.name}>`",
                        ", ".join(f"``{o}``" for o in opts) or "(none)",
                    ]
                )
    if peers:
        lines += ["Losses whose documented peer is in this library (``polyloss.REGISTRY``):", ""]
        lines += list_table(["peer", "polyloss", "polyloss options"], peers, [40, 30, 30])
    if not lines:
        lines = [f"*No registered loss names a {LIBRARIES[library]} peer yet.*", ""]
    if rows is None:
        logger.info("polyloss._conventions is absent: migration tables show registry peers only")
    return lines


def all_conventions(logger: Any) -> list[str]:
    rows = convention_rows()
    if rows is None:
        return [
            "The verified equivalence table, ``polyloss._conventions``, is not part of this build.",
            "",
        ]
    return list_table(
        ["library", "their call", "polyloss call", "note"],
        ([esc(r[0]), lit(r[1]), lit(r[2]), esc(r[3])] for r in rows),
        [14, 31, 31, 24],
    )


# --------------------------------------------------------------------------
# conventions: each library's number, through polyloss and through a NumPy
# transcription of the library's formula
# --------------------------------------------------------------------------


def _agree(a: Any, b: Any) -> bool:
    """Equal to float32 accuracy when either side is float32, else to 1e-9."""
    single = any(getattr(v, "dtype", None) == np.float32 for v in (a, b))
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= (1e-6 if single else 1e-9) * max(1.0, abs(x), abs(y))


Case = tuple  # (convention, polyloss call, polyloss thunk, library thunk or None, same)


def _compare_table(cases: list[Case], logger: Any, what: str) -> list[str]:
    """Rows: convention, polyloss call, polyloss value, the library's formula value.

    ``same`` says whether the two must agree (a convention polyloss reproduces) or
    must differ (a convention polyloss deliberately does not follow); either
    failing is a build warning.
    """
    rows = []
    for convention, call, poly, peer, *rest in cases:
        same = rest[0] if rest else True
        qv = None
        if peer is not None:
            with np.errstate(all="ignore"):
                qv = peer()
        try:
            with np.errstate(all="ignore"):
                pv = poly()
            pcell = fmt(pv)
        except Missing as m:
            logger.warning(
                "conventions (%s): polyloss.%s is missing", what, m.args[0], type="polyloss"
            )
            rows.append(
                [
                    convention,
                    lit(call),
                    f"*polyloss.{m.args[0]} not in this build*",
                    fmt(qv) if qv is not None else "—",
                ]
            )
            continue
        if qv is not None and _agree(pv, qv) != same:
            logger.warning(
                "conventions (%s): %s gives %s and the library's formula %s (expected them to %s)",
                what,
                call,
                pcell,
                fmt(qv),
                "agree" if same else "differ",
                type="polyloss",
            )
        rows.append([convention, lit(call), pcell, fmt(qv) if qv is not None else "—"])
    return list_table(
        ["convention", "polyloss call", "polyloss", "library formula (NumPy)"],
        rows,
        [34, 38, 13, 15],
    )


# -- the data ---------------------------------------------------------------

ARTICLE_INPUT = np.array(
    [
        [[0.2656, 0.4492, 0.3135], [0.8917, 0.2472, 0.4546], [0.3573, 0.1485, 0.3700]],
        [[0.7022, 0.3999, 0.5945], [0.2945, 0.3459, 0.6240], [0.4438, 0.7022, 0.7051]],
    ]
)
ARTICLE_TARGET = np.array(
    [
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
        [[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]],
    ]
)
LOGITS = np.array(
    [[1.2, -0.3, 0.4], [0.1, 2.0, -1.0], [-0.5, 0.2, 0.9], [2.5, 0.0, -2.0]], dtype=np.float64
)
LABELS = np.array([0, 1, 2, 2])
CLASS_WEIGHT = np.array([1.0, 2.0, 3.0])


def _log_softmax(x: Any) -> Any:
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def _per_sample(x: Any) -> Any:
    return x.reshape(x.shape[0], -1).sum(axis=1)


def bce_table(logger: Any) -> list[str]:
    p0, t1 = np.array([0.0]), np.array([1.0])

    def naive() -> Any:
        return -(t1 * np.log(p0) + (1 - t1) * np.log1p(-p0))[0]

    cases = [
        (
            "PyTorch ``F.binary_cross_entropy``: each log clamped at −100",
            "binary_cross_entropy(p, t)",
            lambda: loss("binary_cross_entropy")(p0, t1),
            lambda: (
                -(
                    t1 * np.maximum(np.log(p0), -100.0)
                    + (1 - t1) * np.maximum(np.log1p(-p0), -100.0)
                )[0]
            ),
        ),
        (
            "scikit-learn ``log_loss``: p clipped to [eps, 1 − eps], eps = float64 eps",
            "log_loss(p, t)",
            lambda: loss("log_loss")(p0, t1.astype(np.int64)),
            lambda: -np.log(np.finfo(np.float64).eps),
        ),
        (
            "the same in float32 (eps = float32 eps)",
            "log_loss(p.astype(np.float32), t)",
            lambda: loss("log_loss")(p0.astype(np.float32), t1.astype(np.int64)),
            lambda: -np.log(np.float64(np.finfo(np.float32).eps)),
        ),
        (
            "Keras 3 ``binary_crossentropy``: p clipped to [1e-7, 1 − 1e-7]",
            "(no option: clip p yourself)",
            lambda: loss("binary_cross_entropy")(np.clip(p0, 1e-7, 1 - 1e-7), t1),
            lambda: -np.log(1e-7),
        ),
        (
            "the textbook formula −t log p − (1 − t) log(1 − p)",
            "(none: polyloss never returns inf here)",
            lambda: loss("binary_cross_entropy")(p0, t1),
            naive,
            False,
        ),
        (
            "logits instead of probabilities: logit −1e4, target 1",
            "binary_cross_entropy_with_logits(z, t)",
            lambda: loss("binary_cross_entropy_with_logits")(np.array([-1e4]), t1),
            lambda: 1e4,
        ),
    ]
    return _compare_table(cases, logger, "bce")


def dice_table(logger: Any) -> list[str]:
    p, t = ARTICLE_INPUT, ARTICLE_TARGET
    z = np.zeros_like(p)

    def article(pp: Any, tt: Any) -> Any:  # the reference article's DiceLoss, in NumPy
        n = tt.shape[0]
        score = 2 * (_per_sample(pp * tt) + 1) / (_per_sample(pp) + _per_sample(tt) + 1)
        return 1 - score.sum() / n

    def monai(pp: Any, tt: Any) -> Any:  # MONAI DiceLoss(): per sample (one channel), mean
        return np.mean(
            1 - (2 * _per_sample(pp * tt) + 1e-5) / (_per_sample(pp) + _per_sample(tt) + 1e-5)
        )

    def keras(pp: Any, tt: Any) -> Any:  # keras.losses.Dice(): whole tensor, epsilon 1e-7
        return 1 - 2 * (pp * tt).sum() / (tt.sum() + pp.sum() + 1e-7)

    def default(pp: Any, tt: Any) -> Any:
        return np.mean(1 - (2 * _per_sample(pp * tt) + 1) / (_per_sample(pp) + _per_sample(tt) + 1))

    variants = [
        ("polyloss default (smooth_nr = smooth_dr = 1)", "dice_loss(p, t)", {}, default),
        (
            "the reference article's ``DiceLoss`` (smooth = 1 added inside 2(I + 1))",
            "dice_loss(p, t, smooth_nr=2.0, smooth_dr=1.0)",
            {"smooth_nr": 2.0, "smooth_dr": 1.0},
            article,
        ),
        (
            "MONAI ``DiceLoss()`` (1e-5 / 1e-5)",
            "dice_loss(p, t, smooth_nr=1e-5, smooth_dr=1e-5)",
            {"smooth_nr": 1e-5, "smooth_dr": 1e-5},
            monai,
        ),
        (
            "Keras 3 ``Dice()`` (no numerator term, epsilon in the denominator, whole batch pooled)",
            "dice_loss(p, t, smooth_nr=0.0, smooth_dr=1e-7, batch=True)",
            {"smooth_nr": 0.0, "smooth_dr": 1e-7, "batch": True},
            keras,
        ),
    ]
    rows = []
    for convention, call, options, formula in variants:
        cells = [convention, lit(call)]
        for pp, tt in ((p, t), (z, z)):
            with np.errstate(all="ignore"):
                qv = formula(pp, tt)
            try:
                pv = loss("dice_loss")(pp, tt, **options)
                if not _agree(pv, qv):
                    logger.warning(
                        "conventions (dice): %s gives %s, the formula %s",
                        call,
                        fmt(pv),
                        fmt(qv),
                        type="polyloss",
                    )
                cells.append(fmt(pv))
            except Missing:
                logger.warning("conventions (dice): polyloss.dice_loss is missing", type="polyloss")
                cells.append(f"({fmt(qv)} by the formula)")
        rows.append(cells)
    return list_table(
        ["convention", "polyloss call", "article's 2×3×3 example", "empty prediction and target"],
        rows,
        [34, 36, 15, 15],
    )


def tversky_table(logger: Any) -> list[str]:
    p, t = ARTICLE_INPUT, ARTICLE_TARGET
    a, b = 0.3, 0.7

    def monai() -> Any:  # MONAI TverskyLoss(alpha, beta): alpha weights FP, beta FN
        tp = _per_sample(p * t)
        fp = _per_sample(p * (1 - t))
        fn = _per_sample((1 - p) * t)
        return np.mean(1 - (tp + 1e-5) / (tp + a * fp + b * fn + 1e-5))

    def keras() -> Any:  # keras.losses.Tversky(alpha, beta), transcribed from its source
        inputs, targets = t.reshape(-1), p.reshape(-1)  # Keras: inputs = y_true, targets = y_pred
        intersection = (inputs * targets).sum()
        fp = ((1 - targets) * inputs).sum()  # named fp in Keras, but counts false negatives
        fn = (targets * (1 - inputs)).sum()  # named fn in Keras, but counts false positives
        return 1 - intersection / (intersection + fp * a + fn * b + 1e-7)

    cases = [
        (
            f"MONAI ``TverskyLoss(alpha={a}, beta={b})``: alpha weights FP",
            f"tversky_loss(p, t, alpha={a}, beta={b}, smooth_nr=1e-5, smooth_dr=1e-5)",
            lambda: loss("tversky_loss")(p, t, alpha=a, beta=b, smooth_nr=1e-5, smooth_dr=1e-5),
            monai,
        ),
        (
            f"Keras 3 ``Tversky(alpha={a}, beta={b})``: its alpha multiplies the false negatives",
            f"tversky_loss(p, t, alpha={b}, beta={a}, smooth_nr=0.0, smooth_dr=1e-7, batch=True)",
            lambda: loss("tversky_loss")(
                p, t, alpha=b, beta=a, smooth_nr=0.0, smooth_dr=1e-7, batch=True
            ),
            keras,
        ),
        (
            "the same Keras call read as its docstring says (alpha on FP): a different number",
            f"tversky_loss(p, t, alpha={a}, beta={b}, smooth_nr=0.0, smooth_dr=1e-7, batch=True)",
            lambda: loss("tversky_loss")(
                p, t, alpha=a, beta=b, smooth_nr=0.0, smooth_dr=1e-7, batch=True
            ),
            keras,
            False,
        ),
    ]
    return _compare_table(cases, logger, "tversky")


def focal_table(logger: Any) -> list[str]:
    z = np.array([2.0, -1.0, 0.5, -3.0, 1.5, 0.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])

    def torchvision(alpha: float | None) -> Any:  # torchvision.ops.sigmoid_focal_loss, mean
        p = 1 / (1 + np.exp(-z))
        ce = np.logaddexp(0, z) - y * z
        p_t = p * y + (1 - p) * (1 - y)
        out = ce * (1 - p_t) ** 2
        if alpha is not None:
            out = (alpha * y + (1 - alpha) * (1 - y)) * out
        return out.mean()

    def article(alpha: Any) -> Any:  # the article's FocalLoss(gamma=2, alpha): alpha_t gathered
        logp = _log_softmax(LOGITS)[np.arange(len(LABELS)), LABELS]
        a = 1.0 if alpha is None else np.asarray(alpha)[LABELS]
        return np.mean(-((1 - np.exp(logp)) ** 2) * logp * a)

    def ce() -> Any:
        return -np.mean(_log_softmax(LOGITS)[np.arange(len(LABELS)), LABELS])

    cases = [
        (
            "torchvision ``sigmoid_focal_loss`` / RetinaNet: alpha = 0.25 on positives, 0.75 on negatives",
            "sigmoid_focal_loss(z, y)",
            lambda: loss("sigmoid_focal_loss")(z, y),
            lambda: torchvision(0.25),
        ),
        (
            "torchvision with ``alpha=-1`` (off); Keras ``BinaryFocalCrossentropy()`` without class balancing",
            "sigmoid_focal_loss(z, y, alpha=None)",
            lambda: loss("sigmoid_focal_loss")(z, y, alpha=None),
            lambda: torchvision(None),
        ),
        (
            "the reference article's multi-class ``FocalLoss(gamma=2)``, no alpha",
            "focal_loss(x, labels)",
            lambda: loss("focal_loss")(LOGITS, LABELS),
            lambda: article(None),
        ),
        (
            "the article's per-class alpha_t = alpha[target]",
            "focal_loss(x, labels, alpha=[0.2, 0.3, 0.5])",
            lambda: loss("focal_loss")(LOGITS, LABELS, alpha=[0.2, 0.3, 0.5]),
            lambda: article([0.2, 0.3, 0.5]),
        ),
        (
            "a scalar alpha (Keras ``CategoricalFocalCrossentropy(alpha=0.25)``) scales every class",
            "focal_loss(x, labels, alpha=[0.25, 0.25, 0.25])",
            lambda: loss("focal_loss")(LOGITS, LABELS, alpha=[0.25] * 3),
            lambda: article([0.25] * 3),
        ),
        (
            "gamma = 0 is cross-entropy",
            "focal_loss(x, labels, gamma=0.0)",
            lambda: loss("focal_loss")(LOGITS, LABELS, gamma=0.0),
            ce,
        ),
    ]
    return _compare_table(cases, logger, "focal")


def smoothing_table(logger: Any) -> list[str]:
    eps, w = 0.1, CLASS_WEIGHT
    n, c = LOGITS.shape
    nll = -_log_softmax(LOGITS)
    wy = w[LABELS]

    def torch_formula() -> Any:  # torch: both terms weighted, divided by sum w[y]
        true_term = (1 - eps) * (wy * nll[np.arange(n), LABELS]).sum()
        smooth_term = eps / c * (nll * w).sum()
        return (true_term + smooth_term) / wy.sum()

    def smoothed_ce() -> Any:  # per-sample smoothed CE, unweighted
        q = np.full((n, c), eps / c)
        q[np.arange(n), LABELS] += 1 - eps
        return (q * nll).sum(axis=1)

    def poly_smoothed() -> Any:
        return np.asarray(
            loss("cross_entropy")(LOGITS, LABELS, label_smoothing=eps, reduction="none")
        )

    cases = [
        (
            "PyTorch ``F.cross_entropy(x, y, weight=w, label_smoothing=0.1)``",
            "cross_entropy(x, y, weight=w, label_smoothing=0.1)",
            lambda: loss("cross_entropy")(LOGITS, LABELS, weight=w, label_smoothing=eps),
            torch_formula,
        ),
        (
            "weight × smoothed CE, divided by Σ w[y] (optax ``softmax_cross_entropy`` on "
            "``smooth_labels``, weighted mean)",
            "sum(w[y] * cross_entropy(x, y, label_smoothing=0.1, reduction='none')) / sum(w[y])",
            lambda: (wy * poly_smoothed()).sum() / wy.sum(),
            lambda: (wy * smoothed_ce()).sum() / wy.sum(),
        ),
        (
            "Keras 3 ``CategoricalCrossentropy(label_smoothing=0.1)`` with ``sample_weight=w[y]``: "
            "divided by N",
            "mean(w[y] * cross_entropy(x, y, label_smoothing=0.1, reduction='none'))",
            lambda: (wy * poly_smoothed()).mean(),
            lambda: (wy * smoothed_ce()).mean(),
        ),
    ]
    return _compare_table(cases, logger, "label smoothing")


def ignored_table(logger: Any) -> list[str]:
    labels = np.full(len(LABELS), -100)
    nll = -_log_softmax(LOGITS)

    def torch_formula() -> Any:  # sum(w l mask) / sum(w mask) = 0 / 0
        mask = labels != -100
        picked = np.where(mask, nll[np.arange(len(labels)), np.where(mask, labels, 0)], 0.0)
        with np.errstate(all="ignore"):
            return np.float64(picked.sum()) / np.float64(mask.sum())

    cases = [
        (
            "PyTorch ``F.cross_entropy``: sum(w l) / sum(w) = 0 / 0",
            "cross_entropy(x, y)  # every y is ignore_index",
            lambda: loss("cross_entropy")(LOGITS, labels),
            torch_formula,
            False,
        ),
        (
            "PyTorch ``F.nll_loss``: 0 / 0",
            "nll_loss(log_softmax(x), y)",
            lambda: loss("nll_loss")(_log_softmax(LOGITS), labels),
            torch_formula,
            False,
        ),
        (
            "the multi-class focal loss (mean over the non-ignored elements)",
            "focal_loss(x, y)",
            lambda: loss("focal_loss")(LOGITS, labels),
            torch_formula,
            False,
        ),
    ]
    return _compare_table(cases, logger, "ignored")


CONVENTIONS = {
    "bce": bce_table,
    "dice": dice_table,
    "tversky": tversky_table,
    "focal": focal_table,
    "smoothing": smoothing_table,
    "ignored": ignored_table,
}


def render(key: str, arg: str | None, logger: Any) -> list[str]:
    if key == "conventions":
        return CONVENTIONS[arg or ""](logger)
    if key == "migration":
        return migration(arg or "", logger)
    if key == "equivalences":
        return all_conventions(logger)
    raise KeyError(f"unknown table {key!r}")
