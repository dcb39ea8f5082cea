#!/usr/bin/env bash
# After a lent GPU call of gpu_pilot.sh or gpu_reproduce.sh, here: bring what came back into this checkout, in the
# order the next call needs it.
#   bash benchmarks/gpu_collect.sh FILES_AT DEST_DIR
# FILES_AT is the call's folder of returned files (the run tool's files_at); DEST_DIR is where the stores and their
# checkpoints live: results/PRESET for a preset's pilot, or the grid file's folder for GRID=.
#   1. each FILES_AT/*.sqlite is merged into DEST_DIR/<the same name> (`expressivity merge`: every run either store
#      holds is kept; a plain cp would drop an earlier call's runs), so merge before the next call, which carries
#      this checkout's copy of the store;
#   2. checkpoint parts (checkpoints.tar.part-*) are joined and unpacked into DEST_DIR (DEST_DIR/checkpoints/KEY.pt,
#      replacing older files of the same runs): the next call carries them to resume those runs;
#   3. Triton's cache parts replace .triton/* (gpu_setup.sh restores them on the next machine);
#   4. logs.tgz is unpacked into a new folder (printed), never over an earlier call's logs, and each worker log's last
#      logged step is printed.
# Stops at the first failure, having changed nothing after it. PYTHON picks the interpreter (default python3).
set -euo pipefail
FILES_AT=${1:?give the folder of files a call returned (files_at)}
DEST=${2:?where the stores and checkpoints live, e.g. results/olmo-hybrid}
[ -d "$FILES_AT" ] || { echo "no folder $FILES_AT (give the call's files_at)" >&2; exit 2; }
mkdir -p "$DEST"
shopt -s nullglob
for store in "$FILES_AT"/*.sqlite; do
  "${PYTHON:-python3}" -m expressivity.runners.cli merge "$store" --store "$DEST/$(basename "$store")"
done
parts=("$FILES_AT"/checkpoints.tar.part-*)
if [ ${#parts[@]} -gt 0 ]; then
  cat "${parts[@]}" | tar xf - -C "$DEST"
  echo "checkpoints: $(tar tf <(cat "${parts[@]}") | grep -c '\.pt$') unpacked into $DEST/checkpoints"
fi
triton=("$FILES_AT"/triton_cache.txz.part*)
if [ ${#triton[@]} -gt 0 ]; then
  mkdir -p .triton
  rm -f .triton/*
  cp "${triton[@]}" .triton/
  echo "Triton's cache: ${#triton[@]} part(s) into .triton/"
fi
if [ -f "$FILES_AT/logs.tgz" ]; then
  logs=$(mktemp -d /tmp/gpu_logs.XXXXXX)
  tar xzf "$FILES_AT/logs.tgz" -C "$logs"
  echo "logs: $logs"
  for log in $(find "$logs" -name 'worker-*.log' | sort); do
    last=$(grep -oE 'step [0-9]+ at [0-9.]+s' "$log" | tail -n 1 || true)
    echo "  ${log#"$logs"/}: ${last:-no step logged}"
  done
fi
