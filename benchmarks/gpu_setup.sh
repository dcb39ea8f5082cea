# Sourced by the GPU scripts (benchmarks/gpu_*.sh) on the lent machine, from the repository root: installs the carried
# fla-core wheel (.whl/), restores Triton's compile and autotune cache (.triton/, carried xz-compressed: a third of
# gzip's size, so it fits the call's 64 MiB beside the work tree) and defines `save_triton_cache`, which brings the
# cache back under $OUT in 15 MB pieces (files over 16 MiB do not come back), and `start_mps` / `stop_mps` (NVIDIA's
# multi-process service, started fresh and checked, quit at the call's end), and `keep_store_for_next_call` /
# `merge_last_call_store` (a warm machine's next call starts from the store the last call left; below). Here afterwards:
#   rm -f .triton/* && cp <files_at>/triton_cache.txz.part* .triton/     (.whl/ and .triton/ are git-ignored)
# Here, once:  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#                --platform manylinux2014_x86_64 -d .whl fla-core==0.4.2
# benchmarks/fla_triton_cache.txz is such a cache, committed (fla's kernels and autotuning choices on sm_90, the IR
# left out; Triton finds an entry by a hash of kernel source, options and Triton version, so a stale one is a miss and
# compiles, never a wrong kernel). A checkout can be new (2026-12-05: .whl, .triton and every checkpoint were gone), and
# then fla compiled cold for 180-230 s of a 30-minute session. Refresh it from a call's pieces when they cover more:
#   cat <files_at>/triton_cache.txz.part* > benchmarks/fla_triton_cache.txz
# torch.compile's caches (compiled stages, FusedModel.compile_stages) stay behind: its FX graphs were 270 MB after one
# session's probes, and the kernels it compiled through Triton several MB each; the call's 64 MiB could not carry them
# beside fla's kernels, which travel. So every call compiles its stages cold (tens of seconds a group).
# EXPRESSIVITY_FAILURES_AT_ONCE: a GPU test's failure is reported as soon as it ends (tests/conftest.py), since a
# call's time limit can kill pytest before its summary.
export PYTHONUNBUFFERED=1 TRITON_CACHE_DIR=/tmp/triton_cache TORCHINDUCTOR_CACHE_DIR=/tmp/inductor_cache \
  EXPRESSIVITY_FAILURES_AT_ONCE=1
