"""Loss objects: immutable, hashable callables that hold a loss's options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from ._checks import check_reduction


def _freeze(value: Any) -> Any:
    """A hashable, backend-free copy of an option value (arrays become nested tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        try:
            tolist = getattr(value, "tolist", None)
            if tolist is not None:
                return _freeze(tolist())
            # any Array API array (array-api-strict has no tolist): by indexing
            if len(value.shape) == 0:
                return float(value)
            return tuple(_freeze(value[i, ...]) for i in range(value.shape[0]))
        except Exception:  # a traced array: keep it, hashed by identity
            return value
    return value


class LossObject:
    """Base class of the loss objects (``polyloss.CrossEntropyLoss`` and the rest).

    A loss object holds the keyword options of its loss function and calls it:
    ``CrossEntropyLoss(label_smoothing=0.1)(input, target)`` is
    ``cross_entropy(input, target, label_smoothing=0.1)``. It is immutable and
    hashable, so it can be closed over or passed as a static argument to
    ``jax.jit``, used as a torch criterion, or called on NumPy arrays.
    """

    __slots__ = ("__weakref__", "_key", "_kwargs")
    function: ClassVar[Callable[..., Any]]
    defaults: ClassVar[dict[str, Any]]
    reductions: ClassVar[tuple[str, ...]]
    arguments: ClassVar[tuple[str, ...]]

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown option(s) {', '.join(unknown)}; "
                f"its options are {', '.join(self.defaults)}"
            )
        if "reduction" in options:
            check_reduction(options["reduction"], self.reductions)
        kwargs = {**self.defaults, **{k: _freeze(v) for k, v in options.items()}}
        object.__setattr__(self, "_kwargs", kwargs)
        object.__setattr__(self, "_key", tuple(kwargs.items()))

    def __call__(self, *arrays: Any) -> Any:
        return self.function(*arrays, **self._kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_kwargs")[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no option {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; make a new one with other options")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._key == self._key

    def __hash__(self) -> int:
        return hash((type(self), self._key))

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({options})"

    def __reduce__(self) -> Any:
        return (functools.partial(type(self), **self._kwargs), ())


def make_loss_object(
    name: str,
    function: Callable[..., Any],
    options: dict[str, Any],
    reductions: tuple[str, ...],
    arguments: tuple[str, ...],
) -> type[LossObject]:
    """The loss-object class `name` of `function` (made once, when the loss is registered)."""
    args = ", ".join(arguments)
    return type(
        name,
        (LossObject,),
        {
            "__slots__": (),
            "__module__": "polyloss",
            "__qualname__": name,
            "__doc__": f"Loss object of :func:`polyloss.{function.__name__}`: "
            f"``{name}(**options)({args})`` is ``{function.__name__}({args}, **options)``.",
            "function": staticmethod(function),
            "defaults": {k: _freeze(v) for k, v in options.items()},
            "reductions": reductions,
            "arguments": arguments,
        },
    )
