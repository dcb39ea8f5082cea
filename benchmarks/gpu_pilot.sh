#!/usr/bin/env bash
# A pilot on the lent GPU as one call: part of a preset's grid (`reproduce PRESET ARGS`: --row, --column, ...), its
# runs going into the preset's committed store, so the whole grid later reuses them. Its store, logs and Triton's
# cache come back under $OUT.
#   run(command="EXPRESSIVITY_GIT_COMMIT=COMMIT bash benchmarks/gpu_pilot.sh olmo-hybrid 480 \
#                --protocol full --row 'state-based recall, m = 16' --column 'hybrid GGGA[-1,1]'", carry=[".whl"])
#   COMMIT is this checkout's `git rev-parse --short HEAD`, written into the command here: on the machine the same
#   command reads a copy of .git that can lag the tree it runs (2026-12-07: calls from a8bb246 recorded 5a10276).
#   Here afterwards: bash benchmarks/gpu_collect.sh <files_at> results/PRESET (or the grid file's folder): it merges
#   the store (`expressivity merge`, which keeps every run either store holds; a plain cp would drop an earlier
#   call's), unpacks the checkpoints, replaces .triton and unpacks the logs into a new folder. Collect before the next
#   call: each call brings this checkout's copy of the store, not the last call's.
# The grid stops itself at LIMIT s; `timeout` sends SIGINT GRACE s later (default 60) if it has not (runs in flight go
# back to the queue), so the store still comes back. Keep LIMIT + GRACE + about 60 s of set-up and copying under the
# call's timeout_s.
# Settings (environment):
#   TESTS=1       the GPU tests first, file by file, each at most TEST_LIMIT s (default 150), TESTS_K=EXPR for pytest's
#                 -k; reports in the call's gpu_tests.log. -vv names each test's outcome as it ends, and each
#                 failure's report follows at once (EXPRESSIVITY_FAILURES_AT_ONCE, set by gpu_setup.sh), so a file cut
#                 off by its limit still says which test failed and why.
#                 Each test may take 180 s: cold compiles are slow (2026-12-06, one H100: the ladder's test failed with
#                 no report under a 90 s limit, its file cut off at 100 s; on the same machine, caches warm, it passed
#                 in 66 s), so give TEST_LIMIT room for a file's tests.
#   GRID=FILE     that grid file instead of the preset (a probe that is not part of it), into FILE.sqlite beside it;
#                 the other arguments go to `grid` (e.g. --per-gpu 9).
#   CHECKPOINTS=1 bring back, in 15 MiB parts, the checkpoints this call wrote of runs still in flight, most advanced
#                 first, as many as fit whole beside the store, logs and Triton's cache (checkpoints_to_ship.py; the
#                 log says how many). With `--keep-checkpoints` (a grid option) a run that finishes keeps its last
#                 checkpoint, which then comes back too: the way to probe a finished run's weights here. Here: cat
#                 the parts | tar x -C results/PRESET (or the grid file's folder). A later call that carries them
#                 there resumes those runs (pass --only-checkpointed to run them alone, the rest left queued);
#                 without them the runs start again from step 0.
#   NAME=b        this pilot's files in $OUT/b and its logs in results/PRESET/logs/b: two pilots in one call keep
#                 theirs apart (start them seconds apart, `A & sleep 20; B & wait`; give CHECKPOINTS=1 to one, since
#                 the preset has one checkpoint folder, and SAVE_TRITON=0 to the other).
#   SAVE_TRITON=0 leave Triton's cache behind.
#   EXPRESSIVITY_PACK=auto (or a row length) packs several examples a row where lengths are drawn per example
#                 (training/packing.py; run keys unchanged). Off by default: its GPU tests passed, and on one H100
#                 it saved 3% of a step over 3500 steps (2026-12-06, gpu_pad_ab.sh; BENCHMARKS.md).
# Limits that shape a call (the device's README): at most 8 files and 64 MiB come back, counted over the call's $OUT
# (the store, one logs.tgz, Triton's cache, then checkpoint parts); what travels in, tree and carried paths, is at
# most 64 MiB. The tree is about 20 MB by `git ls-files -co --exclude-standard | du` since the committed stores'
# training curves were compressed (2026-12-06, `expressivity compact`; before, this measure gave 33 MB and the device
# counted 41, refusing two 13 MB checkpoints beside .whl and .triton), so two checkpoints now fit beside them. If a
# call is refused for size, move aside for that call tracked stores it does not read (results/negative-eigenvalues
# and results/illusion-of-state runs.sqlite) and put them back after. A warm machine keeps the
# files a call left for 30 s, so a call made within that window resumes from them without carrying them (the store
# the last call left there is merged in first: gpu_setup.sh's merge_last_call_store); after it,
# and in a new checkout here (git-ignored files are gone: 2026-12-05), a run whose steps do not fit one session's
# card time cannot be finished by resuming.
# Share the card only when neither pilot needs its pace: under MPS a state-based recall group of 3 at m = 16 beside two
# m = 256 runs took 92 ms a step against 22.5 alone, the two 97 against 72-77, and then one client's fault ("illegal
# memory access") ended both m = 256 runs (2026-12-05, one H100; results/README.md).
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
start_mps  # gpu_setup.sh: a fresh daemon, checked
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, fla; print('torch', torch.__version__, 'fla', fla.__version__)"
  echo "commit ${EXPRESSIVITY_GIT_COMMIT:-unknown}; reproduce $PRESET $*; limit $LIMIT s"
} | tee "$OUT/card.log"
if [ "${TESTS:-0}" = 1 ]; then
  for f in tests/runners/test_fused_gpu.py tests/architectures/test_arch_deltaproduct_gpu.py; do
    timeout -s INT -k 20 "${TEST_LIMIT:-150}" python3 -m pytest -p no:cacheprovider -m gpu -vv -rA --tb=short --timeout 180 \
      ${TESTS_K:+-k "$TESTS_K"} "$f" >>"$OUT/gpu_tests.log" 2>&1
  done
