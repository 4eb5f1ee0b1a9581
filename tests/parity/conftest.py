"""The parity tests import their peers (torch, optax, MONAI, Keras, ...) at module level:
a missing peer fails the parity session. The backend sessions (``-m "not parity"``) do
not collect this folder, so that they run without those libraries."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if config.getoption("markexpr", "").replace(" ", "") == "notparity":
        return True
    return None
