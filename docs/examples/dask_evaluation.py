"""Evaluate a loss lazily on chunked Dask arrays (data larger than memory)."""

import dask.array as da
import numpy as np

import polyloss

n, c = 200_000, 10
logits = da.random.default_rng(0).normal(size=(n, c), chunks=(50_000, c))
labels = da.random.default_rng(1).integers(0, c, size=n, chunks=50_000)

loss = polyloss.cross_entropy(logits, labels)  # lazy: nothing is computed yet
print(type(loss).__name__, loss.shape)
value = float(loss.compute())  # evaluated chunk by chunk
print("cross-entropy", value)

# Same number as NumPy on the materialised arrays.
expected = float(polyloss.cross_entropy(np.asarray(logits), np.asarray(labels)))
assert abs(value - expected) < 1e-12 * max(1.0, abs(expected))
