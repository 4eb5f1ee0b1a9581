"""polyloss against its peers: interleaved timings, peak memory and import time.

    python benchmarks/run.py            # the full run (about 5-8 minutes on 2 CPU cores)
    python benchmarks/run.py --quick    # small sizes and the segmentation cases (~1 minute)
    python benchmarks/run.py --only cross_entropy --backends torch
    python benchmarks/run.py --only ctc_loss --budget 0.2    # one brief sample per case

Each case times polyloss (A) and its peer (B) in the same process, interleaved
(A B, B A, A B, ...: the order alternates so neither side always runs on warm
caches), after warm-up calls (which also compile the ``jax.jit`` functions). A
sample is a block of calls long enough to be timed reliably; the reported ratio
is the median of the per-pair ratios A/B, and the times are the medians of
each side. Ratios below 1 mean polyloss is faster.

Also measured: peak extra memory of NumPy cross-entropy on 4096x32768 float32
(tracemalloc, in units of the logits' size) and ``import polyloss`` time (a fresh
interpreter, median of 5).

Results: a table on stdout, the full record in ``benchmarks/results/<stamp>.json``
(git-ignored) and, for full runs (or with ``--summary``), the committed summary
``benchmarks/cpu-results.json`` that the docs plot: ``{"metadata": {...},
"results": [{case, backend, peer, size, mode, ratio, polyloss_us, peer_us,
target, meets, match}, ...], "memory": [...], "import": {...}}``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _pin_threads(n: int) -> None:
    """One fixed thread count for every library, set before any of them is imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    if n == 1:
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------


def _block(fn, k: int) -> float:
    """Seconds per call over `k` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(k):
        fn()
    return (time.perf_counter() - t0) / k


def compare(a, b, *, budget_s: float, min_pairs: int, max_pairs: int, block_s: float):
    """Median ratio a/b over interleaved pairs, and the median time of each side (µs)."""
    for _ in range(2):  # warm-up (and jit compilation)
        a()
        b()
    once = max(min(_block(a, 1), _block(b, 1)), 1e-7)
    k = max(1, int(block_s / once))
    ratios, ta, tb = [], [], []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for i in range(max_pairs):
            if i % 2 == 0:
                x = _block(a, k)
                y = _block(b, k)
            else:
                y = _block(b, k)
                x = _block(a, k)
            ta.append(x)
            tb.append(y)
            ratios.append(x / y)
            if i + 1 >= min_pairs and time.perf_counter() - start > budget_s:
                break
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(ratios), statistics.median(ta) * 1e6, statistics.median(tb) * 1e6, len(ratios)


# --------------------------------------------------------------------------
# targets (issues 5, 12, 13)
# --------------------------------------------------------------------------


def target_for(case) -> float | None:
    """The largest acceptable ratio: the case's own (issues 12 and 13 name them), else
    issue 5's rules."""
    if getattr(case, "target", None) is not None:
        return case.target
    if case.backend == "torch":
        if case.peer.startswith("F."):
            return 1.25 if case.size == "small" else 1.10
        if case.peer.startswith("monai"):
            return 0.67
        if case.peer.startswith("torchvision"):
            return 1.0
    if case.backend == "jax":
        if case.loss == "cross_entropy":
            return 1.10
        if case.loss == "sigmoid_focal_loss" and case.mode == "fwd+bwd":
            return 1.10
    if case.backend == "numpy":
        return 0.2 if case.loss == "log_loss" else 1.10
    return None


# --------------------------------------------------------------------------
# memory and import time
# --------------------------------------------------------------------------


def peak_memory_numpy_ce() -> list[dict]:
    """Peak extra memory of NumPy CE on 4096x32768 float32, in units of the logits."""
    import tracemalloc

    import numpy as np
    from cases import _labels, _logits, numpy_ce

    import polyloss

    x, t = _logits("llm"), _labels("llm")
    rows = []
    contenders = [("hand-written NumPy", lambda: numpy_ce(x, t))]
    if hasattr(polyloss, "cross_entropy"):
        contenders.insert(0, ("polyloss.cross_entropy", lambda: polyloss.cross_entropy(x, t)))
    for name, fn in contenders:
        fn()
        gc.collect()
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append({"case": "cross_entropy", "backend": "numpy", "who": name,
                     "size": "4096x32768", "dtype": "float32",
                     "peak_extra_bytes": peak, "peak_in_inputs": peak / x.nbytes,
                     "target": 2.0 if name.startswith("polyloss") else None})
    del np
    return rows


