#!/usr/bin/env bash
# Everything that can break on a CUDA machine, in one short run (about 5 minutes on an H100 / H200):
# the GPU and library versions, the CUDA tests (tests/test_devices.py, `-m cuda`), one timed epoch of the
# benchmark in faithful and fast mode against the reference loop, and 2 epochs of the `paper` profile.
#
#   bash benchmarks/gpu_check.sh [CIFAR-10 archive or image folder]     (default: data/cifar10)
#
# It runs from the working tree (PYTHONPATH=.) against the machine's own torch, torchvision, SciPy and
# matplotlib: training and evaluation need no notebook packages. Output goes to $OUT (default
# /tmp/gpu_check): gpu_check.log, bench-cuda.json and the paper run's metrics.csv / manifest.json.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TQDM_DISABLE=1
source=${1:-data/cifar10}
status=0
step() {  # step SECONDS NAME COMMAND...: run with a time limit, record its exit status
    local limit=$1 name=$2
    shift 2
    echo "== $name"
    local start=$SECONDS
    timeout "$limit" "$@"
    local code=$?
    echo "== $name: exit $code in $((SECONDS - start)) s"
    [ "$code" = 0 ] || status=1
}
{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
    python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__,
                'cuda', torch.version.cuda, torch.cuda.get_device_name())"
    if [ -f "$source" ]; then
        step 120 "extract $source" tar -xJf "$source" -C data
        source=data/cifar10
    fi
    step 180 "CUDA tests" python3 -m pytest -q -o addopts="" -p no:cacheprovider -m cuda tests/test_devices.py
    step 240 "benchmark, 1 timed epoch, faithful and fast" python3 benchmarks/bench.py --device cuda --data cifar10 \
        --data-dir "$source" --epochs 1 --warmup 1 --fast --out "$out/bench-cuda.json"
    step 180 "paper profile, 2 epochs" python3 -m dystress train --profile paper --data_dir "$source" --epochs 2 \
        --eval_every 1 --run-dir /tmp/gpu_check_paper
    cp /tmp/gpu_check_paper/metrics.csv /tmp/gpu_check_paper/manifest.json "$out/" 2> /dev/null
    echo "== gpu check: $([ $status = 0 ] && echo passed || echo FAILED)"
    exit $status
} 2>&1 | tee "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
