#!/usr/bin/env bash
# A pilot (part of a preset's grid: `reproduce ... --row ... --column ...`) on the lent GPU, as one call, after the GPU
# tests (TESTS=1; TESTS_K=EXPR keeps only the tests pytest's -k selects; file by file, each at most TEST_LIMIT s, so
# a slow one cannot hide another's report; the reports in
# $OUT/gpu_tests.log; a file cut off by its limit gets SIGINT, on which pytest still prints its failures, and -vv
# (-v past pyproject's -q) names each test's outcome as it ends, so a file killed 20 s after that, in the middle of a
# compile, still says which test failed: on 2026-12-04 one printed only "F"). The runs go
# into the preset's committed store (results/PRESET/runs.sqlite), so the whole grid later reuses them; the store, the
# logs and Triton's cache come back under $OUT.
#   run(command="EXPRESSIVITY_GIT_COMMIT=$(git rev-parse HEAD) TESTS=1 bash benchmarks/gpu_pilot.sh olmo-hybrid 400 \
#                --protocol reduced --row 'state-based recall (n)' --column transformer", carry=[".whl", ".triton"])
#   Here afterwards: expressivity merge <files_at>/runs.sqlite --store results/PRESET/runs.sqlite (keeps every run
#   either store holds; a plain cp drops those of an earlier call not yet copied); cp <files_at>/triton_cache.txz.part* .triton/
# GRID=FILE.toml runs that grid file instead (a probe that is not part of the preset: other learning rates or steps),
# into FILE.sqlite beside it, with the rest of the arguments passed to `grid` (e.g. --per-gpu 9); the store comes back
# under its own name. CHECKPOINTS=1 brings back, as parts of 15 MiB, the checkpoints this call wrote of runs the time
# limit left in flight, most advanced first (those of finished runs are deleted; those carried in are here already),
# which a later call resumes when carried as checkpoints/ beside the store (results/PRESET, or a GRID file's folder):
# here, cat the parts | tar x -C that folder. Without them a later call starts those runs again from step 0.
# Only some fit the 64 MiB that travel: pass --only-checkpointed (grid and reproduce) to resume the carried ones
# alone, the rest left queued (before 2026-12-05 a call narrowed the grid file by hand to the carried runs' seeds).
# A call on a warm machine (made within its 30 s of idle after the last) should not need to carry them: the run
# tool keeps the git-ignored files a call left (results/PRESET/checkpoints among them) unless carry names the path
# (its description; seen for the logs here, and on 2026-12-05 for a grid file's checkpoints, resumed by the next call
# from its folder), but the machine is given back 30 s after a call, and what it held goes with it. Carrying two
# beside .triton and the tree passed the 64 MiB on 2026-12-05, until save_triton_cache left out the intermediate IR
# (the cache 8.1 -> 2.2 MB): now .whl, .triton and two 12.8 MB checkpoints travel. Without .triton fla compiles cold:
# 190-230 s before a group's first step on 2026-12-05. The store still has to be copied in first: the tree's copy
# replaces the device's.
# About 3-4 parts come back at most (8 files and 64 MiB in all, beside the store, logs and Triton's cache): only the
# most advanced checkpoints that fit whole are shipped, the call's log says how many, and carried ones share the
# call's 64 MiB with the tree and Triton's cache (19 MB): a few runs' checkpoints travel, not a grid's (a DeltaProduct
# run's is 11-16 MB). NAME=b puts a pilot's files in $OUT/b and its logs under results/PRESET/logs/b, so two pilots
# in one call keep theirs apart (until 2026-12-04 they shared one folder and file names). Until 2026-12-05 a pilot
# was named by OUT=$OUT/b, and the checkpoints' room was counted over the folder above OUT: for a pilot left in the
# call's own $OUT that was the machine's home folder, so no checkpoint came back (12 runs at step 4500 lost).
# The device returns at most 8 files: the logs (card, grid, tests, workers) come back as one logs.tgz, beside the store,
# Triton's cache (2 parts; SAVE_TRITON=0 leaves it) and the checkpoint parts. Two pilots can share a call, each with
# its own NAME, started seconds apart (`A & sleep 20; B & wait`: not `while pgrep -f gpu_pilot.sh`, which
# matches the call's own command line and waited out a whole call's limit on 2026-12-03), one with SAVE_TRITON=0,
# if their files number 8 in all (each pilot brings its store and logs.tgz: three pilots and Triton's cache are 9): the preset's
# one checkpoint folder holds both pilots' runs in flight, so give CHECKPOINTS=1 to one of them only, and share the card
# only when neither needs its pace (on 2026-12-05, one H100: a state-based recall group of 3 at m = 16 beside two
# m = 256 runs took 92 ms a step against 22.5 alone, and the two 97 against 72-77; then both m = 256 runs failed at
# the same second, "illegal memory access", 6 s after the third group stopped at its limit: under MPS one client's
# fault ends the others', and which process faulted is not known; on 2026-12-03 a full-protocol transformer beside a
# 48-run grid went from ~7 to 23 ms a step, and 11 checkpoint parts left no resumable run among the 8 files that came
# back). The grid stops
# itself at LIMIT; `timeout` stops it with SIGINT (runs in flight go back to the queue) GRACE s later (default 60) if
# it has not, so the store still comes back (a fused group's runs that stopped at their target before the limit are in
# it: each is recorded when it stops, since 2026-12-04): keep LIMIT + GRACE + about 60 s of set-up and copying under
# timeout_s. Merge the store that comes back into results/PRESET before the next call: each call brings this
# checkout's copy, not the last call's (on 2026-12-04 a call started before the last one's store was copied in).
set -uo pipefail
PRESET=${1:?preset}
LIMIT=${2:?seconds}
shift 2
CALL_OUT=${OUT:-/tmp/gpu_pilot_out}  # the call's folder (this default outside a lent machine's call)
OUT=$CALL_OUT${NAME:+/$NAME}  # this pilot's folder
LOGS=results/$PRESET/logs/${NAME:-$(basename "$OUT")}  # this pilot's worker and call logs
# A warm machine keeps the last call's files: its logs under this NAME came back with it, and left here they would
# be appended to and come back again inside this pilot's (on 2026-12-05 a second pilot's worker log began with the
# first's).
rm -rf "$LOGS"
mkdir -p "$OUT" "$LOGS"
STARTED=$(mktemp)  # checkpoints older than this were carried in: they need not come back
source benchmarks/gpu_setup.sh  # the wheel, Triton's cache, save_triton_cache
export CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps CUDA_MPS_LOG_DIRECTORY=/tmp/nvidia-mps-log
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
nvidia-cuda-mps-control -d
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, fla; print('torch', torch.__version__, 'fla', fla.__version__)"
  echo "commit ${EXPRESSIVITY_GIT_COMMIT:-unknown}; reproduce $PRESET $*; limit $LIMIT s"
} | tee "$OUT/card.log"
if [ "${TESTS:-0}" = 1 ]; then
  for f in tests/runners/test_fused_gpu.py tests/architectures/test_arch_deltaproduct_gpu.py; do
    timeout -s INT -k 20 "${TEST_LIMIT:-150}" python3 -m pytest -p no:cacheprovider -m gpu -vv -rA --tb=short --timeout 90 \
      ${TESTS_K:+-k "$TESTS_K"} "$f" >>"$OUT/gpu_tests.log" 2>&1
  done
