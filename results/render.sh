#!/usr/bin/env bash
# Render every committed preset's reports from its store: tables (markdown with plots, CSV, LaTeX) and the theory
# check, as each results/PRESET/PROVENANCE.md lists them. Run after a change to scoring, matching, rendering or theory
# (tests/runners/test_committed_results.py fails until the committed files match what the stores render today).
#   bash results/render.sh            # every preset folder under results/
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="python3 -m expressivity.runners.cli"
reruns() {  # --also for each GPU rerun store beside a preset's (rerun-*.sqlite: same keys, which a merge keeps out)
  for rerun in "results/$1/"rerun-*.sqlite; do [ -f "$rerun" ] && printf -- '--also\n%s\n' "$rerun"; done
  return 0
}
for dir in results/*/; do
  name=$(basename "$dir")
  S=$dir/runs.sqlite
  [ -f "$S" ] || continue
  P=$(cat "$dir/PROTOCOL" 2>/dev/null || echo testbed-v1)  # the protocol variant its runs followed
  mapfile -t also < <(reruns "$name")
  $CLI table "$name" --store "$S" --protocol "$P" --out "$dir/table.md" --plot "$dir/plots" "${also[@]}"
  $CLI table "$name" --store "$S" --protocol "$P" --format csv --out "$dir/table.csv" "${also[@]}"
  $CLI table "$name" --store "$S" --protocol "$P" --format latex --out "$dir/table.tex" "${also[@]}"
  COLUMNS=150 $CLI check --store "$S" "${also[@]}" > "$dir/check.txt"
done
# The extra stores some presets keep beside their grid (curricula, probes): their checks.
for extra in negative-eigenvalues/curriculum olmo-hybrid/curriculum-cpu; do
  [ -f "results/$extra.sqlite" ] && COLUMNS=150 $CLI check --store "results/$extra.sqlite" > \
    "results/$(dirname $extra)/check-$(basename $extra).txt"
done
# Grids under way at a paper's protocol (issue 14), reduced or full, beside the complete one: "no runs" where a row
# waits. Each table-VARIANT.md is tested against its store (tests/runners/test_committed_results.py).
for grid in negative-eigenvalues:reduced chomsky:reduced negative-eigenvalues:full illusion-of-state:reduced \
  olmo-hybrid:reduced olmo-hybrid:full; do
  name=${grid%:*} variant=${grid#*:}
  plots=()  # the min-depth curves of the depth sweep (issue 16), accuracy against n and m (issue 15); the others wait
  case $name in illusion-of-state | olmo-hybrid) plots=(--plot "results/$name/plots-$variant") ;; esac
  mapfile -t also < <(reruns "$name")
  $CLI table "$name" --store "results/$name/runs.sqlite" --protocol "$variant" --out "results/$name/table-$variant.md" \
    "${plots[@]}" "${also[@]}"
done
exit 0
