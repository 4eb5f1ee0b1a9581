"""Sphinx configuration of the polyloss documentation.

Everything that depends on the code is generated when the docs build (see
``_ext/polyloss_docs.py``): one API page per registered loss, the family tables,
the migration tables, the numbers of the conventions page (polyloss on NumPy) and
the figures (matplotlib, Agg). Build with warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python -m sphinx -W --keep-going -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# Let a plain checkout build too (the nox session installs the package).
sys.path.insert(1, str(HERE.parent / "src"))

os.environ.setdefault("MPLBACKEND", "Agg")

import polyloss_inventories  # noqa: E402

import polyloss  # noqa: E402

project = "polyloss"
author = "The polyloss developers"
copyright = "the polyloss developers"
release = polyloss.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax bundled with the site: formulas render without a network
    "sphinx.ext.viewcode",  # source links
    "sphinx.ext.intersphinx",  # links to the peers' docs, from inventories kept in docs/_inventories
    "numpydoc",
    "polyloss_docs",
]

# Sources: the generated pages live in docs/generated (git-ignored) and are rewritten
# at every build; the figures go to docs/_figures (git-ignored).
exclude_patterns = ["_build", "_ext", "examples", "_figures", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
root_doc = "index"
nitpicky = False
suppress_warnings: list[str] = []

# intersphinx: the libraries' docs, linked through the small inventories committed in
# docs/_inventories (written by _ext/polyloss_inventories.py), so that the build needs
# no network; a name not in them stays plain text.
intersphinx_mapping = polyloss_inventories.mapping()

# autodoc / numpydoc
autodoc_default_options: dict[str, str] = {}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False

# doctest builder: the docstring examples and the NumPy guide snippets
doctest_global_setup = "import numpy as np\nimport polyloss\n"
doctest_test_doctest_blocks = "default"

# HTML
html_theme = "pydata_sphinx_theme"
html_title = f"polyloss {release}"
html_static_path = ["_static"]
html_css_files = ["polyloss.css"]  # tables wrap to the page's width
# Pages without sub-pages have no section navigation: no empty left sidebar, so that
# their tables get the width.
html_sidebars = {page: [] for page in ("migration", "conventions", "scale", "figures", "building")}
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False

# polyloss_docs: the equivalence rows that the parity test session checks against the
# libraries, shown on the migration and conventions pages.
polyloss_conventions = str(HERE.parent / "tests" / "conventions.py")
