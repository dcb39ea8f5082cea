#!/usr/bin/env bash
# Presets' full grids on the lent GPU machine, in as many calls as their budgets need (../shared/DEVICE.md): each call
# runs or resumes the grids for at most LIMIT seconds (`reproduce --time-limit`), several presets side by side (each
# with PER_GPU slots on every GPU, so one preset's tail is filled by another's runs), then brings back each store
# (WAL checkpointed: one file) and its logs (logs.tgz) under $OUT/PRESET/.
#   run(command="EXPRESSIVITY_GIT_COMMIT=COMMIT MPS=1 bash benchmarks/gpu_reproduce.sh \
#                olmo-hybrid,chomsky 480 6", kind="nvidia-h200-x2", carry=[".whl", ".triton"])
#   COMMIT is this checkout's `git rev-parse --short HEAD`, written into the command here: on the machine the same
#   command reads a copy of .git that can lag the tree it runs (2026-12-07: calls from a8bb246 recorded 5a10276).
# Here afterwards, before the next call (the stores travel as files of the work tree and would overwrite the
# machine's): expressivity merge <files_at>/PRESET/runs.sqlite --store results/PRESET/runs.sqlite (keeps every run
# either store holds; a plain cp drops those of an earlier call not yet brought in). The checkpoints of runs left in
# flight stay on the machine (an ignored folder) while it is warm; CHECKPOINTS=1 also brings them back, split into
# parts of 15 MiB (cat the parts | tar x -C results/PRESET), for a later session to carry as results/PRESET/checkpoints:
# at most 8 files and 64 MiB come back, so only a few runs' checkpoints (11-16 MB a DeltaProduct run) travel.
# MPS=1 starts NVIDIA's multi-process service first, so the kernels of the many small runs sharing a GPU can run
# side by side instead of time-sliced; it is checked on every GPU and left off if it fails there.
# Here afterwards also: rm -f .triton/* && cp $OUT/triton_cache.txz.part* .triton/ (see gpu_setup.sh).
# PACKING=1 first measures grid packing (benchmarks/grid_packing.py, --per-gpu 1,4,8 at 300 steps) on GPU 0.
set -uo pipefail
PRESETS=${1:?preset[,preset...]}
LIMIT=${2:-540}
PER_GPU=${3:-8}
OUT=${OUT:-/tmp/gpu_reproduce_out}
mkdir -p "$OUT"
source benchmarks/gpu_setup.sh  # the wheel, Triton's cache (carry .triton too), save_triton_cache
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader | tee "$OUT/card.log"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/card.log"
echo "commit ${EXPRESSIVITY_GIT_COMMIT:-unknown}; presets $PRESETS; limit $LIMIT s; per-gpu $PER_GPU" | tee -a "$OUT/card.log"

if [ "${MPS:-0}" = 1 ]; then
  start_mps  # gpu_setup.sh
fi

if [ "${PACKING:-0}" = 1 ]; then
  CUDA_VISIBLE_DEVICES=0 timeout 330 python3 benchmarks/grid_packing.py --per-gpu 1,4,8 --steps 300 --no-warmup \
    --log "$OUT/packing.log"
fi

# How busy the GPUs are while the grids run, every 30 s.
nvidia-smi --query-gpu=timestamp,index,utilization.gpu,memory.used --format=csv,noheader -l 30 >>"$OUT/card.log" &
sampler=$!
started=$(date +%s)
pids=()
for preset in ${PRESETS//,/ }; do
  mkdir -p "$OUT/$preset" "results/$preset/logs"
  merge_last_call_store "results/$preset/runs.sqlite" | tee -a "$OUT/card.log"  # gpu_setup.sh: a warm machine's
  python3 -m expressivity.runners.cli reproduce "$preset" --store "results/$preset/runs.sqlite" --per-gpu "$PER_GPU" \
    --time-limit "$LIMIT" >>"results/$preset/logs/reproduce.log" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
kill "$sampler" 2>/dev/null
stop_mps
echo "wall $(($(date +%s) - started)) s for: reproduce {$PRESETS} --per-gpu $PER_GPU --time-limit $LIMIT" \
  | tee -a "$OUT/card.log"

for preset in ${PRESETS//,/ }; do
  dir=results/$preset
  tail -n 4 "$dir/logs/reproduce.log"
  # The store was closed by the command (WAL checkpointed); checkpoint again in case it was killed, then bring it back.
  python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" \
    "$dir/runs.sqlite"
  cp "$dir/runs.sqlite" "$OUT/$preset/runs.sqlite"
  keep_store_for_next_call "$dir/runs.sqlite"  # gpu_setup.sh
  # At most 8 files come back from a call: the logs (reproduce's, the workers') travel as one archive, the
  # checkpoints as parts of 15 MiB.
  tar czf "$OUT/$preset/logs.tgz" -C "$dir" logs
  if [ "${CHECKPOINTS:-0}" = 1 ] && [ -d "$dir/checkpoints" ]; then
    tar cf - -C "$dir" checkpoints | split -b 15M - "$OUT/$preset/checkpoints.tar.part-"
  fi
done
# Triton's cache comes back for the next call (two files); TRITON=0 leaves it when a call needs its file slots.
if [ "${TRITON:-1}" = 1 ]; then save_triton_cache; fi
ls -laR "$OUT"
