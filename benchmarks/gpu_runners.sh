#!/usr/bin/env bash
# The runners' GPU figures as one call on a two-GPU kind of the lent machine (../shared/DEVICE.md):
#   1. grid packing on ONE GPU: a 24-run grid of tiny models, --per-gpu 1 vs 4 (wall-time ratio; target >= 2.5x);
#   2. the same grid over BOTH GPUs with --per-gpu 4 (multi-GPU local workers: runs land on both devices);
#   3. training tokens/s of every architecture's tiny preset on one GPU;
#   4. fla's GDN kernels at the tiny and a K=64 head shape, each in its own process.
# Packing goes first: its untimed warm-up grid pays Triton's compilation (minutes on a fresh machine) for everything
# after it. Logs: $OUT/*.log; Triton's cache comes back as $OUT/triton_cache.txz.part* (15 MB pieces) for .triton/.
#   run(command="bash benchmarks/gpu_runners.sh", kind="nvidia-h100-x2", carry=[".whl", ".triton"])
set -uo pipefail
OUT=${OUT:-/tmp/gpu_runners_out}
mkdir -p "$OUT"
source benchmarks/gpu_setup.sh  # the wheel, Triton's cache, save_triton_cache
STEPS=${STEPS:-100}
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader | tee "$OUT/cards.log"
CUDA_VISIBLE_DEVICES=0 timeout 200 python3 benchmarks/grid_packing.py --per-gpu 1,4 --steps "$STEPS" \
  --log "$OUT/packing_1gpu.log" --store-dir "$OUT"
timeout 70 python3 benchmarks/grid_packing.py --per-gpu 4 --steps "$STEPS" --no-warmup --log "$OUT/packing_2gpu.log"
CUDA_VISIBLE_DEVICES=0 timeout 100 python3 benchmarks/training.py --steps 100 --warmup-steps 10 --time-limit 80 \
  --log "$OUT/training.log"
# 4. which head shapes fla survives (each in its own process): the evidence behind gdn.MIN_KEY_DIM.
CUDA_VISIBLE_DEVICES=0 timeout 120 python3 benchmarks/fla_shapes.py 2,32,64 2,64,128 2>&1 | tee "$OUT/fla_shapes.log"
save_triton_cache
rm -rf "$OUT"/*.sqlite-wal "$OUT"/*.sqlite-shm "$OUT/checkpoints"
ls -la "$OUT"
