#!/usr/bin/env bash
# On the lent GPU, one call: the same short fused group trained twice, its compiled steps padded to the group's longest
# example (EXPRESSIVITY_PAD=longest, the default) and to each step's own bucket (bucket), each with a cold
# torch.compile cache of its own (so neither reuses the other's compiles), into scratch stores (nothing of the
# preset's). `--set steps=STEPS` keeps the curricula's shape, scaled to the steps. Prints each pass's worker lines
# "fused xN ...: step S at T s" (one a checkpoint, every 500 steps: the steady pace between them, apart from the
# first steps' compiles) and "fused xN: steps ... in ... s", and its wall; benchmarks/pad_lengths.py says how many
# tokens each padding carries. Prints figures, never asserts.
#   run(command="EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) bash benchmarks/gpu_pad_ab.sh 2000 \
#                --row 'state-based recall (n)' --column 'hybrid GGGA[-1,1]'", carry=[".whl", ".triton"])
# PADS="longest ladder" compares the default with EXPRESSIVITY_PAD=ladder instead, e.g. on the m axis's longest runs
# (0.36 of the tokens at m = 256 alone; benchmarks/pad_lengths.py):
#   run(command="PADS='longest ladder' EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) bash benchmarks/gpu_pad_ab.sh \
#                2000 --protocol full --row 'state-based recall, m = 256' --column 'hybrid GGGA[-1,1]' --seed 0",
#       carry=[".whl"])
set -uo pipefail
STEPS=${1:?steps}
shift
OUT=${OUT:-/tmp/gpu_pad_ab_out}
mkdir -p "$OUT"
source benchmarks/gpu_setup.sh
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "commit ${EXPRESSIVITY_GIT_COMMIT:-unknown}; olmo-hybrid $*; steps $STEPS"
} | tee "$OUT/pad_ab.log"
for pad in ${PADS:-longest bucket}; do
  started=$(date +%s)
  EXPRESSIVITY_PAD=$pad TORCHINDUCTOR_CACHE_DIR=/tmp/inductor_$pad timeout -s INT 280 python3 -m expressivity.runners.cli \
    reproduce olmo-hybrid "$@" --set "steps=$STEPS" --store "/tmp/pad_$pad.sqlite" --log-dir "$OUT/logs_$pad" \
    >"$OUT/reproduce_$pad.log" 2>&1
  echo "$pad: wall $(($(date +%s) - started)) s; $(grep -rh "fused x" "$OUT/logs_$pad" 2>/dev/null | sed 's/; loss per run.*//' | tr '\n' ' ')" |
    tee -a "$OUT/pad_ab.log"
done
