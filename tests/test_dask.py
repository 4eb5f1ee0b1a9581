"""Dask: every loss is lazy on chunked arrays, computes nothing, and matches NumPy.

Each registered loss is evaluated on its example split into chunks of length 1 along
every axis (so every reduction, logsumexp and gather crosses chunk boundaries) while a
scheduler that raises is installed: a ``compute()`` (or ``float()``, ``bool()``,
``np.asarray()``) anywhere inside polyloss fails the test. The lazy result is then
computed outside polyloss and compared with the float64 NumPy result.
``log_loss``, ``cross_entropy`` and ``dice_loss`` are also checked on arrays of many
row chunks with their main options, and a memory test checks that a reduction over
data many times the chunk size holds a few chunks at a time, not the data.
"""

from __future__ import annotations

import contextlib
import math
import tracemalloc

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import polyloss  # noqa: E402
from backends import example_numpy  # noqa: E402
from polyloss import REGISTRY  # noqa: E402

LOSSES = sorted(REGISTRY)
REDUCTIONS = ("mean", "sum", "none")



class ComputeCalled(AssertionError):
    pass


def _raising_scheduler(*args, **kwargs):
    raise ComputeCalled("a dask graph was executed inside polyloss (compute/float/bool/asarray)")


@contextlib.contextmanager
def no_compute():
    """Any graph execution inside the block raises (the scheduler itself raises)."""
    with dask.config.set(scheduler=_raising_scheduler):
        yield


class _CountExecutions(dask.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk):  # called once per graph execution by the local schedulers
        self.count += 1


def _np_example(info):
    """The example's arrays (float64 / int64 NumPy) and its options."""
    return example_numpy(info), dict(info.example.options)


def _chunked(a: np.ndarray, chunk: int = 1):
    """`a` as a dask array with chunks of length `chunk` along every axis."""
    return da.from_array(a, chunks=tuple(min(chunk, max(s, 1)) for s in a.shape) or ())


def _dask_options(options: dict) -> dict:
    """Array-valued options (sequences of numbers) as chunked dask arrays."""
    out = {}
    for key, value in options.items():
        if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) >= 1:
            value = _chunked(np.asarray(value, dtype=np.float64))
        out[key] = value
    return out


def _assert_lazy(out, name, reduction):
    assert isinstance(out, da.Array), f"{name}(reduction={reduction!r}) returned {type(out).__name__}"
    assert out.dtype == np.float64


# --------------------------------------------------------------------------
# every registered loss
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", LOSSES)
def test_registry_loss_on_many_chunks_is_lazy_and_matches_numpy(name):
    info = REGISTRY[name]
    arrays, options = _np_example(info)
    chunked = [_chunked(a) for a in arrays]
    assert chunked[0].npartitions > 1 or arrays[0].size == 1
    for reduction in info.reductions:
        with no_compute():
            out = info.function(*chunked, **options, reduction=reduction)
        _assert_lazy(out, name, reduction)
        expected = np.asarray(info.function(*arrays, **options, reduction=reduction))
        assert out.shape == expected.shape
        np.testing.assert_allclose(
            out.compute(), expected, rtol=1e-12, atol=1e-12, err_msg=f"{name} reduction={reduction}"
        )


def _has_array_option(name):
    return any(np.ndim(v) >= 1 for v in REGISTRY[name].example.options.values() if v is not None)


