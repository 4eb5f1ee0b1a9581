"""The array layer: the only part of polyloss that knows array backends.

Everything a loss needs beyond the Array API standard lives here: namespace and
device resolution for the arguments, dtype rules, conversion of array-valued
options, knowing whether a call is traced or lazy, stop-gradient, the stable
primitives the standard lacks (logsumexp, log-softmax, softplus, log-sigmoid,
one-hot, a class gather), each of them through a backend's own kernel where it has
one (``_torch.py``, ``_jax.py``).

No array library is imported at module import time; backend modules are
imported lazily, only once an array of theirs has been seen.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

import array_api_compat as _compat

__all__ = [
    "Array",
    "Namespace",
    "add_at_columns",
    "array_namespace",
    "as_compute_dtype",
    "backend_module",
    "backend_name",
    "call_signature",
    "class_axis",
    "compute_dtype",
    "cumulative_sum",
    "device_of",
    "dtype_kind",
    "exp_in_place",
    "exp_or_inf",
    "import_backend_modules",
    "integer_dtype_check",
    "is_eager",
    "log1mexp",
    "log_clamped",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "logsumexp_parts",
    "matmul_into",
    "one_hot",
    "option_array",
    "power",
    "softplus",
    "stop_gradient",
    "take_along",
    "take_class",
    "to_output",
    "value_range",
    "value_reads",
]

Array = Any
Namespace = Any

# --------------------------------------------------------------------------
# namespace and device
# --------------------------------------------------------------------------

_NAMESPACE_BY_TYPE: dict[type, Namespace] = {}
_TORCH_MODULE = "polyloss._array._torch"


def _namespace_of(x: Array, name: str) -> Namespace:
    """The namespace of one argument, cached by type (resolution costs 1-3 µs)."""
    cls = type(x)
    xp = _NAMESPACE_BY_TYPE.get(cls)
    if xp is None and "torch" in sys.modules and isinstance(x, sys.modules["torch"].Tensor):
        xp = _NAMESPACE_BY_TYPE[cls] = _torch_namespace()
    if xp is None:
        scalar = isinstance(x, (int, float, complex, bool)) or (
            cls.__module__ == "numpy" and cls.__name__ != "ndarray"  # np.float32(1), np.int64(2)
        )
        if scalar or not _compat.is_array_api_obj(x):
            raise TypeError(
                f"{name} must be an array (NumPy, PyTorch, JAX, CuPy, Dask or any Array API "
                f"array), got {cls.__name__}" + ("; wrap a scalar with asarray" if scalar else "")
            )
        xp = _compat.array_namespace(x)
        if _compat.is_dask_namespace(xp):
            xp = _DaskNamespace(xp)
        _NAMESPACE_BY_TYPE[cls] = xp
    return xp


def _torch_namespace() -> Namespace:
    """array-api-compat's torch namespace, known without its lru_cache-wrapped type tests
    (torch.compile warns about those when a first call is traced). The import statement
    runs at trace time too; the caches are filled here so that nothing later in the same
    trace looks the module up in ``sys.modules``."""
    from . import _torch as torch_kernels

    xp = torch_kernels.namespace
    _BACKEND_NAME[id(xp)] = "torch"
    _BACKEND_MODULE[(id(xp), __name__)] = torch_kernels
    return xp


class _DaskNamespace(types.ModuleType):
    """array-api-compat's Dask namespace with a block-wise ``clip``.

    ``array_api_compat.dask.array.clip`` (1.16) broadcasts a Python-scalar bound to
    the result's shape with ``da.broadcast_to``: one chunk the size of the data,
    which every output chunk then slices, so each clip holds data-sized memory
    (``log_loss`` on 1e8 rows in 1e6-row chunks peaked at 1.6 GB instead of 110 MB).
    Everything else is the compat namespace itself (``is_dask_namespace`` reads the
    name, which is the compat module's).
    """

    def __init__(self, base: types.ModuleType) -> None:
        super().__init__(base.__name__, base.__doc__)
        self._base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def take_along_axis(self, x: Array, indices: Array, /, *, axis: int = -1) -> Array:
        """Block-wise: the gathered axis in one chunk, the indices chunked like `x`, and
        NumPy's ``take_along_axis`` on each block (array-api-compat's Dask namespace has
        none, and a flat ``take`` pairs every data block with every index block)."""
        import dask.array as da

        axis = axis % x.ndim
        x = x.rechunk({axis: -1})
        indices = indices.rechunk((*x.chunks[:axis], indices.shape[axis], *x.chunks[axis + 1 :]))
        take = _compat.array_namespace(x._meta).take_along_axis
        return da.map_blocks(take, x, indices, axis=axis, dtype=x.dtype)

    def clip(self, x: Array, /, min: Any = None, max: Any = None) -> Array:
        if all(b is None or type(b) in (int, float) for b in (min, max)):
            import dask.array as da

            if min is None and max is None:
                return da.positive(x)
            out = da.clip(x, min, max)  # elementwise: chunk by chunk
            return out if out.dtype == x.dtype else out.astype(x.dtype)
        return self._base.clip(x, min=min, max=max)


def device_of(x: Array) -> Any:
    """The device of `x`, or None where a tracer has no committed device."""
    torch_kernels = sys.modules.get(_TORCH_MODULE)
    if torch_kernels is not None and isinstance(x, torch_kernels.torch.Tensor):
        return x.device
    try:
        return _compat.device(x)
    except Exception:  # tracers of some backends have no committed device
        return None


def array_namespace(**arrays: Array) -> Namespace:
    """Resolve the one namespace shared by the named array arguments.

    Parameters
    ----------
    **arrays
        The array arguments of a loss, by name (``input=..., target=...``).

    Returns
    -------
    namespace
        The Array API namespace of the arguments.

    Raises
    ------
    TypeError
        If an argument is not an array, or two arguments belong to different
        namespaces (the message names both).
    ValueError
        If two arguments live on different devices (the message names both).

    Examples
    --------
    >>> import numpy as np
    >>> from polyloss._array import array_namespace
    >>> array_namespace(input=np.zeros(3), target=np.ones(3)).__name__
    'array_api_compat.numpy'
    """
    first_name = first_xp = first_array = None
    for name, x in arrays.items():
        xp = _namespace_of(x, name)
        if first_xp is None:
            first_name, first_xp, first_array = name, xp, x
            continue
        if xp is not first_xp:
            raise TypeError(
                f"{first_name} and {name} belong to different array namespaces "
                f"({_namespace_label(first_xp)} and {_namespace_label(xp)}); "
                "pass arrays of one library"
            )
        device_of = _device_getter(xp)
        if device_of is not None:
            d0, d1 = device_of(first_array), device_of(x)
            if d0 is not None and d1 is not None and d0 != d1:
                raise ValueError(
                    f"{first_name} and {name} are on different devices ({d0} and {d1}); "
                    "move them to one device"
                )
    return first_xp


_DEVICE_GETTER: dict[int, Callable[[Array], Any] | None] = {}


def _torch_device(x: Array) -> Any:
    return x.device


def _jax_devices(x: Array) -> Any:
    """The devices a JAX array is committed to, or None for a tracer (devices are then
    the compiler's business)."""
    try:
        return frozenset(x.devices())
    except Exception:  # tracers have no devices
        return None


def _device_getter(xp: Namespace) -> Callable[[Array], Any] | None:
    """How to read an array's device in namespace `xp` (None: no check needed), cached.

    NumPy has one device, so it is not checked; JAX arrays are compared by the
    set of devices they are committed to; torch's ``.device`` is read directly (``array_api_compat.device`` costs ~8 µs).
    """
    try:
        return _DEVICE_GETTER[id(xp)]
    except KeyError:
        pass
    backend = backend_name(xp)
    if backend == "numpy":
        getter = None
    elif backend == "torch":
        getter = _torch_device
    elif backend == "jax":
        getter = _jax_devices
    else:
        getter = device_of
    _DEVICE_GETTER[id(xp)] = getter
    return getter


def _namespace_label(xp: Namespace) -> str:
    return getattr(xp, "__name__", repr(xp))


def backend_name(xp: Namespace) -> str:
    """A short name for the library behind a namespace: 'numpy', 'torch', 'jax', ...
    (cached; torch's is known without array-api-compat's lru_cache-wrapped tests, which
    torch.compile warns about when a first call is traced)."""
    try:
        return _BACKEND_NAME[id(xp)]
    except KeyError:
        pass
    torch_kernels = sys.modules.get(_TORCH_MODULE)
    name = "torch" if torch_kernels is not None and xp is torch_kernels.namespace else _backend_name(xp)
    _BACKEND_NAME[id(xp)] = name
    return name


_BACKEND_NAME: dict[int, str] = {}


def _backend_name(xp: Namespace) -> str:
    for name, test in (
        ("numpy", _compat.is_numpy_namespace),
        ("torch", _compat.is_torch_namespace),
        ("jax", _compat.is_jax_namespace),
        ("cupy", _compat.is_cupy_namespace),
        ("dask", _compat.is_dask_namespace),
        ("array_api_strict", _compat.is_array_api_strict_namespace),
    ):
        if test(xp):
            return name
    return _namespace_label(xp)


# --------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------


def compute_dtype(xp: Namespace, x: Array, name: str = "input") -> Any:
    """The floating dtype a loss computes in: the input's, or float32 for half floats.

    Raises
    ------
    TypeError
        If `x` is not a real floating array (integer or bool predictions).
    """
    dtype = x.dtype
    key = (id(xp), dtype)
    try:
        return _COMPUTE_DTYPE[key]
    except KeyError:
        pass
    if not xp.isdtype(dtype, "real floating"):
        raise TypeError(f"{name} must be a real floating array, got dtype {dtype}")
    out = xp.float32 if xp.finfo(dtype).bits < 32 else dtype
    _COMPUTE_DTYPE[key] = out
    return out


_COMPUTE_DTYPE: dict[tuple[int, Any], Any] = {}


def as_compute_dtype(xp: Namespace, x: Array, dtype: Any) -> Array:
    """`x` in `dtype`, without a copy when it already is."""
    return x if x.dtype == dtype else xp.astype(x, dtype)


def to_output(xp: Namespace, value: Array, like: Array) -> Array:
    """Cast a result accumulated in the compute dtype back to the input's dtype."""
    return value if value.dtype == like.dtype else xp.astype(value, like.dtype)


def dtype_kind(xp: Namespace, dtype: Any) -> str:
    """``"real floating"``, ``"integral"``, ``"bool"`` or ``"other"``, cached per dtype
    (``isdtype`` costs over a microsecond a call through array-api-compat)."""
    key = (id(xp), dtype)
    try:
        return _DTYPE_KIND[key]
    except KeyError:
        pass
    kind = next((k for k in ("real floating", "integral", "bool") if xp.isdtype(dtype, k)), "other")
    _DTYPE_KIND[key] = kind
    return kind


_DTYPE_KIND: dict[tuple[int, Any], str] = {}


def integer_dtype_check(xp: Namespace, x: Array, name: str) -> None:
    """Raise TypeError unless `x` holds integers (class indices)."""
    if dtype_kind(xp, x.dtype) != "integral":
        raise TypeError(f"{name} must hold integer class indices, got dtype {x.dtype}")


def option_array(
    xp: Namespace, value: Any, *, like: Array, name: str, dtype: Any = None
) -> Array | None:
    """An array-valued option in the namespace, device and dtype of `like`.

    `value` may be ``None`` (returned as is), a Python sequence or scalar, a NumPy
    array, or an array of any namespace supporting DLPack or the buffer protocol.
    """
    if value is None:
        return None
    dtype = like.dtype if dtype is None else dtype
    dev = device_of(like)
    if isinstance(value, (list, tuple)):  # first: no array-api-compat type test under torch.compile
        value = _nested_floats(value, name)
    elif type(value) in _NAMESPACE_BY_TYPE or (
        _compat.is_array_api_obj(value) and not isinstance(value, (int, float, bool, complex))
    ):
        source = _namespace_of(value, name)
        if dtype_kind(source, value.dtype) not in ("real floating", "integral", "bool"):
            raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
        if source is xp:
            value = value if value.dtype == dtype else xp.astype(value, dtype)
            if dev is not None and device_of(value) != dev:
                value = xp.asarray(value, device=dev)  # `to_device` is not on every backend
            return value
        value = _host_values(value)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        value = _nested_floats(value, name)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a sequence of numbers or an array, got {type(value).__name__}"
        )
    return xp.asarray(value, dtype=dtype, device=dev)


