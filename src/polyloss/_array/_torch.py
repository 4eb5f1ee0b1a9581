"""PyTorch kernels of the array layer's primitives.

Each gives the numbers of the generic Array API composition it replaces. Imported
only once a torch tensor has been seen, or with polyloss when torch already is.
"""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat.torch as namespace

# Imported only once torch itself is (see polyloss._array.backend_module): never imports it.
torch: Any = sys.modules["torch"]
F: Any = torch.nn.functional

__all__ = [
    "F",
    "add_at_columns",
    "exp_in_place",
    "log_softmax",
    "logsumexp",
    "matmul_into",
    "namespace",
    "softplus",
    "stop_gradient",
    "torch",
    "value_range",
]


def stop_gradient(x: torch.Tensor) -> torch.Tensor:
    return x.detach()


def value_range(x: torch.Tensor) -> tuple[int, int]:
    lowest, highest = torch.aminmax(x)
    return lowest.item(), highest.item()


def logsumexp(x: torch.Tensor, *, axis: int, keepdims: bool = False) -> torch.Tensor:
    return torch.logsumexp(x, dim=axis, keepdim=keepdims)


def log_softmax(x: torch.Tensor, *, axis: int) -> torch.Tensor:
    return F.log_softmax(x, dim=axis)


def softplus(x: torch.Tensor) -> torch.Tensor:
    # torch returns x itself above `threshold`; at the default 20 that drops
    # log1p(exp(-x)) ~ 2e-9, visible in float64. Above 40 it is below 1e-17 * x,
    # and exp(40) is finite in float32, so 40 is exact in both precisions.
    return F.softplus(x, beta=1.0, threshold=40.0)


def matmul_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor, *, add: bool) -> torch.Tensor:
    return out.addmm_(a, b) if add else torch.mm(a, b, out=out)


def exp_in_place(x: torch.Tensor) -> torch.Tensor:
    return x.exp_()


def add_at_columns(x: torch.Tensor, columns: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    rows, width = x.shape
    inside = (columns >= 0) & (columns < width)
    flat = torch.arange(rows, device=x.device) * width + columns.clamp(0, width - 1)
    x.view(-1).index_add_(0, flat, torch.where(inside, values, 0.0))
    return x
