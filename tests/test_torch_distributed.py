"""torch.distributed: combining per-rank losses into the global loss (gloo, 2 CPU processes).

What ``docs/scale.rst`` states, checked on two processes started with
``torch.multiprocessing.spawn`` and the gloo backend:

- with equal shards and an unweighted mean, the per-rank ``"mean"`` averaged with
  ``all_reduce`` is the global mean, and so are the averaged gradients (what
  ``DistributedDataParallel`` does);
- with class weights, ``ignore_index``, sample weights or unequal shards the mean of
  the per-rank means is *not* the global mean; ``reduction="sum"`` plus the total
  weight, both summed with ``all_reduce``, gives the exact global weighted mean, and
  dividing each rank's sum by the global total weight gives the exact global gradient.

Each rank writes its results to a file; the parent compares them with the float64
NumPy loss of the whole data, computed in one process.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

import polyloss  # noqa: E402

WORLD = 2
N, D, C = 24, 3, 4
IGNORE = -100
CLASS_WEIGHT = [0.5, 2.0, 1.0, 3.0]
SPLIT = (9, 15)  # unequal shards for the weighted cases


def _data():
    rng = np.random.default_rng(7)
    features = rng.normal(size=(N, D))
    w = rng.normal(size=(D, C))
    target = rng.integers(0, C, N)
    target[[2, 5, 11, 19]] = IGNORE
    labels = rng.integers(0, 2, N)
    proba = rng.uniform(0.05, 0.95, N)
    sample_weight = rng.uniform(0.1, 3.0, N)
    return features, w, target, labels, proba, sample_weight


def global_weighted_ce(logits, target, class_weight, ignore_index=-100):
    """The exact global weighted mean of cross_entropy over all ranks, and a local
    loss whose gradient, averaged over ranks (as DDP does), is its gradient.

    Verbatim the recipe of docs/scale.rst.
    """
    local_sum = polyloss.cross_entropy(logits, target, weight=class_weight,
                                       ignore_index=ignore_index, reduction="sum")
    kept = target != ignore_index
    # the divisor of the weighted mean: the class weights of the targets that count
    local_total = torch.where(kept, class_weight[torch.where(kept, target, 0)], 0.0).sum()

    total = local_total.detach().clone()
    dist.all_reduce(total)                        # global total weight
    summed = local_sum.detach().clone()
    dist.all_reduce(summed)                       # global weighted sum
    global_mean = summed / total                  # exact, for logging

    # backward this: DDP averages gradients over the world, so scale by its size
    local_loss = local_sum * dist.get_world_size() / total
    return global_mean, local_loss


def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:  # pragma: no cover - child
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        features, w0, target, labels, proba, sample_weight = (torch.asarray(a) for a in _data())
        cw = torch.asarray(CLASS_WEIGHT, dtype=torch.float64)
        out = {}

        # 1. equal shards, unweighted mean: average of the per-rank means (DDP)
        rows = slice(rank * N // world, (rank + 1) * N // world)
        w = w0.clone().requires_grad_(True)
        x, t = features[rows], torch.where(target[rows] == IGNORE, 0, target[rows])  # every row counts
        local = polyloss.cross_entropy(x @ w, t)
        local.backward()
        value = local.detach().clone()
        dist.all_reduce(value)
        dist.all_reduce(w.grad)
        out["equal_mean"] = value / world
        out["equal_grad"] = w.grad / world

        # 2. unequal shards, class weights and ignored targets: sum + total weight
        rows = slice(0, SPLIT[0]) if rank == 0 else slice(SPLIT[0], N)
        w = w0.clone().requires_grad_(True)
        x, t = features[rows], target[rows]
        global_mean, local_loss = global_weighted_ce(x @ w, t, cw)
        local_loss.backward()
        dist.all_reduce(w.grad)
        w.grad /= world  # what DistributedDataParallel does
        local_mean = polyloss.cross_entropy(x @ w, t, weight=cw).detach().clone()
        dist.all_reduce(local_mean)
        out["weighted_mean"] = global_mean
        out["weighted_grad"] = w.grad
        out["weighted_mean_of_means"] = local_mean / world

        # 3. log_loss with sample weights, unequal shards: sum + total sample weight
        p, y, s = proba[rows], labels[rows], sample_weight[rows]
        pair = torch.stack([polyloss.log_loss(p, y, sample_weight=s, reduction="sum"), torch.sum(s)])
        dist.all_reduce(pair)
        out["log_loss"] = pair[0] / pair[1]

        # 4. unweighted mse on unequal shards: the mean of means is wrong, sum + count exact
        pred, truth = features[rows, 0], features[rows, 1]
        pair = torch.stack([polyloss.mse_loss(pred, truth, reduction="sum"),
                            torch.tensor(float(pred.shape[0]), dtype=torch.float64)])
        mean = polyloss.mse_loss(pred, truth).clone()
        dist.all_reduce(pair)
        dist.all_reduce(mean)
        out["mse"] = pair[0] / pair[1]
        out["mse_mean_of_means"] = mean / world

        torch.save(out, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def results():
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.join(tmp, "init")
        mp.spawn(_worker, args=(WORLD, init_file, tmp), nprocs=WORLD, join=True)
        return [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(WORLD)]


def _global_reference():
    features, w, target, labels, proba, sample_weight = _data()
    return features, w, target, labels, proba, sample_weight


def test_ranks_agree(results):
    for key in ("equal_mean", "weighted_mean", "log_loss", "mse"):
        torch.testing.assert_close(results[0][key], results[1][key], rtol=0, atol=0)


def test_average_of_rank_means_is_the_global_mean_for_equal_shards(results):
    features, w, target, *_ = _global_reference()
    x, t = features, np.where(target == IGNORE, 0, target)
    expected = polyloss.cross_entropy(x @ w, t)
    np.testing.assert_allclose(results[0]["equal_mean"].numpy(), expected, rtol=1e-12)
    # the gradient of the global mean with respect to the replicated weights, in float64 torch
    wt = torch.asarray(w).requires_grad_(True)
    polyloss.cross_entropy(torch.asarray(x) @ wt, torch.asarray(t)).backward()
    np.testing.assert_allclose(results[0]["equal_grad"].numpy(), wt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_sum_and_total_weight_give_the_exact_weighted_mean(results):
    features, w, target, *_ = _global_reference()
    expected = polyloss.cross_entropy(features @ w, target, weight=CLASS_WEIGHT)
    np.testing.assert_allclose(results[0]["weighted_mean"].numpy(), expected, rtol=1e-12)
    # the naive average of the per-rank means is a different number
    assert abs(float(results[0]["weighted_mean_of_means"]) - float(expected)) > 1e-3
    wt = torch.asarray(w).requires_grad_(True)
    polyloss.cross_entropy(torch.asarray(features) @ wt, torch.asarray(target), weight=CLASS_WEIGHT).backward()
    for rank in range(WORLD):
        np.testing.assert_allclose(results[rank]["weighted_grad"].numpy(), wt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_log_loss_with_sample_weight_across_ranks(results):
    _, _, _, labels, proba, sample_weight = _global_reference()
    expected = polyloss.log_loss(proba, labels, sample_weight=sample_weight)
    np.testing.assert_allclose(results[0]["log_loss"].numpy(), expected, rtol=1e-12)
    sklearn = pytest.importorskip("sklearn.metrics")
    np.testing.assert_allclose(
        results[0]["log_loss"].numpy(), sklearn.log_loss(labels, proba, sample_weight=sample_weight), rtol=1e-12
    )


def test_unequal_shards_need_sum_and_count(results):
    features, *_ = _global_reference()
    expected = polyloss.mse_loss(features[:, 0], features[:, 1])
    np.testing.assert_allclose(results[0]["mse"].numpy(), expected, rtol=1e-12)
    assert abs(float(results[0]["mse_mean_of_means"]) - float(expected)) > 1e-3
