"""Property-based fuzzing of every registered loss, on every backend of the session.

Made from ``polyloss.REGISTRY``: a loss registered by its module is fuzzed here with
nothing to add. For each loss and backend, hypothesis draws

* ``valid`` calls: the registered example's arrays with random values of the same
  shapes (probability-like arrays stay in [0, 1] with exact 0 and 1, ±1 / 0-1 target
  arrays keep their values, other floats range over ±1e4; class indices stay in range)
  and a random reduction of the loss;
* invalid calls, one test per kind: ``wrong_shape`` (one array reshaped),
  ``list`` (one array passed as nested lists), ``int_input`` (an integer first
  argument), ``complex`` (a complex array), ``bad_reduction``, ``bad_option`` (NaN,
  ±inf or a string for an option whose default is a float) and
  ``index_out_of_range`` (a class index >= C in a target).

Every outcome is classified: a value (compared with the float64 NumPy result of the
same data at ``backend.rtol * 10``, NaN matching NaN), a clear error (TypeError /
ValueError naming the argument, option, shape or offending value), or a failure
(any other exception, an unnamed error, a value where an error is required, a wrong
number). The backend's outcome class must also equal the one of NumPy float64 on the
same data. The count of outcomes per loss, backend and class is printed at the end
of the module (``-s``, or in the terminal report).

Defects found and not yet fixed are listed in :data:`KNOWN_DEFECTS`; their exact
(loss, kind) cases are skipped with the reason, so the rest keeps running.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from polyloss import REGISTRY

#: (loss, kind) -> reason, or (loss, kind, library) -> reason for one library only.
#: Each entry is a defect of src/polyloss found by this fuzz; the case is skipped
#: until it is fixed (then delete the entry).
KNOWN_DEFECTS: dict[tuple[str, ...], str] = {
}

#: Losses whose value legitimately depends on the dtype (a clip at the dtype's machine
#: epsilon, an overflow): on a float32 backend they are compared with NumPy in float32.
DTYPE_DEPENDENT = {
    "log_loss": "clips probabilities at finfo(input.dtype).eps, as scikit-learn",
    "ntxent_loss": "floors the squared norm at finfo(embeddings.dtype).eps, as optax",
    "poisson_nll_loss": "exp(input) overflows to inf in float32 above ~88.7 (as in torch)",
}

KINDS = ("valid", "wrong_shape", "list", "int_input", "complex", "bad_reduction", "bad_option",
         "index_out_of_range")
LOSSES = sorted(REGISTRY)
BIG = 1e4
#: Draws per (loss, backend): valid calls vary much; an invalid kind is one rule each.
EXAMPLES = {"valid": 20}
INVALID_EXAMPLES = 4
FUZZ = settings(
    max_examples=20,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a seed does not shrink
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

#: (loss, backend, kind, outcome class) -> number of drawn calls.
OUTCOMES: Counter[tuple[str, str, str, str]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _outcome_summary(request):
    yield
    if not OUTCOMES:
        return
    by_case: dict[tuple[str, str], Counter[str]] = {}
    total: Counter[str] = Counter()
    for (loss, backend, kind, cls), n in OUTCOMES.items():
        column = f"{'valid' if kind == 'valid' else 'invalid'}:{cls}"
        by_case.setdefault((loss, backend), Counter())[column] += n
        total[column] += n
    columns = sorted(total)
    lines = ["", "fuzz outcomes per loss and backend (draw kind:outcome class=count)"]
    width = max(len(f"{loss} [{b}]") for loss, b in by_case)
    for (loss, b), c in sorted(by_case.items()):
        lines.append(f"  {f'{loss} [{b}]':<{width}}  " + "  ".join(f"{k}={c[k]}" for k in columns if c[k]))
    lines.append(f"  {'total':<{width}}  " + "  ".join(f"{k}={total[k]}" for k in columns))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # pragma: no cover
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line)


# --------------------------------------------------------------------------
# what is drawn, from the registered example
# --------------------------------------------------------------------------


def _options(info) -> dict[str, Any]:
    return dict(info.example.options)


def _num_classes(info, k: int) -> int | None:
    """C for an integer array `k` that holds class indices (name with "target"), else None.

    The class axis is the ``axis`` option where the loss has one, otherwise the first
    array's last axis (log_loss, multilabel_margin_loss, ctc_loss)."""
    arrays = info.example.arrays
    if not info.arguments[k].startswith("target") or k == 0 or not arrays[k].integer:
        return None
    first = arrays[0].shape
    axis = _options(info).get("axis", info.options.get("axis", -1)) if "axis" in info.options else -1
    if not isinstance(axis, int) or isinstance(axis, bool):
        axis = -1
    if not first or not -len(first) <= axis < len(first):
        return None
    return first[axis]


