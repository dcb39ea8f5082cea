#!/usr/bin/env bash
# On the lent GPU, one call: the same short slice of a preset trained once per setting of how its steps are laid out,
# each pass with a cold torch.compile cache of its own (so none reuses another's compiles), into scratch stores
# (nothing of the preset's). By default the compiled steps padded to the group's longest example
# (EXPRESSIVITY_PAD=longest, the default) against each step's own bucket (bucket). `--set steps=STEPS` keeps the
# curricula's shape, scaled to the steps. Prints each pass's worker lines "fused xN ...: step S at T s" (one a
# checkpoint, every 500 steps: the steady pace between them, apart from the first steps' compiles) and "fused xN:
# steps ... in ... s", and its wall, and writes each pass's runs (test accuracies by length) to runs_PASS.csv: the
# same runs, which should agree to bf16 noise. benchmarks/pad_lengths.py says how many tokens each pass carries.
# Prints figures, never asserts.
#   run(command="EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) bash benchmarks/gpu_pad_ab.sh 2000 \
#                --row 'state-based recall (n)' --column 'hybrid GGGA[-1,1]'", carry=[".whl"])
# Settings (environment):
#   AB='VAR=a VAR=b'  the passes, each an environment setting (default: EXPRESSIVITY_PAD=longest and =bucket);
#                     PADS='a b' is short for AB='EXPRESSIVITY_PAD=a EXPRESSIVITY_PAD=b'.
#   PRESET=name       the preset (default olmo-hybrid).
#   TESTS_K=EXPR      first `pytest -m gpu tests/runners/test_fused_gpu.py -k EXPR` (at most 240 s), into gpu_test.log.
# The padding ladder on the m axis's longest runs (0.36 of the tokens at m = 256 alone), and packed rows on Grazzi et
# al.'s protocol (0.63), with their GPU tests first:
#   run(command="PADS='longest ladder' TESTS_K=ladder EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) bash \
#                benchmarks/gpu_pad_ab.sh 2000 --protocol full --row 'state-based recall, m = 256' \
#                --column 'hybrid GGGA[-1,1]' --seed 0", carry=[".whl"])
#   run(command="PRESET=negative-eigenvalues AB='EXPRESSIVITY_PACK=0 EXPRESSIVITY_PACK=auto' TESTS_K=packed \
#                EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) bash benchmarks/gpu_pad_ab.sh 2000 \
#                --row 'mod arithmetic' --column 'gdn[-1,1]' --column 'deltanet[-1,1]'", carry=[".whl"])
set -uo pipefail
STEPS=${1:?steps}
shift
PRESET=${PRESET:-olmo-hybrid}
if [ -n "${PADS:-}" ]; then
  AB=$(for pad in $PADS; do printf 'EXPRESSIVITY_PAD=%s ' "$pad"; done)
fi
AB=${AB:-EXPRESSIVITY_PAD=longest EXPRESSIVITY_PAD=bucket}
OUT=${OUT:-/tmp/gpu_pad_ab_out}
mkdir -p "$OUT"
source benchmarks/gpu_setup.sh
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "commit ${EXPRESSIVITY_GIT_COMMIT:-unknown}; $PRESET $*; steps $STEPS; passes $AB"
} | tee "$OUT/pad_ab.log"
if [ -n "${TESTS_K:-}" ]; then
  timeout -s INT 240 python3 -m pytest -p no:cacheprovider -m gpu -vv tests/runners/test_fused_gpu.py -k "$TESTS_K" \
    >"$OUT/gpu_test.log" 2>&1
  echo "GPU tests (-k $TESTS_K): $(tail -1 "$OUT/gpu_test.log")" | tee -a "$OUT/pad_ab.log"
fi
for pass in $AB; do
  name=${pass//[^A-Za-z0-9]/_}
  started=$(date +%s)
  env "$pass" TORCHINDUCTOR_CACHE_DIR="/tmp/inductor_$name" timeout -s INT 280 python3 -m expressivity.runners.cli \
    reproduce "$PRESET" "$@" --set "steps=$STEPS" --store "/tmp/ab_$name.sqlite" --log-dir "$OUT/logs_$name" \
    >"$OUT/reproduce_$name.log" 2>&1
  echo "$pass: wall $(($(date +%s) - started)) s; $(grep -rh "fused x" "$OUT/logs_$name" 2>/dev/null |
    sed 's/; loss per run.*//' | tr '\n' ' ')" | tee -a "$OUT/pad_ab.log"
  python3 -m expressivity.runners.cli status --store "/tmp/ab_$name.sqlite" --csv "$OUT/runs_$name.csv" >/dev/null 2>&1
done