def _host_values(value: Array) -> Any:
    """Values of a foreign array as something every namespace's `asarray` accepts."""
    detach = getattr(value, "detach", None)  # a torch tensor that requires grad (a Parameter)
    if detach is not None:
        value = detach()
    to_numpy = getattr(value, "__array__", None)
    if to_numpy is not None:
        try:
            return to_numpy()
        except Exception:  # a CUDA tensor, say: go through its host copy
            pass
    cpu = getattr(value, "cpu", None) or getattr(value, "get", None)
    return cpu().__array__() if cpu is not None else value


def _real(v: Any) -> float:
    if isinstance(v, (str, bytes, bool, complex)):
        raise TypeError(f"not a real number: {v!r}")
    return float(v)


def _nested_floats(value: Sequence[Any], name: str) -> Any:
    try:
        return [
            _nested_floats(v, name) if isinstance(v, Sequence) and not isinstance(v, str) else _real(v)
            for v in value
        ]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {value!r}") from None


# --------------------------------------------------------------------------
# tracing, laziness, stop-gradient
# --------------------------------------------------------------------------


def is_eager(xp: Namespace, x: Array) -> bool:
    """Whether the values of `x` can be read now, cheaply, without breaking a trace.

    False under ``jax.jit``/``grad``/``vmap`` (tracers), under ``torch.compile``
    (FakeTensors), and for Dask's lazy arrays. Value checks run only when True.
    """
    try:
        test = _EAGER_TEST[id(xp)]
    except KeyError:
        test = _EAGER_TEST[id(xp)] = _eager_test(xp)
    if not test(x):
        return False
    global _VALUE_READS
    _VALUE_READS += 1  # counted only in eager calls: a traced global would be a guard
    return True


