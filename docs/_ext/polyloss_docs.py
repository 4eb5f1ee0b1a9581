"""Sphinx extension that builds the code-dependent parts of the polyloss docs.

At ``builder-inited`` it
- writes one API page per entry of :data:`polyloss.REGISTRY` into
  ``docs/generated/api``, the family tables and a toctree, in the registry's order;
- documents every other public name of ``polyloss.__all__`` on ``generated/api/core``;
- checks that every loss docstring has a formula, the ``reduction="none"`` shape, a
  Notes section and a doctest ``Examples`` section (a failure is a Sphinx warning, so
  ``-W`` makes it an error);
- draws the figures into ``docs/_figures`` (:mod:`polyloss_figures`).

It also provides the ``polyloss-table`` directive (:mod:`polyloss_tables`):
``migration LIBRARY...``, ``equivalences`` and ``values DATA...`` (whose content
lines are ``description | polyloss call``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import polyloss_figures
import polyloss_inventories
import polyloss_tables as tables
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import polyloss
from polyloss._registry import FAMILIES, ordered_losses

logger = logging.getLogger(__name__)

REQUIRED = (  # what every loss docstring must hold
    (lambda doc: ":math:" in doc or ".. math::" in doc, "a formula (:math:)"),
    (
        lambda doc: ">>>" in doc.split("Examples\n--------")[-1] and "Examples\n--------" in doc,
        "an Examples section with a doctest",
    ),
    (lambda doc: '"none"' in doc, 'the shape of reduction="none"'),
    (lambda doc: "Notes\n-----" in doc, "a Notes section naming the peer"),
)
DESCRIPTIONS = {
    "REGISTRY": "The registered losses, ``{name: LossInfo}``: the source of these pages, of "
    "``python -m polyloss`` and of the backend test matrix.",
}


def _write(path: Path, text: str) -> None:
    """Write only when the text changed, so Sphinx does not re-read unchanged pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _title(text: str, char: str = "=") -> list[str]:
    return [text, char * max(len(text), 4), ""]


def check_docstrings() -> None:
    for info in ordered_losses():
        doc = inspect.getdoc(info.function) or ""
        missing = [what for test, what in REQUIRED if not test(doc)]
        if missing:
            logger.warning("polyloss.%s: the docstring lacks %s", info.name, ", ".join(missing))
        if getattr(polyloss, info.object_name, None) is not info.object:
            logger.warning("polyloss.%s is registered but not exported", info.object_name)
        for peer in info.peers:
            if (
                peer.importable
                and peer.library in polyloss_inventories.LIBRARIES
                and peer.name not in tables.LINKED
            ):
                logger.warning(
                    "polyloss.%s: its peer %s is not in docs/_inventories/%s.inv; run "
                    "python docs/_ext/polyloss_inventories.py",
                    info.name,
                    peer.name,
                    peer.library,
                )


def api_page(info: Any) -> str:
    cells = {
        "Family": f":ref:`api-family-{info.family}`",
        "Loss object": f":class:`~polyloss.{info.object_name}`",
        "Arguments": ", ".join(tables.lit(a) for a in info.arguments),
        "Matches": tables.peers_text(info),
        "Options": ", ".join(tables.lit(f"{k}={v!r}") for k, v in info.options.items()) or "(none)",
        "Reductions": ", ".join(tables.lit(f'"{r}"') for r in info.reductions),
        "Native kernels": (
            ", ".join(sorted(info.natives)) + ": a fused kernel for those arrays"
            if info.natives
            else "none: the Array API code runs on every backend"
        ),
    }
    lines = [
        f".. _api-{info.name}:",
        "",
        *_title(f"polyloss.{info.name}"),
        ".. currentmodule:: polyloss",
        "",
    ]
    lines += [".. list-table::", "   :widths: 22 78", "   :stub-columns: 1", ""]
    for key, value in cells.items():
        lines += [f"   * - {key}", f"     - {value}"]
    lines += ["", f".. autofunction:: {info.name}", "", f".. autoclass:: {info.object_name}", ""]
    for n, figure in enumerate(polyloss_figures.for_loss(info.name)):
        lines += (_title("Figure", "-") if n == 0 else []) + polyloss_figures.figure_block(figure)
    lines += _title("Registered example", "-") + tables.example_table(info)
    return "\n".join(lines) + "\n"


