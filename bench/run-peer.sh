#!/usr/bin/env bash
# Side by side on the same machine, in one session: implicit's BPR and ours on the Food training
# split, same dimension and thread counts; training samples/s of both, and implicit's
# Recall/NDCG@20 scored by our metric code (its iteration count chosen on valid_iid NDCG@20).
#   bench/run-peer.sh [DATA_DIR]      (default ../shared/data/cnsdiff-food)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/cnsdiff-food}
[ -d "$data" ] || { echo "no dataset at $data (it lives in ../shared/data beside the checkout)" >&2; exit 1; }
venv=.tools/venv-implicit
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "implicit==0.7.3" "numpy<3" "scipy<2"
fi
swift build -c release --product causalrec >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
train=$(ls "$data"/train.txt* | head -n1)

echo "== implicit $("$venv/bin/python" -c 'import implicit; print(implicit.__version__)') BPR, factors 64 (+1 bias), lr 0.01, reg 0.01"
OPENBLAS_NUM_THREADS=1 "$venv/bin/python" bench/implicit_bpr.py --train "$train" --factors 64 --threads 1 2 \
  --speed-iterations 20 --export-iterations 10 25 50 100 200 --out "$work/factors" > "$work/implicit.json"
python3 - "$work/implicit.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for threads, rate in r["speed"].items():
    print(f"implicit BPR, {threads} thread(s): {rate:,.0f} training samples/s ({r['positives']} positives x 20 iterations)")
PY

echo "== ours (causalrec bench on the same file, SGD and Adam, batch 8192)"
.build/release/causalrec bench --only train.random --train-file "$train"

echo "== implicit's factors scored with our metric code"
best=""; best_valid=-1
for iteration in 10 25 50 100 200; do
  users=$(python3 -c "import json;print(json.load(open('$work/implicit.json'))['exports']['$iteration'][0])")
  items=$(python3 -c "import json;print(json.load(open('$work/implicit.json'))['exports']['$iteration'][1])")
  .build/release/causalrec backtest --data "$data" --score-factors "$users,$items" --name "implicit-bpr-$iteration" \
    --json "$work/scored-$iteration.json" --quiet >/dev/null
  valid=$(python3 -c "import json;print([r for r in json.load(open('$work/scored-$iteration.json')) if r['split'].startswith('valid')][0]['metrics']['ndcg@20'])")
  echo "  iterations $iteration: valid ndcg@20 $valid"
  if python3 -c "import sys; sys.exit(0 if $valid > $best_valid else 1)"; then best=$iteration; best_valid=$valid; fi
done
echo "selected on validation: $best iterations"
python3 - "$work/scored-$best.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    m = r["metrics"]
    print(f"implicit-bpr {r['split']}: recall@20 {m['recall@20']:.4f} ndcg@20 {m['ndcg@20']:.4f}")
PY
