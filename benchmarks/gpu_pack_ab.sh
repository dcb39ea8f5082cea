#!/usr/bin/env bash
# On the lent GPU, one call: packed rows (training/packing.py) checked, then timed. First the GPU test that trains
# packed against unpacked runs (fla's kernels with the gate resets, attention's block-diagonal mask, captured and
# compiled steps); then the same short slice of a preset trained twice, one example a row (EXPRESSIVITY_PACK=0) and
# packed (EXPRESSIVITY_PACK=auto), each with a cold torch.compile cache of its own, into scratch stores (nothing of the
# preset's). `--set steps=STEPS` scales the run. Prints each pass's worker lines "fused xN: steps ... in ... s" and its
# wall, and each pass's test accuracies (the same runs: they should agree to bf16 noise); benchmarks/pad_lengths.py
# says how many tokens each carries. Prints figures, never asserts.
#   run(command="EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) bash benchmarks/gpu_pack_ab.sh 2000 \
#                --row 'mod arithmetic' --column 'gdn[-1,1]' --column 'deltanet[-1,1]'", carry=[".whl"])
set -uo pipefail
STEPS=${1:?steps}
shift
OUT=${OUT:-/tmp/gpu_pack_ab_out}
mkdir -p "$OUT"
source benchmarks/gpu_setup.sh
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "commit ${EXPRESSIVITY_GIT_COMMIT:-unknown}; negative-eigenvalues $*; steps $STEPS"
} | tee "$OUT/pack_ab.log"
timeout -s INT 240 python3 -m pytest -p no:cacheprovider -m gpu -vv tests/runners/test_fused_gpu.py -k packed \
  >"$OUT/gpu_test.log" 2>&1
echo "GPU test: $(tail -1 "$OUT/gpu_test.log")" | tee -a "$OUT/pack_ab.log"
for pack in 0 auto; do
  started=$(date +%s)
  EXPRESSIVITY_PACK=$pack TORCHINDUCTOR_CACHE_DIR=/tmp/inductor_pack_$pack timeout -s INT 200 python3 -m \
    expressivity.runners.cli reproduce negative-eigenvalues "$@" --set "steps=$STEPS" \
    --store "/tmp/pack_$pack.sqlite" --log-dir "$OUT/logs_$pack" >"$OUT/reproduce_$pack.log" 2>&1
  echo "pack=$pack: wall $(($(date +%s) - started)) s; $(grep -rh "fused x" "$OUT/logs_$pack" 2>/dev/null |
    sed 's/; loss per run.*//' | tr '\n' ' ')" | tee -a "$OUT/pack_ab.log"
  python3 -m expressivity.runners.cli status --store "/tmp/pack_$pack.sqlite" --csv "$OUT/runs_$pack.csv" \
    >/dev/null 2>&1
done
