"""Loss objects: immutable, hashable callables that hold a loss's options."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, NamedTuple

from ._array import call_signature, to_output, value_reads
from ._checks import check_number, check_reduction


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


class NativePlan(NamedTuple):
    """A loss object's call for one signature of its arrays: the native kernel and the
    options its loss function validated and passed, to be called on new arrays of the
    same signature."""

    xp: Any
    kernel: Callable[..., Any]
    options: dict[str, Any]
    like: int  # which array the result takes its dtype from


class NativeCall(NamedTuple):
    """A native kernel call made by a loss function (see ``_native.call_native``)."""

    xp: Any
    kernel: Callable[..., Any]
    arrays: tuple[Any, ...]
    like: Any
    options: dict[str, Any]
    value_reads: int  # ``value_reads()`` when it was made
    declined: bool  # the kernel returned NotImplemented


class _Planning:
    """The native calls of the loss function a loss object is planning (a plain
    attribute, which torch.compile traces, where a ContextVar breaks the graph). A call
    from another thread recorded here changes no plan: `_plan` accepts only the call on
    its own arrays."""

    calls: list[NativeCall] | None = None


PLANNING = _Planning()

#: signatures planned per loss object, at most
MAX_PLANS = 8


def _plan(function: Callable[..., Any], arrays: tuple[Any, ...], options: dict[str, Any]) -> tuple[Any, Any]:
    """Call `function` and return its result and, when it can be replayed, its plan.

    The call is replayable when the function made one native call, which did not
    decline, on the arrays it was given (no cast, no reshape), and read no array value
    before it: every check of values
    asks ``is_eager`` first (``value_reads``), so everything the function did before the
    kernel depended on the arrays' signature and the options alone. A kernel that checks
    values itself (class indices, probabilities) checks them again on every replay.
    """
    calls: list[NativeCall] = []
    reads = value_reads()
    PLANNING.calls = calls
    try:
        out = function(*arrays, **options)
    finally:
        PLANNING.calls = None
    if len(calls) != 1:
        return out, False
    call = calls[0]
    same = len(call.arrays) == len(arrays) and all(a is b for a, b in zip(call.arrays, arrays, strict=True))
    like = next((i for i, a in enumerate(arrays) if a is call.like), None)
    if call.declined or not same or like is None or call.value_reads != reads:
        return out, False
    return out, NativePlan(call.xp, call.kernel, call.options, like)


class LossObject:
    """Base class of the loss objects (``polyloss.CrossEntropyLoss`` and the rest).

    A loss object holds the keyword options of its loss function and calls it:
    ``CrossEntropyLoss(label_smoothing=0.1)(input, target)`` is
    ``cross_entropy(input, target, label_smoothing=0.1)``. It is immutable and
    hashable, so it can be closed over or passed as a static argument to
    ``jax.jit``, used as a torch criterion, or called on NumPy arrays.

    Loss objects compose: ``a + b``, ``c * a`` and ``a * c`` (``c`` a finite Python
    number) give a :class:`CompositeLoss`, whose value is the weighted sum of its
    parts.
    """

    __slots__ = ("__weakref__", "_key", "_kwargs", "_plans")
    #: NumPy defers ``array * loss`` to the loss (which refuses it): no object arrays
    __array_ufunc__ = None
    function: ClassVar[Callable[..., Any]]
    defaults: ClassVar[dict[str, Any]]
    reductions: ClassVar[tuple[str, ...]]
    arguments: ClassVar[tuple[str, ...]]
    natives: ClassVar[frozenset[str]] = frozenset()

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
        object.__setattr__(self, "_plans", {})

    def __call__(self, *arrays: Any) -> Any:
        """The loss of `arrays`. A loss with a native kernel validates each signature of
        its arrays (types, dtypes, shapes, devices) once: later eager calls with the same
        signature go to the kernel directly (see :func:`_plan`)."""
        signature = call_signature(arrays) if self.natives else None
        if signature is None:
            return self.function(*arrays, **self._kwargs)
        plan = self._plans.get(signature)
        if plan:
            out = plan.kernel(*arrays, **plan.options)
            if out is not NotImplemented:
                return to_output(plan.xp, out, arrays[plan.like])
            return self.function(*arrays, **self._kwargs)
        if plan is None and len(self._plans) < MAX_PLANS:
            out, self._plans[signature] = _plan(self.function, arrays, self._kwargs)
            return out
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

    # ---------------------------------------------------------------- composition

    def __add__(self, other: object) -> CompositeLoss:
        if not isinstance(other, LossObject):
            return NotImplemented
        return CompositeLoss(_terms(self) + _terms(other))

    def __radd__(self, other: object) -> LossObject:
        # ``0 + loss`` is the loss, so that ``sum(losses)`` composes them
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __mul__(self, other: object) -> CompositeLoss:
        if isinstance(other, bool) or not isinstance(other, (int, float)):
            return NotImplemented
        c = _coefficient(other)
        return CompositeLoss(tuple((c * k, part) for k, part in _terms(self)))

    __rmul__ = __mul__


def _coefficient(value: int | float) -> int | float:
    """A coefficient as a plain Python int or float (NumPy scalars too), finite."""
    check_number("coefficient", value)
    return int(value) if isinstance(value, int) else float(value)


def _terms(loss: LossObject) -> tuple[tuple[int | float, LossObject], ...]:
    """The ``(coefficient, part)`` terms of a loss object: its own for a composite."""
    if isinstance(loss, CompositeLoss):
        return loss.terms
    return ((1, loss),)


class CompositeLoss(LossObject):
    r"""A weighted sum of loss objects: ``DiceLoss(...) + 0.5 * CrossEntropyLoss()``.

    Made by ``a + b``, ``c * a`` and ``a * c`` on loss objects (``c`` a finite Python
    int or float; anything else is a TypeError, a NaN or infinite ``c`` a
    ValueError), or directly from ``(coefficient, loss object)`` terms. Calling it
    with the arrays its parts take returns :math:`\sum_k c_k\, \ell_k(\ldots)`.

    The expression is kept flat, with a coefficient per part: ``(a + b) + c`` has
    the three terms ``a``, ``b``, ``c``, and ``2 * (a + 0.5 * b)`` distributes to
    ``2 * a + 1.0 * b``. Terms keep their order and are not merged (``a + a`` has two
    terms); two composites are equal when their terms are, in order. Like every
    loss object it is immutable, hashable and picklable, so it can be a torch
    criterion or a static argument of ``jax.jit``; its ``repr`` is the expression.

    Every part must take the same number of positional arrays (TypeError
    otherwise), and their results must have the same shape when called (a
    ValueError names them otherwise: ``reduction="none"`` of a Dice loss, per
    sample and class, does not add to a cross-entropy's, per pixel).

    Examples
    --------
    >>> import numpy as np, polyloss
    >>> loss = polyloss.DiceLoss(axis=1, activation="softmax") + 0.5 * polyloss.CrossEntropyLoss()
    >>> x, t = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), np.array([0, 2])
    >>> round(float(loss(x, t)), 6)
    0.612726
    >>> len((loss + 2 * loss).terms)
    4
    """

    __slots__ = ()

    def __init__(self, terms: Iterable[tuple[int | float, LossObject]]) -> None:
        flat: list[tuple[int | float, LossObject]] = []
        for term in terms:
            try:
                c, part = term
            except (TypeError, ValueError):
                raise TypeError(
                    f"a term of a CompositeLoss is a (coefficient, loss object) pair; got {term!r}"
                ) from None
            if isinstance(c, bool) or not isinstance(c, (int, float)):
                raise TypeError(f"coefficient must be a real number, got {type(c).__name__} {c!r}")
            if not isinstance(part, LossObject):
                raise TypeError(f"a part of a CompositeLoss must be a loss object; got {type(part).__name__}")
            c = _coefficient(c)
            flat.extend((c * k, p) for k, p in _terms(part))
        if not flat:
            raise ValueError("a CompositeLoss needs at least one term")
        arities = {len(p.arguments) for _, p in flat}
        if len(arities) > 1:
            shown = ", ".join(f"{type(p).__name__}({', '.join(p.arguments)})" for _, p in flat)
            raise TypeError(
                f"the parts of a composite loss must take the same number of positional arrays; got {shown}"
            )
        terms_ = tuple(flat)
        object.__setattr__(self, "_kwargs", {})
        object.__setattr__(self, "_key", terms_)
        object.__setattr__(self, "_plans", {})

    @property
    def terms(self) -> tuple[tuple[int | float, LossObject], ...]:
        """The ``(coefficient, loss object)`` terms, in order; no part is a composite."""
        return self._key

    @property
    def arguments(self) -> tuple[str, ...]:  # type: ignore[override]
        """The positional arrays of its (first) part."""
        return self.terms[0][1].arguments

    def __call__(self, *arrays: Any) -> Any:
        arity = len(self.arguments)
        if len(arrays) != arity:
            raise TypeError(
                f"this composite loss takes {arity} positional arrays ({', '.join(self.arguments)}); "
                f"got {len(arrays)}"
            )
        total = None
        shape = None
        for c, part in self.terms:
            value = part(*arrays)
            if shape is None:
                shape = tuple(value.shape)
            elif tuple(value.shape) != shape:
                raise ValueError(
                    f"the parts of a composite loss give results of different shapes: {shape} from "
                    f"{type(self.terms[0][1]).__name__} and {tuple(value.shape)} from {type(part).__name__} "
                    "(check their reductions)"
                )
            term = value if c == 1 else c * value
            total = term if total is None else total + term
        return total

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"CompositeLoss has no attribute {name!r}; its parts are in .terms")

    def __repr__(self) -> str:
        (c0, first), *rest = self.terms
        out = repr(first) if c0 == 1 and rest else f"{c0!r} * {first!r}"
        for c, part in rest:
            sign, c = (" - ", -c) if c < 0 else (" + ", c)
            out += sign + (repr(part) if c == 1 else f"{c!r} * {part!r}")
        return out

    def __reduce__(self) -> Any:
        return (CompositeLoss, (self.terms,))


def make_loss_object(
    name: str,
    function: Callable[..., Any],
    options: dict[str, Any],
    reductions: tuple[str, ...],
    arguments: tuple[str, ...],
    natives: frozenset[str] = frozenset(),
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
            "natives": natives,
        },
    )