_EAGER_TEST: dict[int, Callable[[Array], bool]] = {}
_VALUE_READS = 0


def value_reads() -> int:
    """How many times :func:`is_eager` has answered True, in this process: every check
    of array values asks it first, so an eager computation during which this count did
    not move read nothing but the arrays' signatures (see :func:`call_signature`)."""
    return _VALUE_READS


def call_signature(arrays: tuple[Array, ...]) -> tuple[Any, ...] | None:
    """What a loss's validation can read of `arrays` without their values -- type, dtype,
    shape, device and whether autograd tracks them -- as a hashable key.

    None when an array is traced, lazy or of a type no call has resolved yet: such a
    call takes the full path (a loss object plans only eager calls; see ``_objects``).

    Examples
    --------
    >>> import numpy as np
    >>> from polyloss._array import array_namespace, call_signature
    >>> x = np.zeros((2, 3))
    >>> _ = array_namespace(input=x)
    >>> call_signature((x,)) == call_signature((np.ones((2, 3)),))
    True
    >>> call_signature((x,)) == call_signature((np.ones((3, 2)),))
    False
    """
    key = []
    for x in arrays:
        signature = _SIGNATURE.get(type(x))
        if signature is None:
            xp = _NAMESPACE_BY_TYPE.get(type(x))
            if xp is None:
                return None
            signature = _SIGNATURE[type(x)] = _signature_of(xp)
        found = signature(x)
        if found is None:
            return None
        key.append(found)
    return tuple(key)


