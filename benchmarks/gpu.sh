#!/usr/bin/env bash
# The CUDA columns of the test matrix and the GPU self-check/benchmark, in one run of
# at most 8 minutes, on a machine that already holds CUDA builds of torch and JAX,
# cupy-cuda13x, pytest and hypothesis (the device tool's nvidia-h200: Python 3.12).
# It carries only this tree and array-api-compat as a wheel; before sending the tree:
#   python -m pip download --no-deps -d benchmarks/wheels "array-api-compat>=1.11"
# Results go to $OUT (the device tool's output folder) or /tmp/polyloss-gpu.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/polyloss-gpu}
mkdir -p "$OUT"
$PY -c "import array_api_compat" 2>/dev/null \
  || $PY -m pip install --quiet --no-index --find-links benchmarks/wheels array-api-compat
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
run() {  # name, seconds, pytest arguments...
  local name=$1 limit=$2; shift 2
  timeout "$limit" $PY -m pytest -p no:cacheprovider -q -m "not parity and not slow" "$@" \
    > "$OUT/$name.txt" 2>&1
  echo "$name: exit $? — $(tail -n 1 "$OUT/$name.txt")"
}
run cupy 60 --backends cupy tests/test_matrix.py tests/test_robustness.py
run torch-cuda 60 --backends torch -k cuda tests/test_matrix.py tests/test_robustness.py tests/test_native.py
run jax-cuda 240 --backends jax tests/test_matrix.py tests/test_robustness.py
timeout 90 $PY -m polyloss --device cuda --bench > "$OUT/selfcheck.txt" 2>&1
echo "self-check: exit $? — $(tail -n 1 "$OUT/selfcheck.txt")"