@pytest.mark.parametrize("name", [n for n in LOSSES if _has_array_option(n)])
def test_registry_loss_with_dask_array_options(name):
    """Array-valued options given as dask arrays stay lazy and give the same numbers."""
    info = REGISTRY[name]
    arrays, options = _np_example(info)
    doptions = _dask_options(options)
    for reduction in info.reductions:
        with no_compute():
            out = info.function(*(_chunked(a) for a in arrays), **doptions, reduction=reduction)
        _assert_lazy(out, name, reduction)
        expected = np.asarray(info.function(*arrays, **options, reduction=reduction))
        np.testing.assert_allclose(out.compute(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_object_is_lazy_on_dask(name):
    info = REGISTRY[name]
    arrays, options = _np_example(info)
    obj = info.object(**options)
    with no_compute():
        out = obj(*(_chunked(a) for a in arrays))
    _assert_lazy(out, name, "mean")
    np.testing.assert_allclose(out.compute(), np.asarray(obj(*arrays)), rtol=1e-12, atol=1e-12)


def test_no_graph_is_executed_by_any_loss():
    """With the default (threaded) scheduler, count graph executions: none may happen."""
    counter = _CountExecutions()
    outs = []
    with counter:
        for name in LOSSES:
            info = REGISTRY[name]
            arrays, options = _np_example(info)
            for reduction in info.reductions:
                outs.append(info.function(*(_chunked(a) for a in arrays), **options, reduction=reduction))
        assert counter.count == 0, f"{counter.count} dask graph execution(s) inside polyloss"
        dask.compute(*outs)  # the counter itself works: computing here is seen
        assert counter.count == 1


def _batched(info, factor: int):
    """The example arrays repeated `factor` times along the batch axis, with its element
    weights and ``sample_weight``; None when the arrays share no batch axis (axis 0 of
    the first; a 0-d array is kept beside a 1-D first array)."""
    arrays, options = _np_example(info)
    x = arrays[0]
    if x.ndim == 0 or any((a.ndim == 0 and x.ndim > 1) or (a.ndim and a.shape[0] != x.shape[0])
                          for a in arrays[1:]):
        return None
    reps = lambda a: np.concatenate([a] * factor, axis=0)  # noqa: E731
    for key, value in options.items():
        if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) >= 1:
            if np.shape(value) == x.shape or key == "sample_weight":
                options[key] = reps(np.asarray(value, dtype=np.float64))
    return [reps(a) if a.ndim else a for a in arrays], options


def _row_chunked(a: np.ndarray, rows: int):
    return da.from_array(a, chunks=(rows, *a.shape[1:])) if a.ndim else da.from_array(a)


@pytest.mark.parametrize("name", LOSSES)
def test_reduction_none_keeps_the_chunks(name):
    """``reduction="none"`` is not rechunked into one block (which would gather the data)."""
    info = REGISTRY[name]
    if not info.per_sample:
        pytest.skip(f"the terms of {name} compare the samples of a batch: (N, N) chunks")
    batched = _batched(info, 4)
    if "none" not in info.reductions or batched is None:
        pytest.skip(f"{name} has no reduction='none' or no batch axis")
    arrays, options = batched
    per_sample = np.asarray(info.function(*arrays, **options, reduction="none"))
    if per_sample.ndim == 0 or per_sample.shape[0] != arrays[0].shape[0]:
        pytest.skip(f"reduction='none' of {name} has no batch axis (shape {per_sample.shape})")
    with no_compute():
        out = info.function(*(_row_chunked(a, 2) for a in arrays), **options, reduction="none")
    assert out.ndim >= 1 and out.numblocks[0] == -(-arrays[0].shape[0] // 2), out.chunks


# --------------------------------------------------------------------------
# the three named losses, on arrays of many chunks with their main options
# --------------------------------------------------------------------------

N = 1000
ROWS = 37  # row chunk: does not divide N, so the last chunk is short


def _dask(a, row_chunk=ROWS, rest=None):
    chunks = (row_chunk, *(rest or a.shape[1:]))
    return da.from_array(a, chunks=chunks[: a.ndim])


def _check(fn, np_args, dask_args, **options):
    for reduction in options.pop("reductions", REDUCTIONS):
        with no_compute():
            out = fn(*dask_args, **options, reduction=reduction)
        _assert_lazy(out, fn.__name__, reduction)
        expected = np.asarray(fn(*np_args, **options, reduction=reduction))
        np.testing.assert_allclose(
            out.compute(), expected, rtol=1e-11, atol=1e-12, err_msg=f"{fn.__name__} {options} {reduction}"
        )


@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_binary_many_chunks(rng, weighted):
    p = rng.uniform(0.0, 1.0, N)
    p[:3] = [0.0, 1.0, 0.5]  # exercises the eps clip
    y = rng.integers(0, 2, N)
    w = rng.uniform(0.5, 2.0, N) if weighted else None
    _check(polyloss.log_loss, (p, y), (_dask(p), _dask(y)), sample_weight=w, reductions=("mean", "sum"))
    if weighted:  # sample_weight as a dask array of the same chunks
        for reduction in ("mean", "sum"):
            with no_compute():
                out = polyloss.log_loss(_dask(p), _dask(y), sample_weight=_dask(w), reduction=reduction)
            _assert_lazy(out, "log_loss", reduction)
            np.testing.assert_allclose(
                out.compute(), polyloss.log_loss(p, y, sample_weight=w, reduction=reduction), rtol=1e-11
            )


def test_log_loss_multiclass_many_chunks(rng):
    logits = rng.normal(size=(N, 4))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, N)
    # chunks of 2 along the class axis too: the row normalisation crosses chunks
    _check(polyloss.log_loss, (p, y), (_dask(p, rest=(2,)), _dask(y)), reductions=("mean", "sum"))
    w = rng.uniform(0.5, 2.0, N)
    _check(polyloss.log_loss, (p, y), (_dask(p, rest=(2,)), _dask(y)), sample_weight=w, reductions=("mean", "sum"))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight": [0.5, 1.0, 2.0, 1.5, 0.25]},
        {"ignore_index": 2},
        {"label_smoothing": 0.1},
        {"weight": [0.5, 1.0, 2.0, 1.5, 0.25], "ignore_index": -100, "label_smoothing": 0.2},
    ],
    ids=["plain", "weight", "ignore", "smoothing", "all"],
)
def test_cross_entropy_class_indices_many_chunks(rng, options):
    x = rng.normal(size=(N, 5))
    y = rng.integers(0, 5, N)
    y[::17] = -100  # ignored by default ignore_index
    if options.get("ignore_index", -100) != -100:
        y[y == -100] = options["ignore_index"]
    _check(polyloss.cross_entropy, (x, y), (_dask(x, rest=(2,)), _dask(y)), **options)


