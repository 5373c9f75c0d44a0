#!/usr/bin/env bash
# The GPU checks in one go, within 10 minutes on one data-centre GPU (H100/H200 class):
#   1. the tests marked `cuda` (a lane on the GPU: steps, evaluation, checkpoint, live switch, resume),
#   2. benchmarks/throughput.py: the engine vs the conventional loop, and against the card's matmul peak,
#   3. benchmarks/degradation.py: seconds from submit until Fig. 1 + fix shows the degradation,
#   4. benchmarks/first_step.py: seconds from the click to the first point, through the training process,
#   5. a paper-recipe ResNet-56 run for 3 minutes: how many iterations, at what speed and error.
# Each result is a file in $OUT (or ./gpu-check-output). A dry run on a CPU machine:
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_QUICK=1 benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-./gpu-check-output}"
mkdir -p "$out"
device="${GPU_CHECK_DEVICE:-cuda}"
quick="${GPU_CHECK_QUICK:-}"
long_run_seconds=$([ -n "$quick" ] && echo 20 || echo 180)
export PYTHONUNBUFFERED=1 RESNET_EDU_RUNS_DIR="$out/runs" RESNET_EDU_DATA="$out/data"

step() { echo "== $(date +%T) $*" | tee -a "$out/gpu_check.log"; }

step "install (only what is missing: a GPU machine may have no network)"
python -c "import torch, torchvision, streamlit, plotly, pandas, captum, torchview, pytest" 2>/dev/null \
  || pip install -q -r requirements-dev.txt 2>&1 | tail -3 | tee -a "$out/gpu_check.log"
(nvidia-smi || true) > "$out/nvidia-smi.txt" 2>&1
python - <<'PY' > "$out/environment.json"
import json, platform, torch
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
                  "cards": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]}))
PY

step "tests marked cuda"
timeout 240 python -m pytest -m "cuda or mps" tests/test_one_path.py -q -p no:cacheprovider -rs \
  > "$out/cuda_tests.txt" 2>&1
echo "exit $?" >> "$out/cuda_tests.txt"; tail -3 "$out/cuda_tests.txt" | tee -a "$out/gpu_check.log"

step "throughput: engine vs conventional loop"
timeout 200 python benchmarks/throughput.py --device "$device" ${quick:+--quick --depths 20} \
  > "$out/throughput.json" 2>> "$out/gpu_check.log"; echo "exit $?" | tee -a "$out/gpu_check.log"

step "time to degradation: Fig. 1 + fix"
timeout 200 python benchmarks/degradation.py --data synthetic --timeout 150 ${quick:+--quick} \
  > "$out/degradation.json" 2>> "$out/gpu_check.log"; echo "exit $?" | tee -a "$out/gpu_check.log"

step "first point after the click: cold and prepared"
timeout 150 python benchmarks/first_step.py --think 10 \
  > "$out/first_step.json" 2>> "$out/gpu_check.log"; echo "exit $?" | tee -a "$out/gpu_check.log"

step "paper recipe, ResNet-56, ${long_run_seconds} s (stopped by SIGINT, checkpointed)"
timeout -s INT "$long_run_seconds" python -m resnet_edu train --depth 56 --recipe paper --epochs 164 \
  --device "$device" --dataset synthetic --json > "$out/paper_resnet56.txt" 2>> "$out/gpu_check.log"
tail -n 1 "$out/paper_resnet56.txt" > "$out/paper_resnet56.json"
cat "$out/paper_resnet56.json" | tee -a "$out/gpu_check.log"
step "done: $out"
