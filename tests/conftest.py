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
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

JAX_X64 = os.environ.get("POLYLOSS_JAX_X64", "1") != "0"

if importlib.util.find_spec("jax") is not None:
    import jax

    jax.config.update("jax_enable_x64", JAX_X64)


@dataclass(frozen=True)
class Backend:
    """One column of the backend matrix: a library, a float dtype and a device."""

    name: str
    library: str  # numpy | torch | jax | array_api_strict | dask | cupy
    dtype: str  # float32 | float64 (float16/bfloat16 in the precision tests)
    device: str | None = None

    def __repr__(self) -> str:
        return self.name

    # -- conversion -------------------------------------------------------
    @property
    def xp(self) -> Any:
        import array_api_compat

        return array_api_compat.array_namespace(self.asarray(np.zeros(1)))

    @property
    def rtol(self) -> float:
        return 1e-12 if self.dtype == "float64" else 1e-5

    @property
    def atol(self) -> float:
        return 1e-12 if self.dtype == "float64" else 1e-6

    def asarray(self, x: Any, dtype: str | None = None) -> Any:
        """NumPy data as this backend's array: floats in this dtype, integers as int64."""
        x = np.asarray(x)
        if dtype is None:
            dtype = self.dtype if x.dtype.kind == "f" else ("int64" if x.dtype.kind in "iu" else str(x.dtype))
        if self.library == "numpy":
            return x.astype(dtype)
        if self.library == "torch":
            import torch

            return torch.asarray(x.astype(dtype) if dtype != "bfloat16" else x.astype("float32"),
                                 device=self.device or "cpu").to(getattr(torch, dtype))
        if self.library == "jax":
            import jax.numpy as jnp

            return jnp.asarray(x, dtype=getattr(jnp, dtype))
        if self.library == "array_api_strict":
            import array_api_strict as xps

            device = xps.Device(self.device) if self.device else None
            return xps.asarray(x.astype(dtype), device=device)
        if self.library == "dask":
            import dask.array as da

            return da.from_array(x.astype(dtype), chunks=tuple(max(1, (s + 1) // 2) for s in x.shape) or ())
        if self.library == "cupy":
            import cupy

            return cupy.asarray(x.astype(dtype))
        raise AssertionError(self.library)

    def to_numpy(self, x: Any) -> np.ndarray:
        if self.library == "torch":
            return x.detach().cpu().float().numpy() if x.dtype.is_floating_point and x.dtype.itemsize < 4 else x.detach().cpu().numpy()
        if self.library == "array_api_strict":
            import array_api_strict as xps

            return np.asarray(xps.asarray(x, device=xps.Device("CPU_DEVICE"))._array)
        if self.library == "dask":
            return np.asarray(x.compute())
        if self.library == "cupy":
            return x.get()
        return np.asarray(x)

    # -- autodiff ---------------------------------------------------------
    @property
    def has_grad(self) -> bool:
        return self.library in ("torch", "jax")

    def value_and_grad(self, fn: Callable[[Any], Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value and gradient of the scalar ``fn`` at NumPy point `x`, through this backend."""
        if self.library == "torch":
            t = self.asarray(x).requires_grad_(True)
            value = fn(t)
            (grad,) = __import__("torch").autograd.grad(value, t)
            return self.to_numpy(value), self.to_numpy(grad)
        if self.library == "jax":
            value, grad = jax.value_and_grad(fn)(self.asarray(x))
            return np.asarray(value), np.asarray(grad)
        raise NotImplementedError(f"{self.name} has no autodiff")


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cuda_torch() -> bool:
    if not _installed("torch"):
        return False
    import torch

    return torch.cuda.is_available()


def _cupy_gpu() -> bool:
    if not _installed("cupy"):
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def all_backends() -> list[Backend]:
    """Every backend of the matrix that can run on this machine."""
    found = [Backend("numpy-float64", "numpy", "float64"), Backend("numpy-float32", "numpy", "float32")]
    if _installed("array_api_strict"):
        found += [
            Backend("strict-float64", "array_api_strict", "float64"),
            Backend("strict-device1-float32", "array_api_strict", "float32", "device1"),
        ]
    if _installed("torch"):
        found += [Backend("torch-float64", "torch", "float64"), Backend("torch-float32", "torch", "float32")]
        if _cuda_torch():
            found += [Backend("torch-cuda-float32", "torch", "float32", "cuda")]
    if _installed("jax"):
        if JAX_X64:
            found.append(Backend("jax-float64", "jax", "float64"))
        found.append(Backend("jax-float32", "jax", "float32"))
    if _installed("dask"):
        found.append(Backend("dask-float64", "dask", "float64"))
    if _cupy_gpu():
        found += [Backend("cupy-float64", "cupy", "float64"), Backend("cupy-float32", "cupy", "float32")]
    return found


LIBRARY_ALIASES = {"strict": "array_api_strict"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default="all",
        help="comma-separated libraries of the backend matrix to run: numpy, strict, torch, "
        "jax, dask, cupy (default: every installed one)",
    )


def selected_backends(config: pytest.Config) -> list[Backend]:
    choice = config.getoption("--backends")
    backends = all_backends()
    if choice == "all":
        return backends
    wanted = {LIBRARY_ALIASES.get(c.strip(), c.strip()) for c in choice.split(",")}
    return [b for b in backends if b.library in wanted]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = selected_backends(metafunc.config)
        metafunc.parametrize("backend", backends, ids=[b.name for b in backends])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    choice = config.getoption("--backends")
    if choice == "cupy" and not _cupy_gpu():
        reason = "CuPy needs a CUDA GPU and none is available here"
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261129)