_SIGNATURE: dict[type, Callable[[Array], Any]] = {}


def _signature_of(xp: Namespace) -> Callable[[Array], Any]:
    """The `call_signature` of one array of namespace `xp` (None when not eager)."""
    if backend_name(xp) == "torch":
        import torch

        compiling = torch.compiler.is_compiling
        batched = torch._C._functorch.is_batchedtensor
        return lambda x: (
            None if compiling() or batched(x) else (x.dtype, x.shape, x.device, x.requires_grad)
        )
    eager = _eager_test(xp)

    def signature(x: Array) -> Any:
        if not eager(x):
            return None
        try:
            return (type(x), x.dtype, tuple(x.shape), x.device)
        except Exception:  # a JAX array sharded over devices
            return None

    return signature


def _eager_test(xp: Namespace) -> Callable[[Array], bool]:
    """The `is_eager` test of one namespace (resolved once: the checks cost ~1 µs)."""
    backend = backend_name(xp)
    if backend == "dask":
        return lambda x: False
    if backend == "jax":
        import jax

        tracer = jax.core.Tracer
        return lambda x: not isinstance(x, tracer)
    if backend == "torch":
        import torch

        compiling = torch.compiler.is_compiling
        batched = torch._C._functorch.is_batchedtensor
        return lambda x: not compiling() and not batched(x)
    return lambda x: True


