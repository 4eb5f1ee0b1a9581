"""``python -m polyloss``: the self-check lists every loss and fails on a disagreement."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np

from polyloss import REGISTRY
from polyloss.__main__ import check
from polyloss._backends import Backend


def test_self_check_passes_and_lists_every_loss():
    out = subprocess.run([sys.executable, "-m", "polyloss"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all backends agree" in out.stdout
    for name in REGISTRY:
        assert f"\n{name} " in out.stdout


class _OffByOnePercent(Backend):
    def to_numpy(self, x):
        return np.asarray(x) * 1.01


def test_a_disagreeing_backend_fails_the_check():
    table = io.StringIO()
    ok = check([Backend("numpy-float64", "numpy", "float64"), _OffByOnePercent("bad-float64", "numpy", "float64")], out=table)
    assert not ok
    assert table.getvalue().count("FAIL") == len(REGISTRY)
