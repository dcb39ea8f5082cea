#!/usr/bin/env bash
# A preset's full grid on the lent GPU machine, in as many calls as its budget needs (../shared/DEVICE.md): each call
# runs or resumes the grid for at most LIMIT seconds (`reproduce --time-limit`), then brings back the store (WAL
# checkpointed: one file) and the checkpoints of the runs it left in flight, which the next call carries to resume.
#   run(command="EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) PACKING=1 bash benchmarks/gpu_reproduce.sh \
#                negative-eigenvalues 270 8", carry=[".whl", "results/negative-eigenvalues/checkpoints"])
# Here afterwards: cp the store to results/PRESET/runs.sqlite and untar checkpoints.tar into results/PRESET/.
# PACKING=1 first measures grid packing (benchmarks/grid_packing.py, --per-gpu 1,4,8 at 300 steps) on GPU 0.
set -uo pipefail
PRESET=${1:?preset}
LIMIT=${2:-540}
PER_GPU=${3:-8}
OUT=${OUT:-/tmp/gpu_reproduce_out}
DIR=results/$PRESET
mkdir -p "$OUT" "$DIR"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:.
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader | tee "$OUT/card.log"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/card.log"
echo "commit ${EXPRESSIVITY_GIT_COMMIT:-unknown}" | tee -a "$OUT/card.log"
if [ "${PACKING:-0}" = 1 ]; then
  CUDA_VISIBLE_DEVICES=0 timeout 330 python3 benchmarks/grid_packing.py --per-gpu 1,4,8 --steps 300 --no-warmup \
    --log "$OUT/packing.log"
fi
started=$(date +%s)
python3 -m expressivity.runners.cli reproduce "$PRESET" --store "$DIR/runs.sqlite" --per-gpu "$PER_GPU" \
  --time-limit "$LIMIT" 2>&1 | tee "$OUT/$PRESET.log"
echo "wall $(( $(date +%s) - started )) s for: reproduce $PRESET --per-gpu $PER_GPU --time-limit $LIMIT" \
  | tee -a "$OUT/$PRESET.log"
# The store was closed by the command (WAL checkpointed); checkpoint again in case it was killed, then bring it back.
python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" \
  "$DIR/runs.sqlite"
cp "$DIR/runs.sqlite" "$OUT/runs.sqlite"
if [ -d "$DIR/checkpoints" ]; then tar cf "$OUT/checkpoints.tar" -C "$DIR" checkpoints; fi
tail -c 4000 "$DIR"/logs/*/worker-0.log > "$OUT/worker-0.log" 2>/dev/null
ls -la "$OUT"
