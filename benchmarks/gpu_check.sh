#!/usr/bin/env bash
# The architectures' GPU check, as one call on the lent GPU machine (../shared/DEVICE.md): install the carried
# fla-core wheel, run the gpu-marked tests, time the kernels. Full log: $OUT/gpu_check.log; Triton's compile and
# autotune cache (about 28 MB after one run) comes back as $OUT/triton_cache.txz.part* in 15 MB pieces (files over
# 16 MiB do not come back): copy them into .triton/ and carry it next time to skip minutes of compiling.
#
# Here, once:  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#                --platform manylinux2014_x86_64 -d .whl fla-core==0.4.2      (.whl/ and .triton/ are git-ignored)
# Then:        run(command="bash benchmarks/gpu_check.sh", carry=[".whl", ".triton"])
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
source benchmarks/gpu_setup.sh  # the wheel, Triton's cache, save_triton_cache
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, triton, fla; print('torch', torch.__version__, 'triton', triton.__version__, 'fla', fla.__version__)"
  time python3 -m pytest -q -p no:cacheprovider -m gpu -s -rA tests/architectures
  time python3 benchmarks/kernels.py --reps 20
} 2>&1 | tee "$LOG"
save_triton_cache
ls -la "$OUT"