def _float_kind(values: np.ndarray) -> tuple[str, tuple[float, ...], bool]:
    """How to draw a float array like `values`: its kind, the values of a "set" kind
    (0/1 or ±1 targets keep their values; integral graded relevance keeps its range),
    and whether its rows are probability vectors (normalized along the last axis)."""
    flat = values.ravel()
    lo, hi = float(flat.min()), float(flat.max())
    if np.all(flat == np.round(flat)):
        if len(np.unique(flat)) <= 2:
            return "set", tuple(float(v) for v in np.unique(flat)), False
        return "set", tuple(float(v) for v in range(int(lo), int(hi) + 1)), False
    if 0.0 <= lo and hi <= 1.0:
        rows = values.ndim >= 1 and values.shape[-1] > 1 and bool(np.allclose(values.sum(-1), 1.0))
        return "unit", (), rows
    if lo >= 0.0:
        return "nonneg", (), False
    if hi <= 0.0:
        return "nonpos", (), False
    return "real", (), False


@dataclass(frozen=True)
class Spec:
    """How to draw one array argument."""

    name: str
    shape: tuple[int, ...]
    integer: bool
    kind: str = "real"  # integer arrays: "index"; floats: see _float_kind
    values: tuple[float, ...] = ()  # "set" floats; for integers the special values (ignore_index)
    low: int = 0
    high: int = 0
    rows: bool = False
    num_classes: int | None = None
    fixed: tuple[float, ...] = ()  # integers: the example's negative entries by flat position (else 0)


_SPECS: dict[str, list[Spec]] = {}


def _specs(info) -> list[Spec]:
    if info.name not in _SPECS:
        _SPECS[info.name] = _make_specs(info)
    return _SPECS[info.name]


def _make_specs(info) -> list[Spec]:
    specs = []
    for k, (name, ex) in enumerate(zip(info.arguments, info.example.arrays, strict=True)):
        values = np.asarray(ex.values, dtype=np.float64)
        if ex.integer:
            # values in the example's range (a CTC blank past it stays out); negative
            # entries (ignore_index, -1 padding) keep their places, and where the loss has
            # an ignore_index they are also drawn anywhere
            nonneg = [int(v) for v in values.ravel() if v >= 0] or [0]
            special = tuple(sorted({float(v) for v in values.ravel() if v < 0}))
            kind = "ignorable" if special and "ignore_index" in info.options else "index"
            fixed = tuple(float(v) if v < 0 else 0.0 for v in values.ravel())
            specs.append(Spec(name, ex.shape, True, kind, special, min(nonneg), max(nonneg),
                              num_classes=_num_classes(info, k), fixed=fixed))
        else:
            kind, choices, rows = _float_kind(values)
            specs.append(Spec(name, ex.shape, False, kind, choices, rows=rows))
    return specs


#: the exact values drawn with some probability: saturation and the probability ends
SPECIALS = {"unit": (0.0, 1.0), "nonneg": (0.0, BIG), "nonpos": (0.0, -BIG), "real": (0.0, -BIG, BIG)}