def stop_gradient(xp: Namespace, x: Array) -> Array:
    """`x` with its gradient stopped (identity on backends without autodiff)."""
    fast = backend_module(xp)
    return x if fast is None else fast.stop_gradient(x)


def value_range(xp: Namespace, x: Array) -> tuple[int, int] | None:
    """The smallest and largest entry of an integer array as Python ints, or None where
    they cannot be read now (traced or lazy arrays)."""
    if not is_eager(xp, x):
        return None
    fast = backend_module(xp)
    if fast is not None:
        return fast.value_range(x)
    lowest = xp.min(x)
    if not is_eager(xp, lowest):  # a concrete array closed over by a traced function
        return None
    return int(lowest), int(xp.max(x))


# --------------------------------------------------------------------------
# backend modules of the primitives
# --------------------------------------------------------------------------

_BACKEND_MODULES = ("torch", "jax", "numpy")
_BACKEND_MODULE: dict[tuple[int, str], types.ModuleType | None] = {}


def backend_module(xp: Namespace, package: str = "polyloss._array") -> types.ModuleType | None:
    """The module of `package` written for the backend of `xp` (``<package>._torch``,
    ``._jax`` or ``._numpy``), or None where there is none: the generic path.

    Such a module is imported with polyloss when its backend is already imported, else
    at the first array of its backend; an import cannot be traced by torch.compile, so a
    first call made while compiling gets None, this once.
    """
    key = (id(xp), package)
    try:
        return _BACKEND_MODULE[key]
    except KeyError:
        pass
    backend = backend_name(xp)
    if backend not in _BACKEND_MODULES:
        _BACKEND_MODULE[key] = None
        return None
    name = f"{package}._{backend}"
    module = sys.modules.get(name)
    if module is None:
        if backend == "torch" and sys.modules["torch"].compiler.is_compiling():
            return None
        module = importlib.import_module(name) if importlib.util.find_spec(name) is not None else None
    _BACKEND_MODULE[key] = module
    return module