def test_cross_entropy_probability_targets_and_channel_last_many_chunks(rng):
    x = rng.normal(size=(N, 5))
    q = rng.uniform(size=(N, 5))
    q /= q.sum(axis=1, keepdims=True)
    _check(polyloss.cross_entropy, (x, q), (_dask(x, rest=(2,)), _dask(q, rest=(2,))), label_smoothing=0.1)
    # channel-last segmentation logits (B, H, W, C), class axis -1, chunks on B, H, W and C
    x4 = rng.normal(size=(8, 6, 5, 3))
    y4 = rng.integers(0, 3, (8, 6, 5))
    dx4 = da.from_array(x4, chunks=(3, 4, 2, 2))
    dy4 = da.from_array(y4, chunks=(3, 4, 2))
    _check(polyloss.cross_entropy, (x4, y4), (dx4, dy4), axis=-1, weight=[1.0, 2.0, 0.5])


@pytest.mark.parametrize(
    "options",
    [
        {"axis": None},
        {"axis": None, "activation": "sigmoid", "squared": True},
        {"axis": 1, "activation": "softmax"},
        {"axis": 1, "activation": "softmax", "batch": True, "include_background": False},
        {"axis": 1, "weight": [1.0, 2.0, 0.5], "smooth_nr": 0.0, "smooth_dr": 1e-5},
    ],
    ids=["binary", "sigmoid-squared", "softmax", "softmax-batch-nobg", "weighted"],
)
def test_dice_loss_many_chunks(rng, options):
    if options["axis"] is None:
        x = rng.uniform(size=(40, 12, 10)) if "activation" not in options else rng.normal(size=(40, 12, 10))
        t = (rng.uniform(size=x.shape) < 0.4).astype(np.float64)
        dx, dt = da.from_array(x, chunks=(7, 5, 4)), da.from_array(t, chunks=(7, 5, 4))
        _check(polyloss.dice_loss, (x, t), (dx, dt), **options)
        return
    x = rng.normal(size=(40, 3, 12, 10)) if "activation" in options else rng.uniform(size=(40, 3, 12, 10))
    labels = rng.integers(0, 3, (40, 12, 10))
    onehot = np.moveaxis(np.eye(3)[labels], -1, 1)
    dx = da.from_array(x, chunks=(7, 2, 5, 4))
    # an integer class map (one-hot inside the loss) and the equivalent one-hot target
    _check(polyloss.dice_loss, (x, labels), (dx, da.from_array(labels, chunks=(7, 5, 4))), **options)
    _check(polyloss.dice_loss, (x, onehot), (dx, da.from_array(onehot, chunks=(7, 2, 5, 4))), **options)