fi
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -l 30 >>"$OUT/card.log" &
sampler=$!
started=$(date +%s)
if [ -n "${GRID:-}" ]; then
  STORE=${GRID%.toml}.sqlite
  timeout -s INT -k 30 $((LIMIT + ${GRACE:-60})) python3 -m expressivity.runners.cli grid "$GRID" --store "$STORE" --time-limit "$LIMIT" \
    --log-dir "$LOGS" "$@" >"$OUT/reproduce.log" 2>&1
  echo "wall $(($(date +%s) - started)) s: grid $GRID $*" | tee -a "$OUT/card.log"
else
  STORE=results/$PRESET/runs.sqlite
  timeout -s INT -k 30 $((LIMIT + ${GRACE:-60})) python3 -m expressivity.runners.cli reproduce "$PRESET" --store "$STORE" --time-limit "$LIMIT" \
    --log-dir "$LOGS" "$@" >"$OUT/reproduce.log" 2>&1
  echo "wall $(($(date +%s) - started)) s: reproduce $PRESET $*" | tee -a "$OUT/card.log"
fi
kill "$sampler" 2>/dev/null
python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" \
  "$STORE"
cp "$STORE" "$OUT/"
mkdir -p "$LOGS/call" && mv "$OUT"/*.log "$LOGS/call/"  # one file back for every log
tar czf "$OUT/logs.tgz" -C "results/$PRESET" logs
[ "${SAVE_TRITON:-1}" = 1 ] && save_triton_cache  # SAVE_TRITON=0: a second pilot in the same call leaves it
STORE_DIR=$(dirname "$STORE")  # the checkpoints are beside the store: results/PRESET, or a grid file's folder
if [ "${CHECKPOINTS:-0}" = 1 ] && [ -d "$STORE_DIR/checkpoints" ]; then
  # What comes back is at most 8 files and 64 MiB in all, counted over the call's $OUT (CALL_OUT: the folder above
  # a named pilot's), and a part that cannot come back crowds out what could: on 2026-12-04 six checkpoints made 5
  # parts, and the fifth and Triton's cache were left out. So the store, the logs and Triton's cache go first, then
  # of the checkpoints this call wrote the most advanced that fit whole in what is left (checkpoints_to_ship.py).
  files_left=$((8 - $(find "$CALL_OUT" -type f | wc -l)))
  parts=$(((64 - $(du -sm "$CALL_OUT" | cut -f1)) / 15))
  [ "$parts" -gt "$files_left" ] && parts=$files_left
  [ "$parts" -lt 0 ] && parts=0
  python3 benchmarks/checkpoints_to_ship.py "$STORE_DIR/checkpoints" --newer "$STARTED" >"$STARTED.all"
  python3 benchmarks/checkpoints_to_ship.py "$STORE_DIR/checkpoints" --newer "$STARTED" \
    --budget-mb $((parts * 15)) >"$STARTED.ship"
  if [ -s "$STARTED.ship" ]; then
    tar cf - -C "$STORE_DIR" -T "$STARTED.ship" | split -b 15M - "$OUT/checkpoints.tar.part-"
  fi
  echo "checkpoints: $(wc -l <"$STARTED.ship") of the $(wc -l <"$STARTED.all") runs in flight come back" \
    "($((parts * 15)) MiB in $parts parts were left beside the store, logs and Triton's cache); the others restart" \
    "from step 0"
fi
echo "files back: $(ls "$OUT" | wc -l) (at most 8 come back)"
L=$LOGS/call
tail -n 30 "$L/reproduce.log"; tail -n 25 "$L/gpu_tests.log" 2>/dev/null