def _draw_array(data, spec: Spec, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Hypothesis draws a seed and a style per array; NumPy fills it (cheap per element)."""
    shape = spec.shape if shape is None else shape
    n = math.prod(shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label=f"{spec.name} seed"))
    special_p = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]), label=f"{spec.name} share of special values")
    special = rng.random(n) < special_p
    if spec.integer:
        a = rng.integers(spec.low, spec.high + 1, size=n)
        if spec.kind == "ignorable":
            a = np.where(special, rng.choice(np.asarray(spec.values, dtype=np.int64), size=n), a)
        if len(spec.fixed) == n:
            fixed = np.asarray(spec.fixed, dtype=np.int64)
            a = np.where(fixed < 0, fixed, a)
        return a.astype(np.int64).reshape(shape)
    if spec.kind == "set":
        return rng.choice(np.asarray(spec.values), size=n).reshape(shape)
    if spec.kind == "unit":
        a = rng.random(n)
    else:
        wide = data.draw(st.booleans(), label=f"{spec.name} wide")
        a = 10.0 ** rng.uniform(-8.0, 4.0, n) if wide else rng.exponential(2.0, n)
        a = -a if spec.kind == "nonpos" else a * rng.choice([-1.0, 1.0], n) if spec.kind == "real" else a
    a = np.where(special, rng.choice(np.asarray(SPECIALS[spec.kind]), size=n), a).reshape(shape)
    if spec.rows and a.ndim:
        total = a.sum(-1, keepdims=True)
        one_hot = np.zeros_like(a)
        one_hot[..., 0] = 1.0
        a = np.where(total > 0, a / np.where(total > 0, total, 1.0), one_hot)
    return a


def _quantized(a: np.ndarray, dtype: str) -> np.ndarray:
    """Float data as the backend holds it (float32 data is rounded), in float64."""
    return a.astype(dtype).astype(np.float64) if a.dtype.kind == "f" else a


# --------------------------------------------------------------------------
# running a call and classifying its outcome
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    cls: str  # "value" | "TypeError" | "ValueError" | "other"
    value: np.ndarray | None = None
    error: BaseException | None = None

    @property
    def label(self) -> str:
        if self.cls != "value":
            return self.cls
        v = self.value
        return "nan" if np.isnan(v).any() else "inf" if np.isinf(v).any() else "value"

    def __str__(self) -> str:
        if self.cls == "value":
            return f"value {self.value!r}"
        return f"{type(self.error).__name__}: {self.error}"


def _outcome(call) -> Outcome:
    try:
        return Outcome("value", np.asarray(call(), dtype=np.float64))
    except TypeError as e:
        return Outcome("TypeError", error=e)
    except ValueError as e:
        return Outcome("ValueError", error=e)
    except Exception as e:  # anything else is the failure being looked for
        return Outcome("other", error=e)


@dataclass
class Call:
    """One drawn call: NumPy float64 data (already rounded to the backend dtype) and how
    each argument is passed (``array``, ``list``, or a dtype)."""

    kind: str
    arrays: list[Any]
    modes: list[str]
    options: dict[str, Any]
    reduction: Any
    allowed: frozenset[str]  # outcome classes this kind may give
    names: tuple[str, ...] = ()  # an error's message must contain one of these

    def describe(self) -> str:
        parts = [f"{m}{getattr(a, 'shape', '')}={np.asarray(a).tolist()!r}" for a, m in zip(self.arrays, self.modes, strict=True)]
        return f"{self.kind}: arrays {parts}, options {self.options!r}, reduction={self.reduction!r}"


def _on_backend(backend, call: Call) -> list[Any]:
    out = []
    for a, mode in zip(call.arrays, call.modes, strict=True):
        if mode == "list":
            out.append(np.asarray(a).tolist())
        elif mode == "array":
            out.append(backend.asarray(a))
        else:
            out.append(backend.asarray(a, mode))
    return out


def _reference_args(call: Call, dtype: str = "float64") -> list[Any]:
    out = []
    for a, m in zip(call.arrays, call.modes, strict=True):
        a = np.asarray(a)
        a = a.astype(dtype) if a.dtype.kind == "f" else a
        out.append(a.tolist() if m == "list" else a)
    return out


def _check(info, backend, call: Call) -> None:
    fn = info.function
    args = _on_backend(backend, call)
    got = _outcome(lambda: backend.to_numpy(fn(*args, **call.options, reduction=call.reduction)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the reference only needs its number
        ref_dtype = backend.dtype if info.name in DTYPE_DEPENDENT else "float64"
        ref = _outcome(lambda: fn(*_reference_args(call, ref_dtype), **call.options, reduction=call.reduction))
    lazy = backend.library == "dask"
    label = got.label
    problem = None
    if got.cls == "other":
        problem = "an unclear exception"
    elif got.cls not in call.allowed and not (lazy and got.cls == "value" and label == "nan"):
        problem = f"{got.cls} where only {sorted(call.allowed)} are right"
    elif got.cls != "value" and call.names and not any(n in str(got.error) for n in call.names):
        problem = f"an error that names none of {list(call.names)}"
    elif got.cls != ref.cls and not (lazy and ref.cls == "ValueError" and label == "nan"):
        problem = f"outcome {got.cls} but NumPy float64 gives {ref}"
    elif got.cls == "value" and ref.cls == "value":
        if got.value.shape != ref.value.shape:
            problem = f"shape {got.value.shape} but NumPy float64 gives {ref.value.shape}"
        else:
            scale = max([float(np.max(np.abs(a), initial=0.0)) for a in call.arrays
                         if np.asarray(a).dtype.kind == "f"] or [0.0])
            # float32 rounding grows with the elements reduced into each term (a norm, a
            # log-sum-exp) and, for "sum", with the terms added
            none = _outcome(lambda: fn(*_reference_args(call, "float64"), **call.options, reduction="none"))
            terms = max(1, np.size(none.value)) if none.cls == "value" else 1
            per_term = max(1, np.size(call.arrays[0]) // terms)
            rounding = 10 * np.finfo(backend.dtype).eps * scale * np.sqrt(per_term)
            atol = backend.atol + (rounding * (terms if call.reduction == "sum" else 1)
                                   if backend.dtype != "float64" else 0.0)
            try:
                np.testing.assert_allclose(got.value, ref.value, rtol=backend.rtol * 10, atol=atol)
            except AssertionError as e:
                problem = f"a wrong value: {e}"
    OUTCOMES[info.name, backend.name, call.kind, "FAILURE" if problem else label] += 1
    if problem:
        pytest.fail(f"{info.name} on {backend}: {problem}\n  got {got}\n  NumPy float64: {ref}\n  call {call.describe()}",
                    pytrace=False)


# --------------------------------------------------------------------------
# the draws
# --------------------------------------------------------------------------

VALUE = frozenset({"value"})
TYPE_ERROR = frozenset({"TypeError"})
VALUE_ERROR = frozenset({"ValueError"})


def _skip_known(name: str, kind: str, backend) -> None:
    reason = KNOWN_DEFECTS.get((name, kind)) or KNOWN_DEFECTS.get((name, kind, backend.library))
    if reason:
        pytest.skip(f"known defect: {reason}")


def _valid_arrays(data, specs, dtype) -> list[np.ndarray]:
    return [_quantized(_draw_array(data, s), dtype) for s in specs]


def _float_options(info) -> list[str]:
    return [k for k, v in info.options.items() if isinstance(v, float)]


def _draw(kind: str, info, backend, data) -> Call:
    specs = _specs(info)
    n = len(specs)
    dtype = backend.dtype
    options = _options(info)
    reduction = data.draw(st.sampled_from(info.reductions), label="reduction")
    modes = ["array"] * n
    if kind == "valid":
        # a draw can still break a rule of the loss the example does not show (a CTC target
        # longer than its input): a clear error that NumPy float64 gives too is an outcome
        names = (*info.arguments, *options)
        return Call(kind, _valid_arrays(data, specs, dtype), modes, options, reduction,
                    VALUE | VALUE_ERROR | TYPE_ERROR, names)
    if kind == "wrong_shape":
        k = data.draw(st.integers(0, n - 1), label="array")
        shape = specs[k].shape
        if not shape or data.draw(st.booleans(), label="prepend"):
            bad = (data.draw(st.integers(2, 3)), *shape)
        else:
            j = data.draw(st.integers(0, len(shape) - 1), label="axis")
            bad = (*shape[:j], shape[j] + data.draw(st.integers(1, 3)), *shape[j + 1:])
        arrays = _valid_arrays(data, specs, dtype)
        arrays[k] = _quantized(_draw_array(data, specs[k], bad), dtype)
        # a shape can be legitimately accepted (another C, a broadcast) and then must agree
        # with NumPy float64; or it is refused, naming an argument, an option sized by it
        # (weight of C classes) or the shape; a float target of one dimension fewer than
        # the input reads as a class map, refused with a TypeError
        names = (*info.arguments, *options, str(bad))
        return Call(kind, arrays, modes, options, reduction, VALUE | VALUE_ERROR | TYPE_ERROR, names)
    if kind == "list":
        k = data.draw(st.integers(0, n - 1), label="array")
        modes[k] = "list"
        # lengths (CTC) may be sequences, as torch takes them: then as NumPy float64 does
        lengths = specs[k].integer and "length" in info.arguments[k]
        allowed = VALUE | VALUE_ERROR | TYPE_ERROR if lengths else TYPE_ERROR
        names = (*info.arguments, *options) if lengths else (info.arguments[k],)
        return Call(kind, _valid_arrays(data, specs, dtype), modes, options, reduction, allowed, names)
    if kind == "int_input":
        arrays = _valid_arrays(data, specs, dtype)
        arrays[0] = np.rint(arrays[0]).astype(np.int64)
        return Call(kind, arrays, modes, options, reduction, TYPE_ERROR, (info.arguments[0],))
    if kind == "complex":
        floats = [k for k, s in enumerate(specs) if not s.integer]
        k = data.draw(st.sampled_from(floats), label="array")
        arrays = _valid_arrays(data, specs, dtype)
        imag = data.draw(st.floats(-2.0, 2.0, allow_nan=False).filter(lambda v: v != 0.0), label="imag")
        arrays[k] = arrays[k] + 1j * imag
        modes[k] = "complex128" if dtype == "float64" else "complex64"
        return Call(kind, arrays, modes, options, reduction, TYPE_ERROR, (info.arguments[k],))
    if kind == "bad_reduction":
        bad = data.draw(
            st.one_of(st.sampled_from(["avg", "MEAN", "", "elementwise_mean", "mean ", "batchmean", "sum_over"]),
                      st.text(max_size=6)).filter(lambda r: r not in info.reductions),
            label="reduction",
        )
        return Call(kind, _valid_arrays(data, specs, dtype), modes, options, bad, VALUE_ERROR, ("reduction",))
    if kind == "bad_option":
        option = data.draw(st.sampled_from(_float_options(info)), label="option")
        bad = data.draw(st.sampled_from([math.nan, math.inf, -math.inf, "1.0", "abc"]), label="value")
        options[option] = bad
        allowed = TYPE_ERROR if isinstance(bad, str) else VALUE_ERROR
        return Call(kind, _valid_arrays(data, specs, dtype), modes, options, reduction, allowed, (option,))
    if kind == "index_out_of_range":
        targets = [k for k, s in enumerate(specs) if s.num_classes is not None]
        k = data.draw(st.sampled_from(targets), label="array")
        arrays = _valid_arrays(data, specs, dtype)
        bad = specs[k].num_classes + data.draw(st.integers(0, 3), label="excess")
        flat = arrays[k].ravel().copy()
        # at the first counted entry (a CTC target within its length) and one more
        counted = np.flatnonzero(np.asarray(specs[k].fixed) >= 0)
        flat[counted[0]] = flat[data.draw(st.sampled_from(counted.tolist()), label="position")] = bad
        arrays[k] = flat.reshape(arrays[k].shape)
        return Call(kind, arrays, modes, options, reduction, VALUE_ERROR, (str(bad),))
    raise AssertionError(kind)


def _applicable(kind: str, info) -> str | None:
    """Why `kind` cannot be drawn for this loss (None when it can)."""
    specs = _specs(info)
    if kind == "complex" and all(s.integer for s in specs):
        return "no float array argument"
    if kind == "bad_option" and not _float_options(info):
        return "no option with a float default"
    if kind == "index_out_of_range" and not any(s.num_classes is not None for s in specs):
        return "no class-index target"
    if kind == "int_input" and specs[0].integer:
        return "the first argument is an integer array"
    return None


def _run(kind: str, name: str, backend) -> None:
    info = REGISTRY[name]
    _skip_known(name, kind, backend)
    why = _applicable(kind, info)
    if why:
        pytest.skip(why)
    if kind == "complex":
        try:
            backend.asarray(np.ones(1, dtype=np.complex128), "complex128" if backend.dtype == "float64" else "complex64")
        except Exception:
            pytest.skip(f"{backend} has no complex arrays")

    @settings(FUZZ, max_examples=EXAMPLES.get(kind, INVALID_EXAMPLES))
    @given(data=st.data())
    def fuzz(data):
        _check(info, backend, _draw(kind, info, backend, data))

    fuzz()


@pytest.mark.parametrize("name", LOSSES)
def test_valid(name, backend):
    _run("valid", name, backend)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("kind", KINDS[1:])
def test_invalid(kind, name, backend):
    _run(kind, name, backend)
