#!/usr/bin/env bash
# Training throughput on one lent GPU, as one call (../shared/DEVICE.md): install the carried fla-core wheel, restore
# Triton's cache if carried, run the GPU tests of fused training and of fla at the presets' head sizes, then
# benchmarks/grid_throughput.py (old way vs new way, side by side) with ARGS, and bring Triton's cache back.
#   run(command="bash benchmarks/gpu_throughput.sh '--steps 300'", carry=[".whl", ".triton"], timeout_s=600)
#   Here afterwards: mkdir -p .triton && cp <files_at>/triton_cache.txz.part* .triton/   (git-ignored; carry it next)
# PROBE=0 skips the step-time probes (benchmarks/fused_probe.py; PROBES: their argument lines, one per line); TESTS=1
# runs the GPU tests after them (-k TESTS_K), file by file (TEST_FILES); PROBE_LIMIT, TEST_LIMIT and LIMIT cap the
# seconds of each probe, test file and the grid (150, 200, 300; LIMIT=0 skips the grid). Tests cut off by TEST_LIMIT
# get SIGINT, on which pytest still prints the failures so far (a plain kill lost them on 2026-12-02).
set -uo pipefail
ARGS=${1:---steps 300}
OUT=${OUT:-/tmp/gpu_throughput_out}
mkdir -p "$OUT"
LOG="$OUT/throughput.log"
source benchmarks/gpu_setup.sh  # the wheel, Triton's cache, save_triton_cache
export EXPRESSIVITY_GIT_COMMIT=${EXPRESSIVITY_GIT_COMMIT:-unknown}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  # The host too: the old way (eager, launch-bound) ran 1.6-1.9x faster on one call's host than on another's
  # (2026-12-04, BENCHMARKS.md), so a ratio is only read within one call, and the host says which machine it was.
  echo "host: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 -c "import torch, triton, fla; print('torch', torch.__version__, 'triton', triton.__version__, 'fla', fla.__version__)"
  echo "triton cache entries restored: $(ls "$TRITON_CACHE_DIR" | wc -l)"
  if [ "${MPS:-0}" = 1 ]; then  # kernels of the worker processes run side by side instead of time-sliced
    start_mps  # gpu_setup.sh: a fresh daemon, checked
  fi
  if [ "${PROBE:-1}" = 1 ]; then  # PROBES: fused_probe.py argument lines, one per line
    while IFS= read -r line; do
      [ -n "$line" ] && eval "timeout ${PROBE_LIMIT:-150} python3 -u benchmarks/fused_probe.py $line"
    done <<<"${PROBES:-$'--arch gdn --runs 6 --steps 150\n--arch transformer --runs 6 --steps 100'}"
  fi
  if [ "${TESTS:-0}" = 1 ]; then  # file by file, so one file cut off by its limit cannot hide another's report
    for f in ${TEST_FILES:-tests/runners/test_fused_gpu.py tests/architectures/test_arch_gpu.py tests/architectures/test_arch_deltaproduct_gpu.py}; do
      time timeout -s INT -k 20 "${TEST_LIMIT:-200}" python3 -m pytest -p no:cacheprovider -m gpu -v -rA --tb=short \
        --timeout 150 -k "${TESTS_K:-K32 or fused or captured or compiled or deltaproduct or fla}" "$f"
    done
  fi
  if [ "${LIMIT:-300}" != 0 ]; then
    time timeout "${LIMIT:-300}" python3 -u benchmarks/grid_throughput.py $ARGS --out /tmp/gt --log "$OUT/grid_throughput.txt"
  fi
  stop_mps
} 2>&1 | tee "$LOG"
save_triton_cache
tar czf "$OUT/worker_logs.tgz" -C /tmp/gt logs 2>/dev/null
for store in /tmp/gt/old.sqlite /tmp/gt/new.sqlite; do  # the runs themselves, one file each (WAL folded in)
  [ -f "$store" ] && python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" "$store" && cp "$store" "$OUT/"
done
ls -la "$OUT"