def import_backend_modules(package: str) -> None:
    """Import the backend modules of `package` whose backend is already imported (never
    a backend itself), so that a first call under ``torch.compile`` finds them."""
    for backend in _BACKEND_MODULES:
        name = f"{package}._{backend}"
        if backend in sys.modules and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


# --------------------------------------------------------------------------
# stable primitives the standard lacks
# --------------------------------------------------------------------------


def logsumexp(xp: Namespace, x: Array, axis: int, keepdims: bool = False) -> Array:
    """``log(sum(exp(x), axis))`` without overflow; the max shift's gradient is stopped."""
    fast = backend_module(xp)
    if fast is not None:
        return fast.logsumexp(x, axis=axis, keepdims=keepdims)
    shift = _stopped_max(xp, x, axis)
    out = xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else xp.squeeze(out, axis=axis)


def _stopped_max(xp: Namespace, x: Array, axis: int) -> Array:
    """The max along `axis` (kept as a dimension) with its gradient stopped, 0 where it
    is not finite: the shift of a stable log-sum-exp. (Without the stop, ``jax.grad``
    differentiates through the max and runs about 10 times slower.)"""
    shift = stop_gradient(xp, xp.max(x, axis=axis, keepdims=True))
    return xp.where(xp.isfinite(shift), shift, 0.0)


def log_softmax(xp: Namespace, x: Array, axis: int) -> Array:
    """``x - logsumexp(x, axis)``: log-probabilities from logits."""
    fast = backend_module(xp)
    if fast is not None:
        return fast.log_softmax(x, axis=axis)
    return x - logsumexp(xp, x, axis=axis, keepdims=True)


