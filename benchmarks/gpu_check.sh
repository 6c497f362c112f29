#!/usr/bin/env bash
# GPU check, one command of a few minutes: the Triton kernel tests compiled for the GPU (no
# interpreter), the models' GPU tests, the CuPy permutation-test backend against numpy, then the
# training-step, kernel and permutation benchmarks (eager, fused, compile, CUDA graphs; cupy vs numba).
#
#   bash benchmarks/gpu_check.sh            # from anywhere; needs a CUDA GPU, torch and triton
#
# Fetches nothing. It installs the package, C++ assignment extension included, into a scratch
# folder (pip --target, offline: --no-index --no-build-isolation, so the machine needs
# scikit-build-core, pybind11 and cmake) and runs everything against that install; where the
# build fails it runs the source tree (PYTHONPATH=repo root) and skips the CuPy checks, which
# need the extension. Each stage has its own time limit (GPU_CHECK_STAGE_S, default 240 s), so
# one stuck stage cannot eat the others. Logs and JSON lines go to $OUT (a temporary folder
# unless set): build.log, tests.txt (every pytest stage), bench_train.jsonl, kernels.jsonl
# (bench_kernels, profile_step, tune_conv, tune_linear), bench_permutation.jsonl, stderr.log, and with
# GPU_CHECK_RECIPE=1 recipe.jsonl: the β-VAE recipe at 32x32 trained on the GPU, its 9,000 steps for
# seeds 0-3 and 48,000 for seeds 0-1 (bench_recipe.py --device cuda; docs/recipe.md asks what many more
# steps buy). That adds a few minutes: pair it with GPU_CHECK_TUNE=0 to stay inside 10.
# Exit status: non-zero if any test fails or a benchmark fails to run; the JSON lines say whether
# the speed targets hold.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-python3}"
STAGE_S="${GPU_CHECK_STAGE_S:-240}"
# tests/conftest.py only sets TRITON_INTERPRET when it is unset: "0" compiles for the GPU.
export TRITON_INTERPRET=0
export FACEIT_TEST_DEVICE=cuda
export PYTHONUNBUFFERED=1
unset FACEIT_DISABLE_TRITON
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
ERR="$OUT/stderr.log"
: >"$ERR"

"$PY" - <<'PYEOF' || { echo "gpu_check: no usable CUDA device" >&2; exit 2; }
import torch, triton
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, triton {triton.__version__}")
PYEOF
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv

status=0
have_assign=0
SITE="$(mktemp -d)/site"
t0=$SECONDS
if timeout "$STAGE_S" "$PY" -m pip install -q --no-index --no-build-isolation --no-deps --target "$SITE" . \
     >"$OUT/build.log" 2>&1 \
   && PYTHONPATH="$SITE" PYTHONSAFEPATH=1 "$PY" -c "import faceit.assign, faceit.kernels; print('faceit from', faceit.__file__)" \
     >>"$OUT/build.log" 2>&1; then
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  export PYTHONSAFEPATH=1  # keep the source tree's faceit/ (the working directory) from shadowing the install
  have_assign=1
else
  echo "gpu_check: could not build the package (see build.log); running the source tree, CuPy checks skipped"
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
fi
tail -n 1 "$OUT/build.log"
echo "gpu_check: build $((SECONDS - t0)) s"

stage() {  # stage NAME OUTFILE CMD...: run CMD under the stage limit, stdout appended to OUTFILE, stderr to stderr.log
  local name="$1" out="$2"; shift 2
  local t=$SECONDS
  echo "gpu_check: $name"
  echo "== $name" >>"$ERR"
  timeout "$STAGE_S" "$@" 2>>"$ERR" | tee -a "$OUT/$out"
  local rc=${PIPESTATUS[0]}
  echo "gpu_check: $name: exit $rc, $((SECONDS - t)) s"
  [ "$rc" = 0 ] || status=1
}

# GPU_CHECK_TESTS narrows the first stage (e.g. to tests/test_models_gpu.py when only the models changed)
read -r -a gpu_tests <<<"${GPU_CHECK_TESTS:-tests/test_kernels.py tests/test_models_gpu.py}"
stage "kernel and model tests on the GPU" tests.txt \
  "$PY" -m pytest -q -p no:cacheprovider --tb=short "${gpu_tests[@]}"
stage "bench_train (eager, fused, compile, CUDA graphs; train() itself)" bench_train.jsonl \
  "$PY" benchmarks/bench_train.py --device cuda --train-call
grep -q '"train_step_summary"' "$OUT/bench_train.jsonl" || status=1
stage "bench_kernels (fused vs eager per piece)" kernels.jsonl \
  "$PY" benchmarks/bench_kernels.py --quick --no-compile
stage "profile_step (GPU time per step by kernel)" kernels.jsonl "$PY" benchmarks/profile_step.py
if [ "${GPU_CHECK_TUNE:-1}" = 1 ]; then  # GPU_CHECK_TUNE=0 skips the tile sweeps (about 2 minutes)
  stage "tune_conv (tile sizes against cuDNN)" kernels.jsonl "$PY" benchmarks/tune_conv.py
  stage "tune_linear (tile sizes against cuBLAS)" kernels.jsonl "$PY" benchmarks/tune_linear.py
fi
if [ "${GPU_CHECK_RECIPE:-0}" = 1 ]; then
  stage "the recipe on the GPU, its 9,000 steps" recipe.jsonl \
    "$PY" benchmarks/bench_recipe.py --device cuda --seeds 0 1 2 3 --no-ae
  stage "the recipe on the GPU, 48,000 steps" recipe.jsonl \
    "$PY" benchmarks/bench_recipe.py --device cuda --steps 48000 --seeds 0 1 --no-ae
fi
if [ "$have_assign" = 1 ]; then
  stage "CuPy backend tests" tests.txt \
    "$PY" -m pytest -q -p no:cacheprovider --tb=short tests/test_stats_backends.py tests/test_stats_permutation.py
  stage "bench_permutation (cupy vs numba)" bench_permutation.jsonl \
    "$PY" benchmarks/bench_permutation.py --quick
fi

echo "gpu_check: summary"
"$PY" - "$OUT" <<'PYEOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for name in ("bench_train.jsonl", "kernels.jsonl", "bench_permutation.jsonl", "recipe.jsonl"):
    path = out / name
    if not path.exists():
        continue
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        r.pop("machine", None)
        keep = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()
                if k not in ("device_name", "torch", "image_size", "device", "timed_steps", "seconds")}
        print(json.dumps(keep))
PYEOF
echo "gpu_check: done (status $status) in $SECONDS s; outputs in $OUT"
exit $status