mkdir -p "$TRITON_CACHE_DIR" "$OUT"
# Triton's cache: the committed copy of fla's kernels first (FLA_TRITON_CACHE, below), then a carried .triton/ over it
# (the newer, where this checkout has one). A second script sourcing this in the same call (two pilots side by side)
# finds the cache filled and leaves it be.
FLA_TRITON_CACHE=benchmarks/fla_triton_cache.txz
restore_triton_cache() {
  [ -z "$(ls -A "$TRITON_CACHE_DIR")" ] || return 0
  [ -f "$FLA_TRITON_CACHE" ] && tar xJf "$FLA_TRITON_CACHE" -C "$TRITON_CACHE_DIR"
  if ls .triton/triton_cache.txz.part* >/dev/null 2>&1; then cat .triton/triton_cache.txz.part* | tar xJ -C "$TRITON_CACHE_DIR"; fi
  return 0
}
restore_triton_cache
[ -d /tmp/site/fla ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:.

# fla's kernels; not torch.compile's (triton_poi_..., triton_per_...: some 6.6 MB each). Only what a cache hit loads:
# each kernel's .json and .cubin (Triton's CompiledKernel skips group members that are missing and reads only the
# binary; TRITON_STORE_BINARY_ONLY writes such caches) and the launchers' .so. The intermediate IR (.source, .ttir,
# .ttgir, .llir, .ptx) was 119 of 148 MB unpacked and 5.9 of 8.1 MB packed on 2026-12-05: without it the cache (2.2 MB)
# travels beside the tree and two 12.8 MB checkpoints, where before a call chose between them (and fla compiled cold,
# 150-230 s a call).
# It also prints what torch.compile's kernels, left behind, would add packed the same way: with their IR they could
# not travel; without it they might, and spare each call their compiling.
save_triton_cache() {
  local binaries=(--exclude='*.source' --exclude='*.ttir' --exclude='*.ttgir' --exclude='*.llir' --exclude='*.ptx')
  (cd "$TRITON_CACHE_DIR" && for d in */; do
    compgen -G "${d}__grp__triton_*" >/dev/null || echo "$d"
  done) | tar c -C "$TRITON_CACHE_DIR" "${binaries[@]}" -T - | xz -T0 -6 | split -b 15m - "$OUT/triton_cache.txz.part"
  (cd "$TRITON_CACHE_DIR" && for d in */; do
    compgen -G "${d}__grp__triton_*" >/dev/null && echo "$d"
  done) | tar c -C "$TRITON_CACHE_DIR" "${binaries[@]}" -T - | xz -T0 -6 | wc -c |
    awk '{printf "torch.compile'"'"'s kernels, left behind: %.1f MB packed without their IR\n", $1 / 1e6}'
}

# NVIDIA's multi-process service, so the kernels of runs sharing the card run side by side instead of time-sliced.
# A daemon left by an earlier call on a warm machine is quit first: on 2026-12-06 a call that reused the last call's
# failed its first CUDA call ("CUDA-capable device(s) is/are busy or unavailable", one H100) and lost a call's start.
# But a daemon another pilot of this call started, and still uses, is joined, not quit: on 2026-12-07 the second of
# two pilots started 25 s apart quit the first's daemon, and every run of the first failed in torch.compile ("Could
# not find an active GPU backend", one H100). The users are the pids in $MPS_USERS, kept under a lock; a daemon whose
# users have all ended is an earlier call's. MPS is checked on every GPU and left off if the check fails. Call
# stop_mps at the end: the last user quits the daemon, so the card is left as found.
MPS_USERS=/tmp/nvidia-mps-users
start_mps() {
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps CUDA_MPS_LOG_DIRECTORY=/tmp/nvidia-mps-log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  local joined=0 lock
  exec {lock}>"$MPS_USERS.lock"
  flock "$lock"
  if [ -n "$(live_mps_users)" ] && pgrep -f nvidia-cuda-mps-control >/dev/null; then
    joined=1
  else
    quit_mps
    : >"$MPS_USERS"
    nvidia-cuda-mps-control -d {lock}>&-  # the daemon must not keep the lock's file open
  fi
  echo $$ >>"$MPS_USERS"
  flock -u "$lock"
  exec {lock}>&-
  if [ $joined = 1 ]; then
    echo "MPS: joined the daemon of pids $(live_mps_users | { grep -vx $$ || true; } | tr '\n' ' ')" | tee -a "$OUT/card.log"
  fi
  timeout 60 python3 -c "
import torch
for d in range(torch.cuda.device_count()):
    x = torch.ones(256, 256, device=f'cuda:{d}')
    assert (x @ x).sum().item() == 256 ** 3
print('CUDA check passed on', torch.cuda.device_count(), 'GPU(s)')" 2>&1 | tee -a "$OUT/card.log"
  if [ "${PIPESTATUS[0]}" = 0 ]; then  # the check's status, not tee's, whether or not the caller sets pipefail
    # A server starts when the first client connects: its pid listed here is what says MPS is really in use.
    echo "MPS servers: $(echo get_server_list | nvidia-cuda-mps-control 2>&1 | tr '\n' ' ')" | tee -a "$OUT/card.log"
  else
    stop_mps
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "MPS failed its check: running without it" | tee -a "$OUT/card.log"
  fi
}

# The pids in $MPS_USERS still running, one a line.
live_mps_users() {
  local pid
  [ -f "$MPS_USERS" ] || return 0
  while read -r pid; do
    kill -0 "$pid" 2>/dev/null && echo "$pid"
  done <"$MPS_USERS"
}

# This shell stops using MPS; the last user quits the daemon.
stop_mps() {
  local lock
  exec {lock}>"$MPS_USERS.lock"
  flock "$lock"
  live_mps_users | { grep -vx $$ || true; } >"$MPS_USERS.new"
  mv "$MPS_USERS.new" "$MPS_USERS"
  [ -s "$MPS_USERS" ] || quit_mps
  flock -u "$lock"
  exec {lock}>&-
}

# Quits the MPS daemon, if one runs, and waits (up to a minute) for it and its server to end.
quit_mps() {
  pgrep -f 'nvidia-cuda-mps-(control|server)' >/dev/null || return 0
  echo quit | CUDA_MPS_PIPE_DIRECTORY=${CUDA_MPS_PIPE_DIRECTORY:-/tmp/nvidia-mps} nvidia-cuda-mps-control
  for _ in $(seq 60); do
    pgrep -f 'nvidia-cuda-mps-(control|server)' >/dev/null || return 0
    sleep 1
  done
  echo "MPS did not quit within 60 s" | tee -a "$OUT/card.log"
}
# A warm machine keeps the git-ignored files a call left there (for 30 s), but a call's tracked files are this
# checkout's: a store the last call advanced is back at its older copy, in which a run the last call finished is still
# queued, and having left no checkpoint it trains again from step 0 (2026-12-07: a finished DeltaProduct run did). So
# each script leaves its store beside it under an ignored name (.last-call.NAME, .gitignore) and the next call on the
# same machine merges it in first; a fresh machine has none. `expressivity merge` keeps every result either holds.
keep_store_for_next_call() {  # STORE, closed (WAL checkpointed)
  cp "$1" "$(dirname "$1")/.last-call.$(basename "$1")"
}
merge_last_call_store() {  # STORE
  local last
  last="$(dirname "$1")/.last-call.$(basename "$1")"
  [ -f "$last" ] || return 0
  python3 -m expressivity.runners.cli merge "$last" --store "$1" && echo "warm machine: the last call's store merged ($last)"
}
