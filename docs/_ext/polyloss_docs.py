"""Sphinx extension that builds the code-dependent parts of the polyloss docs.

At ``builder-inited`` it
- writes one API page per entry of :data:`polyloss.REGISTRY` (the function, its loss
  object, family, peer, options, reductions and its registered example evaluated with
  NumPy) into ``docs/generated/api`` and a toctree of them in family order;
- documents any other public name of ``polyloss.__all__`` on ``generated/api/other``;
- checks that every loss docstring has a formula, the ``reduction="none"`` shape and a
  doctest ``Examples`` section, and (``polyloss_require_spec``) that every loss of the
  SPEC exists; each failure is a Sphinx warning, so ``-W`` turns it into an error;
- draws the figures into ``docs/_figures`` (:mod:`polyloss_figures`).

It also provides the ``polyloss-table`` directive, whose argument names a table that
is computed while the docs build (:mod:`polyloss_tables`): the family tables, the
migration tables and the numbers of the conventions page.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import polyloss_figures
import polyloss_tables
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# SPEC.md section 3, in its order.
SPEC_LOSSES: dict[str, tuple[str, ...]] = {
    "regression": ("l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"),
    "classification": (
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "nll_loss",
        "cross_entropy",
        "poly1_cross_entropy",
        "kl_div",
        "log_loss",
    ),
    "overlap": ("dice_loss", "jaccard_loss", "tversky_loss", "generalized_dice_loss"),
    "focal": ("focal_loss", "sigmoid_focal_loss", "poly1_focal_loss"),
}
FAMILY_TITLES = {
    "regression": "Regression",
    "classification": "Classification",
    "overlap": "Overlap (segmentation)",
    "focal": "Focal (imbalance, detection)",
}
CORE_NAMES = ("REGISTRY", "LossObject")


def _write(path: Path, text: str) -> None:
    """Write only when the text changed, so Sphinx does not re-read unchanged pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _title(text: str, char: str = "=") -> list[str]:
    return [text, char * max(len(text), 4), ""]


def ordered_losses() -> list[Any]:
    """The registry entries, by family (SPEC order) and then SPEC order within it."""
    import polyloss

    spec_order = [n for names in SPEC_LOSSES.values() for n in names]
    families = list(SPEC_LOSSES)

    def key(info: Any) -> tuple[int, int, str]:
        fam = families.index(info.family) if info.family in families else len(families)
        pos = spec_order.index(info.name) if info.name in spec_order else len(spec_order)
        return fam, pos, info.name

    return sorted(polyloss.REGISTRY.values(), key=key)


def check_docstrings(require_spec: bool) -> None:
    import polyloss

    for info in ordered_losses():
        doc = inspect.getdoc(info.function) or ""
        missing = []
        if ":math:" not in doc and ".. math::" not in doc:
            missing.append("a formula (:math:)")
        if "Examples\n--------" not in doc or ">>>" not in doc.split("Examples\n--------")[-1]:
            missing.append("an Examples section with a doctest")
        if '"none"' not in doc:
            missing.append('the shape of reduction="none"')
        if "Notes\n-----" not in doc:
            missing.append("a Notes section naming the peer")
        if missing:
            logger.warning(
                "polyloss.%s: the docstring lacks %s",
                info.name,
                ", ".join(missing),
                type="polyloss",
            )
        if getattr(polyloss, info.object_name, None) is None:
            logger.warning("polyloss.%s is registered but not exported", info.object_name)
    if require_spec:
        for family, names in SPEC_LOSSES.items():
            for name in names:
                if name not in polyloss.REGISTRY:
                    logger.warning(
                        "polyloss.%s (SPEC, %s) is not in polyloss.REGISTRY: it has no page",
                        name,
                        family,
                        type="polyloss",
                    )


def _options_text(info: Any) -> str:
    opts = [f"``{k}={v!r}``" for k, v in info.options.items()]
    return ", ".join(opts) if opts else "(none)"


def api_page(info: Any) -> str:
    lines = [f".. _api-{info.name}:", ""]
    lines += _title(f"polyloss.{info.name}")
    lines += [
        ".. currentmodule:: polyloss",
        "",
        ".. list-table::",
        "   :widths: 22 78",
        "   :stub-columns: 1",
        "",
        "   * - Family",
        f"     - :ref:`api-family-{info.family}`",
        "   * - Loss object",
        f"     - :class:`~polyloss.{info.object_name}`",
        "   * - Matches",
        f"     - {polyloss_tables.peer_text(info.peer)}",
        "   * - Options",
        f"     - {_options_text(info)}",
        "   * - Reductions",
        "     - " + ", ".join(f'``"{r}"``' for r in info.reductions),
        "",
        f".. autofunction:: {info.name}",
        "",
        f".. autoclass:: {info.object_name}",
        "",
    ]
    lines += _title("Registered example", "-")
    lines += polyloss_tables.example_table(info)
    return "\n".join(lines) + "\n"


def other_names() -> list[str]:
    import polyloss

    documented = set(CORE_NAMES)
    for info in polyloss.REGISTRY.values():
        documented.update((info.name, info.object_name))
    return [n for n in polyloss.__all__ if n not in documented]


def other_page(names: list[str]) -> str:
    import polyloss

    lines = _title("Other public names")
    lines += [".. currentmodule:: polyloss", ""]
    if not names:
        lines += ["Every public name is a loss, a loss object or a core name.", ""]
    for name in names:
        obj = getattr(polyloss, name)
        if inspect.isclass(obj):
            lines += [f".. autoclass:: {name}", ""]
        elif callable(obj):
            lines += [f".. autofunction:: {name}", ""]
        else:
            lines += [f".. autodata:: {name}", "   :no-value:", ""]
    return "\n".join(lines) + "\n"


def generate(app: Sphinx) -> None:
    src = Path(app.srcdir)
    gen = src / "generated"
    require_spec = bool(int(app.config.polyloss_require_spec))
    check_docstrings(require_spec)

    infos = ordered_losses()
    api_dir = gen / "api"
    wanted = {f"{info.name}.rst" for info in infos} | {"other.rst"}
    for info in infos:
        _write(api_dir / f"{info.name}.rst", api_page(info))
    others = other_names()
    _write(api_dir / "other.rst", other_page(others))
    if api_dir.exists():  # drop pages of losses that no longer exist
        for stale in api_dir.glob("*.rst"):
            if stale.name not in wanted:
                stale.unlink()

    _write(gen / "api_families.inc", polyloss_tables.family_sections(infos, FAMILY_TITLES))

    toc = [".. toctree::", "   :maxdepth: 1", "   :hidden:", ""]
    toc += [f"   generated/api/{info.name}" for info in infos]
    toc += ["   generated/api/other", ""]
    _write(gen / "api_toctree.inc", "\n".join(toc))

    figdir = src / "_figures"
    figdir.mkdir(exist_ok=True)
    polyloss_figures.make_all(figdir, src.parent, logger)


class PolylossTable(SphinxDirective):
    """``.. polyloss-table:: KEY [ARG]``: a table computed at build time."""

    required_arguments = 1
    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        key = self.arguments[0]
        arg = self.arguments[1] if len(self.arguments) > 1 else None
        try:
            lines = polyloss_tables.render(key, arg, logger)
        except Exception as exc:  # a broken table is a build error, with its reason
            logger.warning(
                "polyloss-table %s %s failed: %r", key, arg or "", exc, location=self.get_location()
            )
            return []
        return self.parse_text_to_nodes("\n".join(lines))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("polyloss_require_spec", True, "env")
    app.connect("builder-inited", generate)
    app.add_directive("polyloss-table", PolylossTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
