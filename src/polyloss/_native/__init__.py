"""Backend natives: fused kernels of whole losses, for the backends that have them.

A loss declares its natives where it is registered (``natives=("torch",)``) and calls
:func:`call_native` after validating its arguments; the kernel of the same name in
``_native/_<backend>.py`` then runs instead of the generic Array API composition, or
returns ``NotImplemented`` for what it does not cover exactly and the generic path
runs. Natives sit above ``_checks``, ``_indexed`` and ``_reduce`` and reuse them; the
conformance tests read the declarations from the registry and compare every native
with the generic path, values and gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._array import (
    Array,
    Namespace,
    backend_module,
    backend_name,
    import_backend_modules,
    to_output,
    value_reads,
)
from .._objects import PLANNING, NativeCall
from .._registry import REGISTRY

_KERNEL: dict[tuple[int, str], Callable[..., Any] | None] = {}
_UNRESOLVED = object()


def native_kernel(xp: Namespace, name: str) -> Callable[..., Any] | None:
    """The native kernel of the registered loss `name` for namespace `xp`, or None.

    A loss that declares a native for a backend whose module lacks it is a bug, and
    raises AttributeError rather than silently taking the generic path.
    """
    key = (id(xp), name)
    kernel = _KERNEL.get(key, _UNRESOLVED)
    if kernel is not _UNRESOLVED:
        return kernel  # type: ignore[return-value]
    if backend_name(xp) not in REGISTRY[name].natives:
        _KERNEL[key] = None
        return None
    module = backend_module(xp, __name__)
    if module is None:  # a first call made while torch.compile traces: generic, this once
        return None
    found: Callable[..., Any] = getattr(module, name)
    _KERNEL[key] = found
    return found


def call_native(name: str, xp: Namespace, *arrays: Array, like: Array, **options: Any) -> Any:
    """Loss `name` of validated `arrays` through its native kernel, cast to the dtype of
    `like`; ``NotImplemented`` when there is none or it declines."""
    kernel = native_kernel(xp, name)
    if kernel is None:
        return NotImplemented
    planning = PLANNING.calls
    reads = value_reads() if planning is not None else 0
    out = kernel(*arrays, **options)
    if planning is not None:  # a loss object records the call, to replay it
        planning.append(NativeCall(xp, kernel, arrays, like, options, reads, out is NotImplemented))
    return out if out is NotImplemented else to_output(xp, out, like)


import_backend_modules(__name__)