def import_time(repeats: int = 5) -> dict:
    code = ("import sys, time; t = time.perf_counter(); import polyloss; "
            "dt = time.perf_counter() - t; "
            "heavy = sorted(m for m in ('numpy', 'torch', 'jax') if m in sys.modules); "
            "print(dt, ','.join(heavy))")
    times, heavy = [], ""
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        dt, _, heavy = out.stdout.strip().partition(" ")
        times.append(float(dt))
    return {"import_polyloss_ms": statistics.median(times) * 1e3, "array_libraries_imported": heavy}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def _versions() -> dict:
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for dist in ("polyloss", "array-api-compat", "numpy", "torch", "jax", "jaxlib", "optax",
                 "monai", "scikit-learn"):
        try:
            found[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small and segmentation sizes only, short budgets")
    parser.add_argument("--backends", default="torch,jax,numpy")
    parser.add_argument("--only", default="", help="comma-separated substrings of the case names to run")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch/XLA/BLAS (default 1)")
    parser.add_argument("--summary", action="store_true",
                        help="write benchmarks/cpu-results.json (full runs always do)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timed pairs per case (at least 3 pairs), to run cases briefly")
    args = parser.parse_args(argv)

    _pin_threads(args.threads)
    sys.path.insert(0, str(HERE))
    import cases as case_module

    backends = tuple(b.strip() for b in args.backends.split(","))
    if "torch" in backends:
        import torch

        torch.set_num_threads(args.threads)
    if "jax" in backends:
        import jax

        jax.config.update("jax_platforms", "cpu")

    todo = case_module.all_cases(backends)
    if args.quick:
        todo = [c for c in todo if "quick" in c.tags]
    if args.only:
        wanted = [s.strip() for s in args.only.split(",")]
        todo = [c for c in todo if any(w in c.name for w in wanted)]

    results = []
    started = time.perf_counter()
    header = f"{'backend':6} {'loss':42} {'peer':46} {'size':14} {'mode':7} {'ratio':>6} {'poly µs':>10} {'peer µs':>10} {'target':>6}"
    print(header)
    print("-" * len(header))
    for case in todo:
        big = case.size in ("llm", "log_loss", "llm-large") or (case.size == "large" and case.mode == "fwd+bwd")
        huge = case.size == "llm-large"  # seconds per call, GBs of memory: 3 pairs
        try:
            poly, peer, check = case.make()
            pv, qv = check()
        except case_module.Skip as e:
            print(f"{case.backend:6} {case.loss:42} {case.peer:46} {case_module.size_label(case.size):14} {case.mode:7}   skip: {e}")
            continue
        match = abs(pv - qv) <= 1e-4 * max(1.0, abs(qv))
        budget = (0.4 if args.quick else 1.5) * (2 if big else 1)
        min_pairs, max_pairs = (3, 3) if huge else (3, 7) if big else (7, 41)
        if args.budget is not None:
            budget, min_pairs = args.budget, 3
        ratio, tp, tq, n = compare(poly, peer, budget_s=budget, min_pairs=min_pairs,
                                   max_pairs=max_pairs, block_s=0.002 if args.quick else 0.005)
        target = target_for(case)
        meets = None if target is None else ratio <= target
        flag = "" if meets is None else (" ok" if meets else " MISS")
        note = "" if match else f"  (values differ: {pv:.6g} vs {qv:.6g})"
        print(f"{case.backend:6} {case.loss:42} {case.peer:46} {case_module.size_label(case.size):14} {case.mode:7} "
              f"{ratio:6.2f} {tp:10.1f} {tq:10.1f} {'' if target is None else target:>6}{flag}{note}", flush=True)
        results.append({"case": case.loss, "backend": case.backend, "peer": case.peer,
                        "size": case_module.size_label(case.size), "mode": case.mode,
                        "ratio": round(ratio, 4), "polyloss_us": round(tp, 2), "peer_us": round(tq, 2),
                        "pairs": n, "target": target, "meets": meets, "match": match,
                        "polyloss_value": pv, "peer_value": qv})
        del poly, peer, check
        gc.collect()

    memory = [] if (args.quick or args.no_memory or "numpy" not in backends) else peak_memory_numpy_ce()
    for row in memory:
        print(f"peak extra memory, {row['who']} CE {row['size']} float32: "
              f"{row['peak_in_inputs']:.2f} x the logits" + (f" (target <= {row['target']})" if row["target"] else ""))
    imp = import_time(3 if args.quick else 5)
    print(f"import polyloss: {imp['import_polyloss_ms']:.1f} ms; array libraries imported: "
          f"{imp['array_libraries_imported'] or 'none'}")
    elapsed = time.perf_counter() - started
    missed = [r for r in results if r["meets"] is False]
    print(f"\n{len(results)} cases in {elapsed:.0f} s; {len(missed)} miss their target")

    import numpy as np

    record = {
        "metadata": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                        "cpus": os.cpu_count(), "threads": args.threads},
            "versions": _versions(),
            "quick": args.quick,
            "method": "interleaved pairs (order alternating), median of per-pair ratios polyloss/peer; "
                      "fwd+bwd = torch.autograd.grad / jax.jit(jax.grad)",
            "numpy_blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        },
        "results": results,
        "memory": memory,
        "import": imp,
    }
    del np
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{stamp}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"wrote {path.relative_to(HERE.parent)}")
    if (not args.quick and not args.only) or args.summary:
        summary = HERE / "cpu-results.json"
        summary.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {summary.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
