#!/usr/bin/env bash
# GPU check, one command of a few minutes: the Triton kernel tests compiled for the GPU (no
# interpreter), the models' GPU tests, then the training-step benchmark (eager, fused, compile).
#
#   bash benchmarks/gpu_check.sh            # from anywhere; needs a CUDA GPU, torch and triton
#
# Installs nothing: it runs the repository in place (PYTHONPATH=repo root). The compiled
# assignment extension may be absent; nothing here needs it. Exit status: non-zero if any
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
shopt -s nullglob
tests=(tests/test_kernels*.py tests/test_ops*.py tests/test_models_gpu*.py)
echo "gpu_check: pytest ${tests[*]}"
"$PY" -m pytest -q -p no:cacheprovider "${tests[@]}" 2>&1 | tee "$OUT/tests.txt" || status=1

echo "gpu_check: benchmarks/bench_train.py"
"$PY" benchmarks/bench_train.py --device cuda 2>"$OUT/bench_train.stderr" | tee "$OUT/bench_train.jsonl" || status=1
grep -q '"train_step_summary"' "$OUT/bench_train.jsonl" || status=1
echo "gpu_check: done (status $status); outputs in $OUT"
exit $status