fi
STORE=results/$PRESET/runs.sqlite
[ -n "${GRID:-}" ] && STORE=${GRID%.toml}.sqlite
merge_last_call_store "$STORE" | tee -a "$OUT/card.log"  # gpu_setup.sh: on a warm machine, the last call's runs
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -l 30 >>"$OUT/card.log" &
sampler=$!
started=$(date +%s)
if [ -n "${GRID:-}" ]; then
  timeout -s INT -k 30 $((LIMIT + ${GRACE:-60})) python3 -m expressivity.runners.cli grid "$GRID" --store "$STORE" --time-limit "$LIMIT" \
    --log-dir "$LOGS" "$@" >"$OUT/reproduce.log" 2>&1
  echo "wall $(($(date +%s) - started)) s: grid $GRID $*" | tee -a "$OUT/card.log"
else
  timeout -s INT -k 30 $((LIMIT + ${GRACE:-60})) python3 -m expressivity.runners.cli reproduce "$PRESET" --store "$STORE" --time-limit "$LIMIT" \
    --log-dir "$LOGS" "$@" >"$OUT/reproduce.log" 2>&1
  echo "wall $(($(date +%s) - started)) s: reproduce $PRESET $*" | tee -a "$OUT/card.log"
fi
kill "$sampler" 2>/dev/null
stop_mps
python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" \
  "$STORE"
cp "$STORE" "$OUT/"
keep_store_for_next_call "$STORE"  # gpu_setup.sh: for a call made on this machine while it is warm
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
  echo "checkpoints: $(wc -l <"$STARTED.ship") of the $(wc -l <"$STARTED.all") written in this call come back" \
    "(room for $parts parts of 15 MiB beside the store, logs and Triton's cache); the others restart from step 0"
fi
echo "files back: $(ls "$OUT" | wc -l) (at most 8 come back)"
L=$LOGS/call
tail -n 30 "$L/reproduce.log"
# Without TESTS=1 there is no test log; a failed tail must not become the call's exit status.
if [ -f "$L/gpu_tests.log" ]; then tail -n 25 "$L/gpu_tests.log"; fi
