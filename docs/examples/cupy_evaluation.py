"""Losses on CuPy arrays: computed on the GPU, returned as CuPy arrays."""

import sys

try:
    import cupy as cp

    cp.cuda.runtime.getDeviceCount()
except Exception as exc:  # no CuPy, or no CUDA device for it
    sys.exit(f"this example needs CuPy and a CUDA GPU ({type(exc).__name__}: {exc})")

import polyloss

logits = cp.random.standard_normal((4096, 10), dtype=cp.float32)
labels = cp.random.randint(0, 10, size=4096)

loss = polyloss.cross_entropy(logits, labels, label_smoothing=0.1)
print(type(loss), loss.dtype, loss.device)  # a 0-d cupy.ndarray on the current GPU
masks = cp.random.randint(0, 10, size=(8, 64, 64))
scores = cp.random.standard_normal((8, 10, 64, 64), dtype=cp.float32)
print(
    polyloss.dice_loss(scores, masks, axis=1, activation="softmax", reduction="none").shape
)  # (8, 10)
print(float(loss))  # copies one number back to the host