# --------------------------------------------------------------------------
# lazy value checks: out-of-range class indices give NaN instead of a compute
# --------------------------------------------------------------------------

def _class_index_target(info) -> int | None:
    """The position of the class-index argument of a loss with ``ignore_index=-100``
    (the first integer array after the input), or None."""
    if info.options.get("ignore_index", None) != -100:
        return None
    return next((i for i, a in enumerate(info.example.arrays) if i > 0 and a.integer), None)


CLASS_INDEX_LOSSES = [n for n in LOSSES if _class_index_target(REGISTRY[n]) is not None]


@pytest.mark.parametrize("name", CLASS_INDEX_LOSSES)
def test_out_of_range_class_index_is_nan_not_a_compute(name):
    info = REGISTRY[name]
    arrays, options = _np_example(info)
    options.pop("ignore_index", None)
    x, k = arrays[0], _class_index_target(info)
    axis = options.get("axis", 1) if x.ndim > 1 else 0

    def with_index(value):
        bad = arrays[k].copy()
        bad.reshape(-1)[0] = value
        return [*arrays[:k], bad, *arrays[k + 1:]]

    # one class index == C where the classes lie along the input's class axis, else one
    # beyond any number of classes (a loss whose classes are counted elsewhere)
    bad_arrays = with_index(x.shape[axis])
    try:
        info.function(*bad_arrays, **options)
    except ValueError:
        pass
    else:
        bad_arrays = with_index(10**6)
    with pytest.raises(ValueError):
        info.function(*bad_arrays, **options)  # eager NumPy: the value check raises
    with no_compute():
        out = info.function(*(_chunked(a) for a in bad_arrays), **options)  # lazy: no check, no compute
    assert np.isnan(out.compute()), f"{name} gave a finite value for an out-of-range class index"


# --------------------------------------------------------------------------
# memory: a reduction holds a few chunks, not the data
# --------------------------------------------------------------------------


def _peak_traced_bytes(out) -> int:
    """Peak of the memory traced while computing `out` (NumPy registers its buffers)."""
    tracemalloc.start()
    try:
        out.compute(scheduler="synchronous")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def _log_loss_peak(rows: int, chunk: int) -> int:
    # generated chunk by chunk: the data never exists in memory as a whole
    p = da.random.default_rng(0).uniform(0.0, 1.0, rows, chunks=chunk)
    y = (da.random.default_rng(1).uniform(0.0, 1.0, rows, chunks=chunk) < 0.5).astype(np.int64)
    out = polyloss.log_loss(p, y)
    peak = _peak_traced_bytes(out)
    assert 0.5 < float(out.compute()) < 1.5  # about 1 for uniform p
    return peak


