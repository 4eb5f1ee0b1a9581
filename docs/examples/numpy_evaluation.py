"""Evaluate saved predictions with NumPy (no deep-learning framework needed)."""

import numpy as np

import polyloss

rng = np.random.default_rng(0)
logits = rng.normal(size=(1000, 5)).astype(np.float32)
labels = rng.integers(0, 5, size=1000)
probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

print("cross-entropy   ", polyloss.cross_entropy(logits, labels))
print("log loss        ", polyloss.log_loss(probabilities, labels))  # prediction first
print("focal (gamma=2) ", polyloss.focal_loss(logits, labels, gamma=2.0))
per_sample = polyloss.cross_entropy(logits, labels, reduction="none")
print("worst 3 samples ", np.argsort(per_sample)[-3:], per_sample.dtype)
