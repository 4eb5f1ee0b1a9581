"""``python -m polyloss``: the cross-backend self-check.

Lists the installed backends and devices, evaluates every registered loss on every
backend on its fixed example, and prints the values with the largest relative
deviation from the float64 NumPy result. Exits with status 1 on a disagreement.
``--device cuda`` runs the torch and CuPy columns on a GPU; ``--bench`` adds
timings against the native torch.nn.functional peers.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import sys
import time
from collections.abc import Sequence
from typing import Any

from ._backends import Backend, all_backends
from ._registry import REGISTRY, LossInfo, ordered_losses

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}


def _versions() -> list[str]:
    found = []
    for dist in ("numpy", "torch", "jax", "cupy", "dask", "array-api-strict", "array-api-compat"):
        try:
            found.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def _devices() -> list[str]:
    devices = ["cpu"]
    try:
        import torch

        devices += [f"torch cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    try:
        import jax

        devices += [f"jax {d}" for d in jax.devices() if d.platform != "cpu"]
    except ImportError:
        pass
    return devices


def _backends(device: str) -> list[Backend]:
    found = all_backends()
    if device == "cuda":
        found = [b for b in found if b.device == "cuda" or b.library in ("cupy", "numpy")]
        if importlib.util.find_spec("jax") is not None:
            import jax

            if any(d.platform == "gpu" for d in jax.devices()):
                found += [Backend("jax-gpu-float32", "jax", "float32")]
        if len(found) == sum(b.library == "numpy" for b in found):
            print("no CUDA device found: only the NumPy reference columns are checked")
    return found


def _evaluate(info: LossInfo, backend: Backend) -> float:
    return float(backend.to_numpy(info.function(*backend.example(info), **info.example.options)))


def _short(name: str) -> str:
    return name.replace("float", "f").replace("-device1", "@dev1")


def check(backends: Sequence[Backend], out: Any = sys.stdout) -> bool:
    """Print the table of every loss on every backend; True when all agree."""
    reference = Backend("numpy-float64", "numpy", "float64")
    names = [_short(b.name) for b in backends]
    width = max(11, *(len(n) for n in names))
    print(f"{'loss':<33}" + "".join(f"{n:>{width + 1}}" for n in names) + f"{'max rel dev':>13}  ok", file=out)
    all_ok = True
    for info in ordered_losses():
        name = info.name
        expected = _evaluate(info, reference)
        cells, worst, ok = [], 0.0, True
        for backend in backends:
            try:
                value = _evaluate(info, backend)
            except Exception as exc:  # a backend failing is a disagreement, shown, not raised
                cells.append(f"{type(exc).__name__:>{width}}")
                ok = False
                continue
            deviation = abs(value - expected) / max(abs(expected), 1e-30)
            worst = max(worst, deviation)
            ok &= deviation <= TOLERANCE.get(backend.dtype, 1e-5)
            cells.append(f"{value:>{width}.7g}")
        all_ok &= ok
        print(f"{name:<33}" + "".join(f" {c}" for c in cells) + f"{worst:>13.2e}  {'PASS' if ok else 'FAIL'}", file=out)
    return all_ok


def bench(backends: Sequence[Backend], repeats: int = 200, out: Any = sys.stdout) -> None:
    """Time polyloss against its torch.nn.functional peer on each torch backend (interleaved)."""
    for backend in (b for b in backends if b.library == "torch"):
        print(f"\n{backend.name}: polyloss / torch.nn.functional (median of interleaved pairs, fwd)", file=out)
        for info in ordered_losses():
            name = info.name
            names = [p.name for p in info.peers if p.name.startswith("torch.nn.functional.")]
            if not names:
                continue
            module, _, attr = names[0].rpartition(".")
            peer = getattr(importlib.import_module(module), attr)
            arrays = backend.example(info)
            options = {  # the peer takes array options as tensors of the backend
                k: backend.asarray(v) if isinstance(v, (list, tuple)) else v
                for k, v in info.example.options.items()
            }
            try:
                peer(*arrays, **options)
            except TypeError:
                continue  # the peer spells this option differently: left to benchmarks/
            ratios = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                info.function(*arrays, **options)
                t1 = time.perf_counter()
                peer(*arrays, **options)
                t2 = time.perf_counter()
                ratios.append((t1 - t0) / max(t2 - t1, 1e-9))
            ratios.sort()
            print(f"  {name:<32} {ratios[len(ratios) // 2]:6.2f}x", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polyloss", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--bench", action="store_true", help="add timings against torch.nn.functional")
    args = parser.parse_args(argv)

    from ._backends import JAX_X64

    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", JAX_X64)
    backends = _backends(args.device)
    print("polyloss self-check")
    print("installed: " + ", ".join(_versions()))
    print("devices:   " + ", ".join(_devices()))
    print(f"backends:  {', '.join(b.name for b in backends)}")
    print(f"losses:    {len(REGISTRY)}\n")
    ok = check(backends)
    if args.bench:
        bench(backends)
    print("\nall backends agree" if ok else "\nDISAGREEMENT: see the FAIL rows above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