def test_log_loss_memory_is_bounded_by_chunks_not_data():
    chunk = 50_000  # 400 kB of float64
    small = _log_loss_peak(20 * chunk, chunk)  # 8 MB per array
    large = _log_loss_peak(80 * chunk, chunk)  # 32 MB per array
    assert large < 20 * chunk * 8, f"peak {large / 1e6:.1f} MB for chunks of {chunk * 8 / 1e6:.1f} MB"
    assert large < 2 * small + 1_000_000, (small, large)  # 4x the data, about the same peak


CHUNK_ELEMENTS = 100_000  # 800 kB of float64 per input chunk


LARGEST_CHUNK_BYTES = 256_000_000  # 25 times all the data of the largest case below


def _largest_chunk(out) -> tuple[int, str]:
    """The most elements of one chunk of any array in the graph of `out`, and that array
    (from the layers' annotations; 0 where the installed dask has none)."""
    largest, where = 0, ""
    for name, layer in out.dask.layers.items():
        if name.startswith("slice_with_int_dask_array-"):
            continue  # a grid of (data block, index block) pairs, each holding at most one index block
        annotations = getattr(layer, "collection_annotations", None) or {}
        chunk = annotations.get("chunksize")
        if chunk is not None and math.prod(chunk) > largest:
            largest, where = math.prod(chunk), f"{name.rsplit('-', 1)[0]} of shape {annotations.get('shape')}"
    return largest, where


def _memory_growth(name, info, first, rows: int) -> tuple[list[int], list[int], float]:
    """Peaks of the mean over the example repeated to 3 and to 12 chunks of `rows` rows,
    the input sizes, and the growth of the peak relative to that of the input. A graph
    with a chunk beyond `LARGEST_CHUNK_BYTES` (a batch-by-batch matrix) fails before
    anything is computed."""
    peaks, sizes = [], []
    for n_chunks in (3, 12):
        arrays, options = _batched(info, -(-rows * n_chunks // first.shape[0]))
        out = info.function(*(_row_chunked(a, rows) for a in arrays), **options)
        elements, where = _largest_chunk(out)
        assert elements * 8 <= LARGEST_CHUNK_BYTES, (
            f"{name}: a chunk of {elements * 8 / 1e6:.0f} MB ({where}) for input chunks of "
            f"{rows * first[0].size * 8 / 1e6:.1f} MB: its memory is not bounded by the chunks"
        )
        peaks.append(_peak_traced_bytes(out))
        sizes.append(arrays[0].nbytes)
    return peaks, sizes, (peaks[1] - peaks[0]) / (sizes[1] - sizes[0])


@pytest.mark.parametrize("name", LOSSES)
def test_registry_loss_memory_does_not_grow_with_the_data(name):
    """The peak while computing the mean grows by far less than the data does.

    The example is repeated to 3 and to 12 row chunks of about 800 kB; a loss that
    holds the data (a broadcast to the full shape, a rechunk into one block) grows by
    about as much as the data (measured: growth 0.7-1.1), a block-wise one by < 0.15.
    A graph holding a chunk far larger than all the data fails without being computed.
    """
    info = REGISTRY[name]
    if not info.per_sample:
        pytest.skip(f"the terms of {name} compare the samples of a batch: its memory grows with it")
    base = _batched(info, 1)
    if base is None:
        pytest.skip(f"the example of {name} has no batch axis")
    first = base[0][0]
    peaks, sizes, growth = _memory_growth(name, info, first, max(1, CHUNK_ELEMENTS // first[0].size))
    assert growth < 0.25, (
        f"{name}: peak {peaks[0] / 1e6:.2f} -> {peaks[1] / 1e6:.2f} MB for input "
        f"{sizes[0] / 1e6:.2f} -> {sizes[1] / 1e6:.2f} MB (growth {growth:.2f} of the data)"
    )
