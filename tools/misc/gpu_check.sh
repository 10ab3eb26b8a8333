#!/usr/bin/env bash
# What this project can verify only on a CUDA machine, in one go. Logs go to
# ${OUT:-work_dirs/gpu_check}/<step>.log and a summary is printed:
#   device         torch, CUDA and GPU name (fails without a GPU)
#   build          the ops extension with its CUDA kernels, in place (FORCE_CUDA=1)
#   ops_available  tadet.ops.available() reports the CUDA kernels
#   cuda_tests     every @pytest.mark.cuda test: CUDA kernels vs the references (forward,
#                  backward, gradcheck), fp16 AMP steps of every detector, --amp through
#                  tools/train.py
#   benchmark_ops  tools/benchmark_ops.py --device cuda (CUDA kernels vs references on the GPU)
#   determinism    two 1-epoch AFSD trainings on the GPU with the same seed: same weights?
#                  (reported, not required: the CUDA backward kernels accumulate with atomics)
# Needs torch with CUDA, nvcc and tadet's Python dependencies (see docs/ops.md, "Checking on a
# GPU", for a machine without network access). Exit status: 0 when every required step passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR=${OUT:-work_dirs/gpu_check}
mkdir -p "$OUT_DIR"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
status=0

step() {  # step NAME required(1|0) COMMAND...
    local name=$1 required=$2
    shift 2
    local t0=$SECONDS
    if "$@" > "$OUT_DIR/$name.log" 2>&1; then
        echo "ok      $name ($((SECONDS - t0)) s)"
    else
        echo "FAILED  $name ($((SECONDS - t0)) s): $OUT_DIR/$name.log"
        tail -n 15 "$OUT_DIR/$name.log" | sed 's/^/        /'
        [ "$required" = 1 ] && status=1
    fi
}

step device 1 "$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; \
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))"
[ $status = 0 ] || { echo "no usable CUDA device: nothing else to check"; exit 1; }
step build 1 env FORCE_CUDA=1 "$PY" setup.py build_ext --inplace
step ops_available 1 "$PY" -c "import sys, tadet.ops as o; a = o.available(); print(a); \
sys.exit(0 if a['cuda'] else 'the CUDA kernels are not built')"
step cuda_tests 1 "$PY" -m pytest tests -m cuda -v -rs -p no:cacheprovider
step benchmark_ops 1 "$PY" tools/benchmark_ops.py --device cuda
det() {
    local w
    for w in a b; do
        "$PY" tools/train.py configs/afsd/afsd_thumos14_synth.py --work-dir "$OUT_DIR/det_$w" \
            --cfg-options train_cfg.max_epochs=1 train_cfg.val_interval=100 \
            default_hooks.checkpoint.interval=1 || return 1
    done
    "$PY" - "$OUT_DIR" <<'PYEOF'
import sys
import torch
a, b = (torch.load(f'{sys.argv[1]}/det_{w}/epoch_1.pth', map_location='cpu',
                   weights_only=False)['state_dict'] for w in 'ab')
diff = {k: (a[k].double() - b[k].double()).abs().max().item() for k in a
        if a[k].is_floating_point()}
worst = max(diff, key=diff.get)
print(f'max |a - b| over {len(diff)} tensors: {diff[worst]:.3e} ({worst})')
sys.exit(0 if diff[worst] == 0 else 'same seed, different weights (see docs/training.md)')
PYEOF
}
step determinism 0 det
grep -h "^|" "$OUT_DIR/benchmark_ops.log" 2>/dev/null | head -n 40
exit $status
