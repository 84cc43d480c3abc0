#!/usr/bin/env bash
# Regenerates the committed backtest results (results/<dataset>/). Needs ../shared/data beside the
# checkout. No tuning flags: every run uses the recommended protocol, which is what
# `causalrec backtest --data DIR` runs by default (BacktestOptions.Recommended):
#   Adam, batch 1024, dimension 64, learning rate 0.001, up to 100 epochs, early stop after 10
#   without a better validation NDCG@20, seeds 1–3;
#   grid chosen on validation, the same for every sampler: L2 ∈ {0.03, 0.1} × training exposure
#   exponent γ ∈ {0, 0.15}; at every epoch the ranking exponent γ̃ ∈ {0, 0.1, 0.25, 0.5, 1, 2} over
#   the exposure estimate or the training clicks, separately for users with fewer than 3 training
#   clicks; peers beside it: mostpop and EASE (λ ∈ {10, 100, 1000, 3000, 10000, 30000, 100000, 300000}
#   on validation).
# SAMPLERS=a,b and DATASETS=x,y narrow a run (e.g. to add cnsdiff later: SAMPLERS=cnsdiff, resumed into
# the committed folder, which already holds this protocol). The tests are only reported.
# Interrupted runs continue where they stopped (--resume keeps the finished (sampler, seed) pairs).
# A dataset whose committed folder was made under another protocol is re-run in
# results/.staging/<dataset>; when complete it replaces the folder and the old results move to
# results/<dataset>/previous-protocol/, so two protocols never mix in one table.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
source results/binary.sh
protocol="recommended protocol of 2026-12 (deconfounded grid, EASE peer)"
samplers=${SAMPLERS:-random,popularity,dns,causal,cnsdiff}
datasets=,${DATASETS:-kuairec-sigformer,cnsdiff-kuairec-partial,cnsdiff-food},
common=(--seeds 3 --threads 2 --quiet --resume)

# backtest DATASET ARGS...: runs into the committed folder if it holds this protocol's results,
# else into the staging folder, moved over the committed one once every run has finished.
backtest() {
  local name=$1; shift
  [[ $datasets == *",$name,"* ]] || return 0
  local destination=results/$name staging=results/.staging/$name out
  if [[ "$(cat "$destination/protocol.txt" 2>/dev/null)" == "$protocol" ]]; then out=$destination; else out=$staging; fi
  # The research log goes in before the run: the README the run writes ends with it.
  if [[ $out == "$staging" && -f $destination/log.md ]]; then mkdir -p "$staging" && cp "$destination/log.md" "$staging/log.md"; fi
  echo "+ causalrec backtest --data $data/$name $* ${common[*]} --out $out" >&2
  "$binary" backtest --data "$data/$name" "$@" "${common[@]}" --out "$out"
  if [[ $out == "$staging" ]]; then
    echo "$protocol" > "$staging/protocol.txt"
    sed -i "s#results/.staging/#results/#g" "$staging/commands.txt" "$staging/README.md"
    if [[ -d $destination ]]; then
      rm -rf "$destination/previous-protocol"
      mv "$destination" "$staging/previous-protocol"
    fi
    mv "$staging" "$destination"
  fi
}

backtest kuairec-sigformer --train train --valid valid --test test --sampler "$samplers,exposed"
backtest cnsdiff-kuairec-partial --train test_iid --test test_ood --valid-fraction 0.1 --sampler "$samplers"
backtest cnsdiff-food --sampler "$samplers"
