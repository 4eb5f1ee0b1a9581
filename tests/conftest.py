"""The backend matrix.

Every test that takes the ``backend`` fixture runs once per backend selected with
``--backends`` (default: every installed one). A :class:`Backend` converts NumPy
test data to its arrays, back to NumPy, and takes gradients where it can, so
tests are written once for all backends.

Select backends per nox session: ``pytest --backends torch``. ``jax`` runs with
``jax_enable_x64`` on unless ``POLYLOSS_JAX_X64=0`` (the ``tests-jax-x32`` session).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from backends import Backend, selected_backends
from polyloss._backends import JAX_X64, cupy_gpu

if importlib.util.find_spec("jax") is not None:
    import jax

    jax.config.update("jax_enable_x64", JAX_X64)

__all__ = ["Backend"]

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default="all",
        help="comma-separated libraries of the backend matrix to run: numpy, strict, torch, "
        "jax, dask, cupy (default: every installed one)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = selected_backends(metafunc.config)
        metafunc.parametrize("backend", backends, ids=[b.name for b in backends])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    choice = config.getoption("--backends")
    if choice == "cupy" and not cupy_gpu():
        reason = "CuPy needs a CUDA GPU and none is available here"
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261129)