def softplus(xp: Namespace, x: Array) -> Array:
    """``log(1 + exp(x))``, exact for large ``|x|``."""
    fast = backend_module(xp)
    if fast is not None:
        return fast.softplus(x)
    # max(x, 0) as (x + |x|) / 2: exact in floating point, and its gradient at 0 is 1/2
    # (clip's is 1 there, which made the gradient of softplus at exactly 0 one, not 1/2)
    return 0.5 * (x + xp.abs(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def log_sigmoid(xp: Namespace, x: Array) -> Array:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(xp, -x)


def power(xp: Namespace, base: Array, exponent: float) -> Array:
    """``base ** exponent`` for ``exponent >= 0``, finite in value and gradient everywhere.

    The naive power has an infinite derivative at 0 for ``exponent < 1`` (and NaN
    after the chain rule's ``inf * 0``). Here a base below the dtype's smallest
    normal number, or negative, gives 0 (1 for ``exponent == 0``) with a zero
    gradient (double ``where``); ``exponent == 1`` returns `base` unchanged.
    """
    if exponent == 1:
        return base
    positive = base >= float(xp.finfo(base.dtype).smallest_normal)
    powered = xp.exp(exponent * xp.log(xp.where(positive, base, 1.0)))
    floor = xp.where(base == base, 1.0 if exponent == 0 else 0.0, base)  # a NaN base stays NaN
    return xp.where(positive, powered, floor)


def exp_or_inf(xp: Namespace, x: Array) -> Array:
    """``exp(x)``, inf past the dtype's range without NumPy's overflow warning."""
    overflows = x > math.log(float(xp.finfo(x.dtype).max))
    return xp.where(overflows, float("inf"), xp.exp(xp.where(overflows, 0.0, x)))


def log1mexp(xp: Namespace, a: Array) -> Array:
    """``log(1 - exp(a))`` for ``a < 0``, accurate on both sides of ``-log 2`` (Mächler's
    two branches, each fed only its own range so that neither branch's gradient is NaN)."""
    near = a > _MINUS_LOG_2
    a_near = xp.where(near, a, -1.0)
    a_far = xp.where(near, _MINUS_LOG_2 - 1.0, a)
    return xp.where(near, xp.log(-xp.expm1(a_near)), xp.log1p(-xp.exp(a_far)))


_MINUS_LOG_2 = -0.6931471805599453


def one_hot(xp: Namespace, labels: Array, num_classes: int, *, axis: int, dtype: Any) -> Array:
    """One-hot encoding of integer `labels` with the class axis inserted at `axis`.

    Labels outside ``[0, num_classes)`` give an all-zero row.
    """
    ndim_out = labels.ndim + 1
    axis = axis % ndim_out
    classes = xp.arange(num_classes, device=device_of(labels))
    shape = [1] * ndim_out
    shape[axis] = num_classes
    classes = xp.reshape(classes, tuple(shape))
    return xp.astype(xp.expand_dims(labels, axis=axis) == classes, dtype)


def take_along(xp: Namespace, x: Array, index: Array, *, axis: int) -> Array:
    """``take_along_axis``: `x` gathered by the integer `index` (of `x`'s rank, already
    in range) along `axis`; torch gets int64 indices."""
    if backend_name(xp) == "torch" and index.dtype != xp.int64:
        index = xp.astype(index, xp.int64)
    return xp.take_along_axis(x, index, axis=axis)


def cumulative_sum(xp: Namespace, x: Array, *, axis: int) -> Array:
    """The standard's ``cumulative_sum`` (torch's own ``cumsum``: array-api-compat's
    wrapper resolves a namespace, which torch.compile warns about)."""
    fast = backend_module(xp)
    if fast is not None and backend_name(xp) == "torch":
        return fast.torch.cumsum(x, dim=axis)
    return xp.cumulative_sum(x, axis=axis)


def take_class(xp: Namespace, x: Array, index: Array, *, axis: int) -> Array:
    """``x`` at the class ``index`` along `axis` (the axis is removed).

    `index` has the shape of `x` without `axis` and must already be in range:
    replace ignored or invalid entries with ``where`` before calling.
    """
    index = xp.expand_dims(index, axis=axis)
    if hasattr(xp, "take_along_axis") and backend_name(xp) != "dask":  # dask: the mask is lazier
        return xp.squeeze(take_along(xp, x, index, axis=axis), axis=axis)
    classes = xp.arange(x.shape[axis], device=device_of(x))
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    mask = xp.reshape(classes, tuple(shape)) == index
    return xp.sum(xp.where(mask, x, 0.0), axis=axis)


def class_axis(ndim: int, axis: int, name: str = "axis") -> int:
    """`axis` as a non-negative position in an array of `ndim` dimensions."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an input of {ndim} dimensions")
    return axis % ndim


def log_clamped(xp: Namespace, x: Array, floor: float) -> Array:
    """``max(log(x), floor)`` with a finite gradient at ``x = 0`` (double ``where``)."""
    positive = x > 0
    safe = xp.where(positive, x, 1.0)
    return xp.where(positive, xp.clip(xp.log(safe), min=floor), floor)


# --------------------------------------------------------------------------
# primitives of the class-indexed and probability losses
# --------------------------------------------------------------------------


def logsumexp_parts(xp: Namespace, x: Array, axis: int) -> tuple[Array, Array]:
    """The two parts of a stable log-sum-exp: ``logsumexp(x) = lse + m``.

    ``m`` is the max along `axis` (kept as a dimension, its gradient stopped, 0 where
    it is not finite) and ``lse = log(sum(exp(x - m), axis))`` with `axis` removed.
    Then ``log_softmax(x) = (x - m) - lse``: losses built on the parts lose no
    precision to a large common offset of the logits, and can gather a class's logit
    before shifting it instead of forming ``log_softmax``. A row of all -inf logits
    (every class masked) gets ``lse = 0``, so that its losses are 0 where no target
    probability falls on it, in value and gradient.
    """
    m = _stopped_max(xp, x, axis)
    total = xp.sum(xp.exp(x - m), axis=axis)
    # a row of all -inf (masked) logits: lse = 0 with a zero gradient, not log(0) = -inf;
    # a NaN sum (a NaN logit) stays NaN
    return m, xp.log(xp.where(total == 0.0, 1.0, total))


def along_axis(xp: Namespace, v: Array, ndim: int, axis: int) -> Array:
    """A 1-D array `v` reshaped to broadcast along `axis` of an `ndim`-dimensional array."""
    shape = [1] * ndim
    shape[axis] = v.shape[0]
    return xp.reshape(v, tuple(shape))


def take_1d(xp: Namespace, v: Array, index: Array) -> Array:
    """``v[index]`` for a 1-D `v` and an integer `index` of any shape (already in range)."""
    if backend_name(xp) == "torch" and index.dtype not in (xp.int64, xp.int32):
        index = xp.astype(index, xp.int64)  # torch's index_select takes no narrower integers
    if index.ndim == 1 or backend_name(xp) == "jax":  # JAX takes any index shape: no reshape
        return xp.take(v, index, axis=0)  # (a reshape of a sharded index gathers it)
    flat = xp.reshape(index, (-1,))
    return xp.reshape(xp.take(v, flat, axis=0), tuple(index.shape))


def xlogx(xp: Namespace, x: Array) -> Array:
    """``x * log(x)``: 0 at ``x == 0`` (with a zero gradient), NaN for ``x < 0``.

    A double ``where`` keeps ``log`` from ever seeing a value <= 0.
    """
    out = x * xp.log(xp.where(x > 0, x, 1.0))  # exactly 0, gradient 0, at x == 0
    return xp.where(x < 0, float("nan"), out)


def log1m_clamped(xp: Namespace, x: Array, floor: float) -> Array:
    """``max(log1p(-x), floor)`` with a finite gradient at ``x = 1`` (double ``where``).

    torch's ``binary_cross_entropy`` takes the log of ``1 - p`` this way (``log1p``).
    """
    below = x < 1
    safe = xp.where(below, x, 0.0)
    return xp.where(below, xp.clip(xp.log1p(-safe), min=floor), floor)


# --------------------------------------------------------------------------
# scratch arrays: written in place where the backend can
# --------------------------------------------------------------------------

# Eager loops over chunks (polyloss._chunked) reuse one scratch array rather than make
# a temporary per step. The Array API has no ``out=`` and no in-place ``exp``: these
# write in place on torch, and compute a new array elsewhere (where arrays may be
# immutable, as JAX's, callers use the result and give no `out`).


def _fast(xp: Namespace, name: str) -> Callable[..., Any] | None:
    return getattr(backend_module(xp), name, None)


def matmul_into(xp: Namespace, a: Array, b: Array, out: Array | None = None, *, add: bool = False) -> Array:
    """``a @ b``, or ``out + a @ b`` with `add`, stored into `out` when one is given
    (on torch with no temporary product); returns the result."""
    if out is None:
        return a @ b
    fast = _fast(xp, "matmul_into")
    if fast is not None:
        return fast(a, b, out, add=add)
    out[...] = out + a @ b if add else a @ b
    return out


def exp_in_place(xp: Namespace, x: Array) -> Array:
    """``exp(x)``, overwriting `x` on torch (a scratch array: not for autodiff)."""
    fast = _fast(xp, "exp_in_place")
    return xp.exp(x) if fast is None else fast(x)


def add_at_columns(xp: Namespace, x: Array, columns: Array, values: Array) -> Array:
    """`x` with ``values[i]`` added at ``x[i, columns[i]]`` for the rows whose column is
    in ``[0, x.shape[1])``, in place on torch (a scratch array: not for autodiff).
    Elsewhere a new array, by a ``where`` against the column numbers."""
    fast = _fast(xp, "add_at_columns")
    if fast is not None:
        return fast(x, columns, values)
    hit = xp.expand_dims(columns, axis=1) == xp.arange(x.shape[1], device=device_of(x))
    return x + xp.where(hit, xp.expand_dims(values, axis=1), 0.0)


import_backend_modules("polyloss._array")
