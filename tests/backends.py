"""The test-suite's view of a backend: polyloss' self-check backend plus tolerances and
gradients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from polyloss import _backends


@dataclass(frozen=True, repr=False)
class Backend(_backends.Backend):
    """One column of the backend matrix, with what tests need beyond the self-check."""

    @property
    def rtol(self) -> float:
        return 1e-12 if self.dtype == "float64" else 1e-5

    @property
    def atol(self) -> float:
        return 1e-12 if self.dtype == "float64" else 1e-6

    @property
    def has_grad(self) -> bool:
        return self.library in ("torch", "jax")

    def value_and_grad(self, fn: Callable[[Any], Any], x: Any) -> tuple[Any, Any]:
        """Value and gradient of the scalar ``fn`` at NumPy point `x`, through this backend."""
        if self.library == "torch":
            import torch

            t = self.asarray(x).requires_grad_(True)
            value = fn(t)
            (grad,) = torch.autograd.grad(value, t)
            return self.to_numpy(value), self.to_numpy(grad)
        if self.library == "jax":
            import jax

            value, grad = jax.value_and_grad(fn)(self.asarray(x))
            return self.to_numpy(value), self.to_numpy(grad)
        raise NotImplementedError(f"{self.name} has no autodiff")


def all_backends() -> list[Backend]:
    """Every backend of the matrix that can run on this machine."""
    return [Backend(b.name, b.library, b.dtype, b.device) for b in _backends.all_backends()]


def example_numpy(info: Any) -> list[Any]:
    """The arrays of a loss's fixed example as float64 / int64 NumPy arrays."""
    import numpy as np

    return [np.asarray(a.values, dtype=np.int64 if a.integer else np.float64) for a in info.example.arrays]


LIBRARY_ALIASES = {"strict": "array_api_strict"}


def selected_backends(config: Any) -> list[Backend]:
    """The backends chosen with pytest's ``--backends`` option (default: every installed one)."""
    choice = config.getoption("--backends")
    backends = all_backends()
    if choice == "all":
        return backends
    wanted = {LIBRARY_ALIASES.get(c.strip(), c.strip()) for c in choice.split(",")}
    return [b for b in backends if b.library in wanted]