def benchmark_figures(made: list[tuple[str, str, int]]) -> str:
    """The figures page's benchmark figures: one per family of the benchmark results."""
    lines: list[str] = []
    for family, file, rows in made:
        title = FAMILIES.get(family, family)
        lines += [
            f".. figure:: /_figures/{file}",
            f"   :alt: polyloss time divided by the peer's time: {title}",
            "   :width: 100%",
            "",
            f"   {title}" + (f": {rows} measurements." if rows else "."),
            "",
        ]
    return "\n".join(lines) + "\n"


def core_page() -> str:
    """Every public name that is neither a loss nor a loss object."""
    losses = {n for i in polyloss.REGISTRY.values() for n in (i.name, i.object_name)}
    lines = [*_title("Registry, loss objects and peers"), ".. currentmodule:: polyloss", ""]
    lines += [
        "The public names that are not losses; :ref:`api-registry` shows how they fit together.",
        "",
    ]
    for name in (n for n in polyloss.__all__ if n not in losses):
        obj = getattr(polyloss, name)
        if inspect.isclass(obj):
            lines += [f".. autoclass:: {name}", "   :members:", ""]
        elif callable(obj):
            lines += [f".. autofunction:: {name}", ""]
        else:
            lines += [
                f".. autodata:: {name}",
                "   :no-value:",
                "",
                f"   {DESCRIPTIONS.get(name, '')}",
                "",
            ]
    return "\n".join(lines) + "\n"


def generate(app: Sphinx) -> None:
    src = Path(app.srcdir)
    gen = src / "generated"
    check_docstrings()
    infos = ordered_losses()
    pages = {f"{info.name}.rst": api_page(info) for info in infos} | {"core.rst": core_page()}
    for name, text in pages.items():
        _write(gen / "api" / name, text)
    for stale in (gen / "api").glob("*.rst"):  # pages of losses that no longer exist
        if stale.name not in pages:
            stale.unlink()
    figures = {
        family: [
            line
            for f in polyloss_figures.for_family(family)
            for line in polyloss_figures.figure_block(f)
        ]
        for family in FAMILIES
    }
    _write(gen / "api_families.inc", tables.family_sections(figures))
    toc = [".. toctree::", "   :maxdepth: 1", "   :hidden:", ""]
    toc += [f"   generated/api/{name[:-4]}" for name in pages]
    _write(gen / "api_toctree.inc", "\n".join(toc) + "\n")
    (src / "_figures").mkdir(exist_ok=True)
    benchmarks = polyloss_figures.make_all(src / "_figures", src.parent, logger)
    _write(gen / "benchmark_figures.inc", benchmark_figures(benchmarks))


class PolylossTable(SphinxDirective):
    """``.. polyloss-table:: KIND [ARG...]``: a table computed at build time."""

    required_arguments = 1
    optional_arguments = 4
    has_content = True

    def run(self) -> list[nodes.Node]:
        kind, args = self.arguments[0], self.arguments[1:]
        try:
            if kind == "values":
                lines = tables.values(args, list(self.content))
            elif kind in ("migration", "equivalences"):
                rows = tables.convention_rows(self.config.polyloss_conventions)
                self.env.note_dependency(self.config.polyloss_conventions)
                lines = (
                    tables.migration(args, rows)
                    if kind == "migration"
                    else tables.equivalences(rows)
                )
            else:
                raise KeyError(f"unknown table {kind!r}")
        except Exception as exc:  # a broken table is a build error, with its reason
            logger.warning(
                "polyloss-table %s failed: %r",
                " ".join(self.arguments),
                exc,
                location=self.get_location(),
            )
            return []
        return self.parse_text_to_nodes("\n".join(lines))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("polyloss_conventions", "", "env")
    app.connect("builder-inited", generate)
    app.add_directive("polyloss-table", PolylossTable)
    return {"version": "2", "parallel_read_safe": True, "parallel_write_safe": True}
