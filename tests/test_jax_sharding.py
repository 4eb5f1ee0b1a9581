"""JAX sharding: losses of arrays sharded over a device mesh, under ``jax.jit``.

XLA fixes its device count when JAX is first imported, so the checks run in a child
process started with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (this file
is its script: ``python tests/test_jax_sharding.py`` prints JSON records). The pytest
tests below start the child once per module and assert on its records, so the file
runs in any session where JAX is installed (``tests-jax``, ``tests-jax-x32``) with no
special flags.

For every registered loss (its example repeated along the batch axis to a multiple of
8) and every reduction, the child checks, on 8 CPU devices with the batch axis sharded:

- the jitted value equals the float64 NumPy value of the unsharded data;
- the gradient (``mean`` and ``sum``) equals the unsharded gradient, keeps the input's
  sharding, and the compiled program holds no all-gather (nothing is collected on one
  device: partial results are combined with all-reduce).

Named 2-D-mesh cases shard the batch over 4 devices and a spatial axis over 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

N_DEVICES = 8
X64 = os.environ.get("POLYLOSS_JAX_X64", "1") != "0"


# --------------------------------------------------------------------------
# the child process
# --------------------------------------------------------------------------


def _batched(info, factor: int):
    """The example arrays of `info` repeated `factor` times along the batch axis (axis 0).

    Every array shares the batch axis of the first (a 0-d one is kept as it is, beside a
    1-D first array); options of the first array's shape (element weights) and
    ``sample_weight`` are repeated with it; per-class options are kept.
    """
    from backends import example_numpy

    arrays, options = example_numpy(info), dict(info.example.options)
    x = arrays[0]
    if x.ndim == 0 or any((a.ndim == 0 and x.ndim > 1) or (a.ndim and a.shape[0] != x.shape[0])
                          for a in arrays[1:]):
        return arrays, options, False  # no common batch axis (an unbatched example)
    reps = lambda a: np.concatenate([a] * factor, axis=0)  # noqa: E731
    for key, value in options.items():
        if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) >= 1:
            if np.shape(value) == x.shape or key == "sample_weight":
                options[key] = reps(np.asarray(value, dtype=np.float64))
    return [reps(a) if a.ndim else a for a in arrays], options, True


def _child() -> None:  # pragma: no cover - runs in the subprocess
    import functools

    import jax

    jax.config.update("jax_enable_x64", X64)
    import jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    import polyloss
    from polyloss import REGISTRY

    devices = jax.devices()
    assert len(devices) == N_DEVICES, f"expected {N_DEVICES} CPU devices, got {len(devices)}"
    dtype = jnp.float64 if X64 else jnp.float32
    records = []

    def compiled(fn, *args):
        """The compiled program (called below) and its count of all-gather ops."""
        program = jax.jit(fn).lower(*args).compile()
        return program, program.as_text().count("all-gather")

    def on_device(a, spec=None, mesh=None):
        """A NumPy array as a JAX array (sharded by `spec` over `mesh`, or on one device)."""
        a_dtype = (jnp.int32 if not X64 else a.dtype) if a.dtype.kind in "iub" else dtype
        out = jnp.asarray(a, dtype=a_dtype)
        return out if spec is None else jax.device_put(out, NamedSharding(mesh, spec))

    def check(case, fn, arrays, options, specs, mesh, reductions):
        """`fn` of the sharded `arrays` (one spec each) under jit; the gradient is that of
        the first floating array, its sharding that array's."""
        sharded = [on_device(a, spec, mesh) for a, spec in zip(arrays, specs, strict=True)]
        single = [on_device(a) for a in arrays]  # one device
        k = next((i for i, a in enumerate(arrays) if a.dtype.kind == "f"), None)
        for reduction in reductions:
            loss = functools.partial(fn, **options, reduction=reduction)
            program, gathers = compiled(loss, *sharded)
            out = program(*sharded)
            ref = np.asarray(fn(*arrays, **options, reduction=reduction))
            error = np.abs(np.asarray(out, dtype=np.float64) - ref) / (np.abs(ref) + 1e-30)
            rec = {
                "case": case,
                "reduction": reduction,
                "n_shards": len(sharded[0].sharding.device_set),
                "value_error": float(np.max(error)) if ref.size else 0.0,
                "value_all_gathers": gathers,
            }
            if reduction in ("mean", "sum", "batchmean") and k is not None:
                grad_fn = jax.grad(loss, argnums=k)
                program, gathers = compiled(grad_fn, *sharded)
                grad = program(*sharded)
                grad1 = jax.jit(grad_fn)(*single)
                scale = float(np.max(np.abs(np.asarray(grad1)))) or 1.0
                xs = sharded[k]
                rec.update(
                    grad_error=float(np.max(np.abs(np.asarray(grad) - np.asarray(grad1)))) / scale,
                    grad_keeps_sharding=bool(grad.sharding.is_equivalent_to(xs.sharding, xs.ndim)),
                    grad_sharding=str(getattr(grad.sharding, "spec", grad.sharding)),
                    input_sharding=str(specs[k]),
                    grad_all_gathers=gathers,
                    grad_shards=len(grad.sharding.device_set),
                )
            records.append(rec)

    mesh1 = Mesh(np.array(devices), ("data",))
    for name in sorted(REGISTRY):
        info = REGISTRY[name]
        if not info.per_sample:
            records.append({"case": name, "skipped": "its terms compare the samples of a batch"})
            continue
        arrays, options, batched = _batched(info, N_DEVICES)
        if not batched:
            records.append({"case": name, "skipped": "example has no batch axis"})
            continue
        specs = [P("data", *([None] * (a.ndim - 1))) if a.ndim else P() for a in arrays]
        try:
            # "sum" is "mean" times a constant: "mean" and "none" (and "batchmean") suffice
            reductions = tuple(r for r in info.reductions if r != "sum")
            check(name, info.function, arrays, options, specs, mesh1, reductions)
        except Exception as exc:  # reported as a failure of this loss, not of the whole run
            records.append({"case": name, "error": f"{type(exc).__name__}: {exc}"})

    # 2-D mesh: batch over 4 devices, a spatial axis over 2 (spatial partitioning)
    mesh2 = Mesh(np.array(devices).reshape(4, 2), ("data", "space"))
    rng = np.random.default_rng(0)
    named = []
    if hasattr(polyloss, "cross_entropy"):
        x = rng.normal(size=(8, 5, 4, 6))
        t = rng.integers(0, 5, (8, 4, 6))
        named.append(("cross_entropy-2d-mesh", polyloss.cross_entropy, x, t,
                      {"weight": [1.0, 2.0, 0.5, 1.0, 1.5], "label_smoothing": 0.1},
                      P("data", None, "space", None), P("data", "space", None)))
    if hasattr(polyloss, "dice_loss"):
        x = rng.normal(size=(8, 3, 4, 6))
        t = rng.integers(0, 3, (8, 4, 6))
        named.append(("dice_loss-2d-mesh", polyloss.dice_loss, x, t, {"axis": 1, "activation": "softmax"},
                      P("data", None, "space", None), P("data", "space", None)))
    if hasattr(polyloss, "log_loss"):
        p = rng.uniform(0.05, 0.95, size=(64,))
        named.append(("log_loss-1d-mesh", polyloss.log_loss, p, rng.integers(0, 2, 64), {}, P("data"), P("data")))
    x = rng.normal(size=(8, 6))
    named.append(("mse_loss-2d-mesh", polyloss.mse_loss, x, rng.normal(size=(8, 6)), {"weight": np.abs(x)},
                  P("data", "space"), P("data", "space")))
    for case, fn, x, t, options, x_spec, t_spec in named:
        mesh = mesh1 if case.endswith("1d-mesh") else mesh2
        reductions = ("mean", "sum") if fn.__name__ == "log_loss" else ("mean", "sum", "none")
        try:
            check(case, fn, [x, t], options, [x_spec, t_spec], mesh, reductions)
        except Exception as exc:
            records.append({"case": case, "error": f"{type(exc).__name__}: {exc}"})
    print("RECORDS=" + json.dumps(records))


