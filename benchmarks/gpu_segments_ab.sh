#!/usr/bin/env bash
# The fused forward as segments (HEAD) against five compiled stages a block (23c5de5's architectures/fused.py), on
# one card in one call: the benchmark grid first (benchmarks/gpu_throughput.sh, old way against new, as BENCHMARKS.md's
# "Old way against new" rows), then a fused GDN step of each form alone on the card (fused_probe.py, 24 runs, captured
# and compiled, padded to 42). The earlier form travels as an untracked file (the device gets no git history):
#   git show 23c5de5:expressivity/architectures/fused.py > ab_fused_modules.py     (here, before the call; not committed)
#   run(command="COMMIT=<hash> bash benchmarks/gpu_segments_ab.sh", carry=[".whl", ".triton"], timeout_s=600)
# FORMS="" skips the probes (each profiles 3 steps after its timed ones); LIMIT caps the benchmark grid's seconds (330).
set -uo pipefail
OUT=${OUT:-/tmp/segments_ab_out}
mkdir -p "$OUT"
[ -f ab_fused_modules.py ] || { echo "ab_fused_modules.py missing: make it with git show (see this script's head)"; exit 2; }
source benchmarks/gpu_setup.sh
EXPRESSIVITY_GIT_COMMIT=${COMMIT:-unknown} MPS=1 PROBE=0 LIMIT=${LIMIT:-330} bash benchmarks/gpu_throughput.sh \
  '--preset negative-eigenvalues --steps 0 --modes old,new --per-gpu 16 --old-sample 12'
segments=$(mktemp)
cp expressivity/architectures/fused.py "$segments"
for form in ${FORMS-segments stages}; do
  [ "$form" = stages ] && cp ab_fused_modules.py expressivity/architectures/fused.py
  echo "=== $form"
  timeout 70 python3 -u benchmarks/fused_probe.py --arch gdn --runs 24 --steps 250 --pad 42 --profile 3 \
    --only "fused graphs, one buffer, compiled" 2>&1 | grep -v "warning\|Warn\|strides\|sizes()"
done 2>&1 | tee "$OUT/ab.log"
cp "$segments" expressivity/architectures/fused.py
