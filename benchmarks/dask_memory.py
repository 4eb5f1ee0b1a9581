"""Peak memory of ``polyloss.log_loss`` on Dask arrays: bounded by the chunks, not the data.

    python benchmarks/dask_memory.py                      # CI size: 2e6 rows (~20 s)
    python benchmarks/dask_memory.py --rows 100000000     # the documented run: 1e8 rows
    python benchmarks/dask_memory.py --rows 1e8 --chunks 1e6,4e6 --json out.json

The data are never in memory as a whole: probabilities ``p ~ U(0, 1)`` and labels
``y ~ Bernoulli(p)`` are generated chunk by chunk by ``dask.array.random`` (so the
expected log loss is exactly 0.5), and ``polyloss.log_loss(p, y)`` builds a lazy
graph that Dask evaluates chunk by chunk.

Every configuration runs in a fresh interpreter. After the imports and the graph are
built, the peak resident set size is reset (``/proc/self/clear_refs``; without it,
``ru_maxrss`` after the imports is the baseline); the figure reported is the peak RSS
during ``compute()`` above the RSS before it. Two sweeps:

- chunk size at the largest row count: the peak follows the chunk size;
- row count at the smallest chunk size: the peak stays flat while the data grow.

Exit status 1 when the largest run at the smallest chunk size (at least 50 chunks)
peaks above half the size of its data: the memory is then not bounded by the chunks.

With ``--numpy`` a last row gives the same loss on NumPy arrays held in memory (at
most 2e7 rows), whose peak grows with the data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from rss import reset_peak, status

MB = 1024 * 1024


def _peak() -> int:
    hwm = status("VmHWM")
    return hwm or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(rows: int, chunk: int, scheduler: str, workers: int, numpy_mode: bool) -> dict:
    import numpy as np

    import polyloss

    if numpy_mode:
        rng = np.random.default_rng(0)
        before = status("VmRSS")
        reset_peak()
        t0 = time.perf_counter()
        p = rng.uniform(0.0, 1.0, rows)
        y = (rng.uniform(0.0, 1.0, rows) < p).astype(np.int8)
        value = float(polyloss.log_loss(p, y))
        seconds = time.perf_counter() - t0
        data = p.nbytes + y.nbytes
    else:
        import dask
        import dask.array as da

        p = da.random.default_rng(0).uniform(0.0, 1.0, rows, chunks=chunk)
        y = (da.random.default_rng(1).uniform(0.0, 1.0, rows, chunks=chunk) < p).astype(np.int8)
        out = polyloss.log_loss(p, y)
        assert isinstance(out, da.Array), type(out)
        data = p.nbytes + y.nbytes
        with dask.config.set(scheduler=scheduler, num_workers=workers):
            before = status("VmRSS")
            reset = reset_peak()
            t0 = time.perf_counter()
            value = float(out.compute())
            seconds = time.perf_counter() - t0
        if not reset:
            before = 0  # ru_maxrss includes the imports: report the absolute peak
    peak = _peak()
    return {
        "engine": "numpy" if numpy_mode else f"dask-{scheduler}",
        "rows": rows,
        "chunk_rows": None if numpy_mode else chunk,
        "chunk_mb": None if numpy_mode else chunk * 9 / MB,  # float64 p + int8 y per row
        "data_mb": data / MB,
        "peak_mb": (peak - before) / MB,
        "seconds": seconds,
        "log_loss": value,
    }


def run(rows: int, chunk: int, args: argparse.Namespace, numpy_mode: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--_child", str(rows), str(chunk), args.scheduler, str(args.workers)]
    if numpy_mode:
        cmd.append("--_numpy")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {' '.join(cmd)}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _int(text: str) -> int:
    return int(float(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=_int, default=2_000_000,
                        help="the largest row count (default 2e6; the documented run is 1e8)")
    parser.add_argument("--chunks", default=None,
                        help="comma-separated chunk sizes in rows (default rows/20 and rows/5, at most 4e6)")
    parser.add_argument("--scheduler", default="threads", choices=["threads", "synchronous", "processes"])
    parser.add_argument("--workers", type=int, default=2, help="dask workers (default 2)")
    parser.add_argument("--numpy", action="store_true", help="add in-memory NumPy rows for comparison")
    parser.add_argument("--json", default=None, help="also write the records to this file")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="exit 0 even when the peak grows with the data (by default: exit 1 when the "
                        "largest run at the smallest chunk peaks above half the data size)")
    parser.add_argument("--_child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--_numpy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._child:
        rows, chunk, scheduler, workers = args._child
        print(json.dumps(child(int(rows), int(chunk), scheduler, int(workers), args._numpy)))
        return 0

    rows = args.rows
    if args.chunks:
        chunks = sorted(_int(c) for c in args.chunks.split(","))
    else:
        chunks = sorted({max(1, min(rows // 100, 1_000_000)), max(1, min(rows // 10, 4_000_000))})
    small = chunks[0]
    configs = [(r, small) for r in sorted({max(small, rows // 100), max(small, rows // 10)}) if r < rows]
    configs += [(rows, c) for c in chunks]
    records = [run(r, c, args) for r, c in configs]
    if args.numpy:
        for r in sorted({min(rows // 10, 2_000_000), min(rows, 20_000_000)}):
            records.append(run(r, 0, args, numpy_mode=True))

    print(f"log_loss on Dask ({args.scheduler}, {args.workers} workers): peak RSS during compute()")
    print(f"| {'engine':16} | {'rows':>11} | {'chunk rows':>10} | {'chunk MB':>8} | {'data MB':>9} | "
          f"{'peak MB':>8} | {'seconds':>7} | {'log_loss':>8} |")
    print("|" + "|".join("-" * w for w in (18, 13, 12, 10, 11, 10, 9, 10)) + "|")
    for r in records:
        chunk_rows = "" if r["chunk_rows"] is None else f"{r['chunk_rows']:,}"
        chunk_mb = "" if r["chunk_mb"] is None else f"{r['chunk_mb']:.1f}"
        print(f"| {r['engine']:16} | {r['rows']:>11,} | {chunk_rows:>10} | {chunk_mb:>8} | "
              f"{r['data_mb']:>9.1f} | {r['peak_mb']:>8.1f} | {r['seconds']:>7.2f} | {r['log_loss']:>8.5f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"scheduler": args.scheduler, "workers": args.workers, "records": records}, f, indent=1)

    dask_records = [r for r in records if r["engine"].startswith("dask")]
    for r in dask_records:  # the expected loss of p ~ U(0,1), y ~ Bernoulli(p) is 1/2
        if abs(r["log_loss"] - 0.5) > 5 / r["rows"] ** 0.5:
            print(f"unexpected log_loss {r['log_loss']} for {r['rows']} rows", file=sys.stderr)
            return 1
    flat = [r for r in dask_records if r["chunk_rows"] == small]
    if len(flat) > 1:
        growth = flat[-1]["peak_mb"] / max(flat[0]["peak_mb"], 1e-9)
        data_growth = flat[-1]["data_mb"] / flat[0]["data_mb"]
        share = flat[-1]["peak_mb"] / flat[-1]["data_mb"]
        print(f"\ndata x{data_growth:.0f} at {small:,}-row chunks: peak x{growth:.2f} "
              f"(largest peak = {flat[-1]['peak_mb'] / flat[-1]['chunk_mb']:.1f} chunks, "
              f"{100 * share:.1f}% of the data)")
        # bounded: with 100 chunks, a peak of half the data means chunks are being held
        if args.check and flat[-1]["rows"] >= 50 * small and share > 0.5:
            print("FAIL: the peak grows with the data, not with the chunk size", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
