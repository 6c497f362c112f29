#!/usr/bin/env bash
# GPU check, one command of a few minutes: the Triton kernel tests compiled for the GPU (no
# interpreter), the models' GPU tests, the CuPy permutation-test backend against numpy, then the
# training-step, kernel and permutation benchmarks (eager, fused, compile; cupy vs numba).
#
#   bash benchmarks/gpu_check.sh            # from anywhere; needs a CUDA GPU, torch and triton
#
# Fetches nothing: it runs the repository in place (PYTHONPATH=repo root). It builds the C++
# assignment extension in place when the machine has pybind11, scikit-build-core and cmake
# (offline: --no-index --no-build-isolation); the CuPy checks need it and are skipped without it. Exit status: non-zero if any
# test fails or the benchmark fails to run; the JSON lines say whether the speed targets hold.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-python}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
# tests/conftest.py only sets TRITON_INTERPRET when it is unset: "0" compiles for the GPU.
export TRITON_INTERPRET=0
export FACEIT_TEST_DEVICE=cuda
unset FACEIT_DISABLE_TRITON
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"

"$PY" - <<'PYEOF' || { echo "gpu_check: no usable CUDA device" >&2; exit 2; }
import torch, triton
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, triton {triton.__version__}")
PYEOF
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,mig.mode.current --format=csv

status=0
have_assign=0
if "$PY" -m pip install -q --no-index --no-build-isolation --no-deps -e . >"$OUT/build.log" 2>&1 \
   && "$PY" -c "import faceit.assign" 2>>"$OUT/build.log"; then
  have_assign=1
else
  echo "gpu_check: could not build the assignment extension (see $OUT/build.log); CuPy checks skipped"
fi
shopt -s nullglob
tests=(tests/test_kernels*.py tests/test_ops*.py tests/test_models_gpu*.py)
echo "gpu_check: pytest ${tests[*]}"
"$PY" -m pytest -q -p no:cacheprovider "${tests[@]}" 2>&1 | tee "$OUT/tests.txt" || status=1

echo "gpu_check: benchmarks/bench_train.py"
"$PY" benchmarks/bench_train.py --device cuda 2>"$OUT/bench_train.stderr" | tee "$OUT/bench_train.jsonl" || status=1
grep -q '"train_step_summary"' "$OUT/bench_train.jsonl" || status=1
echo "gpu_check: benchmarks/bench_kernels.py"
"$PY" benchmarks/bench_kernels.py --quick 2>"$OUT/bench_kernels.stderr" | tee "$OUT/bench_kernels.jsonl" || status=1

if [ "$have_assign" = 1 ]; then
  echo "gpu_check: CuPy backend (tests and permutation benchmark)"
  "$PY" -m pytest -q -p no:cacheprovider tests/test_stats_backends.py tests/test_stats_permutation.py 2>&1 \
    | tee "$OUT/tests_stats.txt" || status=1
  "$PY" benchmarks/bench_permutation.py --quick 2>"$OUT/bench_permutation.stderr" \
    | tee "$OUT/bench_permutation.jsonl" || status=1
fi
echo "gpu_check: done (status $status); outputs in $OUT"
exit $status
