"""The seam between the losses and their backend natives, for tests: run the kernels as
shipped and record which ran, or switch them all off (the generic path)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

import polyloss._native as N


@dataclasses.dataclass
class Runs:
    """What the loss-level natives did inside a ``seam("native")`` block."""

    resolved: list[str] = dataclasses.field(default_factory=list)  # a kernel was handed out
    taken: list[tuple[str, bool]] = dataclasses.field(default_factory=list)  # (kernel, returned a value)

    def __contains__(self, item: object) -> bool:
        return item in self.taken

    def took(self, name: str) -> bool:
        return (name, True) in self.taken

    def any_taken(self) -> bool:
        return any(ok for _, ok in self.taken)

    @property
    def answers(self) -> list[bool]:
        """For each kernel run, in order: whether it answered (True) or declined."""
        return [ok for _, ok in self.taken]


@contextlib.contextmanager
def seam(mode: str) -> Iterator[Runs]:
    """``"generic"``: ``native_kernel`` gives None, so every loss takes the generic
    path. ``"native"``: the kernels as shipped, each handed-out kernel and each run
    recorded."""
    runs = Runs()
    with pytest.MonkeyPatch.context() as mp:
        if mode == "generic":
            mp.setattr(N, "native_kernel", lambda xp, name: None)
        else:
            original = N.native_kernel
            wrappers: dict[Any, Any] = {}

            def recording(xp: Any, name: str) -> Any:
                kernel = original(xp, name)
                if kernel is None:
                    return None
                runs.resolved.append(name)
                key = (id(xp), name)
                if key not in wrappers:
                    def recorded(*args: Any, _kernel: Any = kernel, _name: str = name, **kw: Any) -> Any:
                        out = _kernel(*args, **kw)
                        runs.taken.append((_name, out is not NotImplemented))
                        return out
                    wrappers[key] = recorded
                return wrappers[key]

            mp.setattr(N, "native_kernel", recording)
        yield runs
