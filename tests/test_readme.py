"""The README's examples run as written (they need NumPy, JAX and torch: parity session)."""

from __future__ import annotations

import pathlib
import re

import pytest

pytestmark = pytest.mark.parity


def test_readme_examples_run():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    readme = pathlib.Path(__file__).parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