if __name__ == "__main__":
    _child()
    sys.exit(0)


# --------------------------------------------------------------------------
# the tests (parent process)
# --------------------------------------------------------------------------

import pytest  # noqa: E402

pytest.importorskip("jax")

from polyloss import REGISTRY  # noqa: E402

TOL = 1e-12 if X64 else 2e-5


@pytest.fixture(scope="module")
def records() -> dict[str, list[dict]]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={N_DEVICES}").strip()
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"the sharding child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RECORDS="))
    by_case: dict[str, list[dict]] = {}
    for rec in json.loads(line[len("RECORDS="):]):
        by_case.setdefault(rec["case"], []).append(rec)
    return by_case


def _assert_records(recs: list[dict], case: str) -> None:
    assert recs, f"no sharding record for {case}"
    for rec in recs:
        if "skipped" in rec:
            pytest.skip(rec["skipped"])
        assert "error" not in rec, f"{case}: {rec['error']}"
        where = f"{case} reduction={rec['reduction']}"
        assert rec["value_error"] <= TOL * 10, f"{where}: sharded value differs by {rec['value_error']:.3g} (relative)"
        if "grad_error" in rec:
            assert rec["grad_error"] <= TOL * 10, f"{where}: sharded gradient differs by {rec['grad_error']:.3g}"
            assert rec["grad_keeps_sharding"], (
                f"{where}: gradient sharding {rec['grad_sharding']} is not the input's {rec['input_sharding']}"
            )
            assert rec["grad_shards"] == rec["n_shards"] > 1
            assert rec["grad_all_gathers"] == 0, f"{where}: the gradient program gathers ({rec['grad_all_gathers']} all-gather)"
        assert rec["value_all_gathers"] == 0, f"{where}: the loss program gathers ({rec['value_all_gathers']} all-gather)"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_sharded_loss_equals_unsharded_and_gradient_keeps_sharding(records, name):
    _assert_records(records.get(name, []), name)


@pytest.mark.parametrize(
    "case", ["cross_entropy-2d-mesh", "dice_loss-2d-mesh", "log_loss-1d-mesh", "mse_loss-2d-mesh"]
)
def test_named_losses_on_2d_mesh(records, case):
    _assert_records(records.get(case, []), case)
