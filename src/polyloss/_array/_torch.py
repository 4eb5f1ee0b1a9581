"""Native PyTorch kernels behind the array layer's fast-path seam.

Each function gives the numbers of the generic Array API composition it replaces
(the conformance tests compare the two) and is imported only once a torch tensor
has been seen.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def stop_gradient(x: torch.Tensor) -> torch.Tensor:
    return x.detach()


def logsumexp(x: torch.Tensor, *, axis: int, keepdims: bool = False) -> torch.Tensor:
    return torch.logsumexp(x, dim=axis, keepdim=keepdims)


def log_softmax(x: torch.Tensor, *, axis: int) -> torch.Tensor:
    return F.log_softmax(x, dim=axis)


def softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(x)
