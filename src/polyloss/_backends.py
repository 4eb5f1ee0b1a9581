"""Backends of the self-check (``python -m polyloss``): conversion of NumPy data and of
the registry's fixed examples to each library's arrays and back, and discovery of what
is installed. Every array library is imported lazily, inside the methods.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

from ._registry import LossInfo

JAX_X64 = os.environ.get("POLYLOSS_JAX_X64", "1") != "0"


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

        return array_api_compat.array_namespace(self.asarray([0.0]))

    def asarray(self, x: Any, dtype: str | None = None) -> Any:
        """NumPy data as this backend's array: floats in this dtype, integers as int64."""
        import numpy as np

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
            import jax
            import jax.numpy as jnp

            if dtype in ("int64", "float64") and not jax.config.read("jax_enable_x64"):
                dtype = dtype.replace("64", "32")  # what JAX gives with x64 off, without its warning
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

    def example(self, info: LossInfo, dtype: str | None = None) -> list[Any]:
        """The arrays of a loss's fixed example: floats in this backend's dtype (or
        `dtype`), integers as int64."""
        import numpy as np

        return [
            self.asarray(np.asarray(a.values, dtype=np.int64 if a.integer else np.float64),
                         None if a.integer else dtype)
            for a in info.example.arrays
        ]

    def to_numpy(self, x: Any) -> Any:
        import numpy as np

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

def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def cuda_torch() -> bool:
    if not _installed("torch"):
        return False
    import torch

    return torch.cuda.is_available()


def cupy_gpu() -> bool:
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
        if cuda_torch():
            found += [Backend("torch-cuda-float32", "torch", "float32", "cuda")]
    if _installed("jax"):
        if JAX_X64:
            found.append(Backend("jax-float64", "jax", "float64"))
        found.append(Backend("jax-float32", "jax", "float32"))
    if _installed("dask"):
        found.append(Backend("dask-float64", "dask", "float64"))
    if cupy_gpu():
        found += [Backend("cupy-float64", "cupy", "float64"), Backend("cupy-float32", "cupy", "float32")]
    return found
