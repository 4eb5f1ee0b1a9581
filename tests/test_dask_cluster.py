"""Dask on a distributed cluster: losses over data larger than a worker's memory.

A ``LocalCluster`` of two single-threaded worker processes of 200 MiB each evaluates
``mse_loss`` and ``log_loss`` over about 400 MB of float64 data generated lazily, chunk
by chunk (8 MB chunks), from a fixed seed. The result must equal a reference computed
chunk by chunk in plain NumPy from the same generator with an independent formula, and
must still equal it when a worker process is killed in the middle of the computation
(the scheduler recomputes what was lost on the worker the nanny restarts).
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402

import polyloss  # noqa: E402

SEED = 20261129
ROWS = 1_000_000  # rows of a chunk: 8 MB of float64 per column
CHUNKS = 25  # mse_loss: 2 arrays x 25 chunks x 8 MB = 400 MB
CLASSES = 4  # log_loss: (rows, 4) probabilities = 32 MB chunks... see LL_ROWS
LL_ROWS = 250_000  # log_loss chunk: (250_000, 4) float64 = 8 MB
LL_CHUNKS = 48  # 48 x 8 MB = 384 MB of probabilities (+ 2 MB of labels per chunk)
RTOL = 1e-10  # chunked float64 sums in another order


# --------------------------------------------------------------------------
# the data: one NumPy generator per (seed, stream, chunk), used by dask and the reference
# --------------------------------------------------------------------------


def _rng(stream: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([SEED, stream, chunk])


def _mse_block(stream: int, chunk: int) -> np.ndarray:
    return _rng(stream, chunk).normal(size=ROWS)


def _probabilities_block(chunk: int) -> np.ndarray:
    p = _rng(2, chunk).random(size=(LL_ROWS, CLASSES)) + 1e-3
    p /= p.sum(axis=1, keepdims=True)
    return p


def _labels_block(chunk: int) -> np.ndarray:
    return _rng(3, chunk).integers(0, CLASSES, size=LL_ROWS)


def _lazy(make, chunks: int, rows: int, shape_rest: tuple[int, ...], dtype) -> da.Array:
    """A dask array whose block ``i`` is ``make(i)``; nothing is generated until computed."""
    blocks = [
        da.from_delayed(dask.delayed(make)(i), shape=(rows, *shape_rest), dtype=dtype) for i in range(chunks)
    ]
    return da.concatenate(blocks, axis=0)


def _mse_data() -> tuple[da.Array, da.Array]:
    x = _lazy(lambda i: _mse_block(0, i), CHUNKS, ROWS, (), np.float64)
    y = _lazy(lambda i: _mse_block(1, i), CHUNKS, ROWS, (), np.float64)
    return x, y


def _mse_reference() -> float:
    total = 0.0
    for i in range(CHUNKS):
        d = _mse_block(0, i) - _mse_block(1, i)
        total += float(np.dot(d, d))
    return total / (CHUNKS * ROWS)


def _log_loss_data() -> tuple[da.Array, da.Array]:
    p = _lazy(_probabilities_block, LL_CHUNKS, LL_ROWS, (CLASSES,), np.float64)
    y = _lazy(_labels_block, LL_CHUNKS, LL_ROWS, (), np.int64)
    return p, y


def _log_loss_reference() -> float:
    eps = np.finfo(np.float64).eps
    total = 0.0
    for i in range(LL_CHUNKS):
        p, y = _probabilities_block(i), _labels_block(i)
        total -= float(np.log(np.clip(p[np.arange(LL_ROWS), y], eps, 1 - eps)).sum())
    return total / (LL_CHUNKS * LL_ROWS)


# --------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="200MiB",
        dashboard_address=None,
        silence_logs=True,
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _data_bytes(*arrays: da.Array) -> int:
    return sum(a.nbytes for a in arrays)


def test_data_is_larger_than_a_worker(client):
    limits = [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]
    assert len(limits) == 2 and max(limits) <= 200 * 2**20
    assert _data_bytes(*_mse_data()) > 350e6 > 200 * 2**20
    assert _data_bytes(*_log_loss_data()) > 350e6


def test_mse_loss_on_cluster_matches_chunked_numpy(client):
    x, y = _mse_data()
    out = polyloss.mse_loss(x, y)
    assert isinstance(out, da.Array)
    value = client.compute(out).result()
    np.testing.assert_allclose(float(value), _mse_reference(), rtol=RTOL)


def test_log_loss_on_cluster_matches_chunked_numpy(client):
    p, y = _log_loss_data()
    out = polyloss.log_loss(p, y)
    assert isinstance(out, da.Array)
    value = client.compute(out).result()
    np.testing.assert_allclose(float(value), _log_loss_reference(), rtol=RTOL)


def _finished_tasks(dask_scheduler=None) -> int:
    return sum(ts.state == "memory" for ts in dask_scheduler.tasks.values())


def test_mse_loss_survives_a_killed_worker(client):
    client.wait_for_workers(2)
    pids = client.run(os.getpid)
    x, y = _mse_data()
    future = client.compute(polyloss.mse_loss(x, y))
    deadline = time.monotonic() + 30
    while client.run_on_scheduler(_finished_tasks) < 4:
        assert not future.done(), "the computation finished before a worker could be killed"
        assert time.monotonic() < deadline, "no task finished in 30 s"
        time.sleep(0.02)
    assert not future.done(), "the computation finished before a worker could be killed"
    pid = sorted(pids.items())[0][1]
    os.kill(pid, signal.SIGKILL)  # a worker process this test's cluster started
    value = future.result(timeout=60)
    np.testing.assert_allclose(float(value), _mse_reference(), rtol=RTOL)
    # the nanny restarted the killed worker: the cluster is whole again
    client.wait_for_workers(2, timeout=30)
    assert pid not in client.run(os.getpid).values()
