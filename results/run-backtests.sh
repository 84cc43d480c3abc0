#!/usr/bin/env bash
# Regenerates the committed backtest results (results/<dataset>/). Needs ../shared/data beside the
# checkout. Every sampler gets the same budget: Adam, batch 1024, dimension 64, a 3 × 3 grid of
# learning rate × L2, up to 100 epochs with early stopping after 10 without a better validation
# NDCG@20, seeds 1–3; everything is chosen on validation, tests are only reported.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
swift build -c release --product causalrec >/dev/null
common=(--epochs 100 --patience 10 --seeds 3 --dim 64 --batch-size 1024 --optimizer adam --threads 2
        --grid-lr 0.0003,0.001,0.003 --grid-l2 0.0001,0.001,0.01 --quiet)
run() { echo "+ causalrec backtest $*" >&2; .build/release/causalrec backtest "$@"; }

run --data "$data/cnsdiff-food" --sampler random,popularity,dns "${common[@]}" --out results/cnsdiff-food
run --data "$data/cnsdiff-kuairec-partial" --train test_iid --test test_ood --valid-fraction 0.1 \
  --sampler random,popularity,dns "${common[@]}" --out results/cnsdiff-kuairec-partial
run --data "$data/kuairec-sigformer" --train train --valid valid --test test \
  --sampler random,popularity,dns,exposed "${common[@]}" --out results/kuairec-sigformer
