#!/usr/bin/env bash
# Side by side on the same machine, in one session: implicit's BPR and ours on the Food training
# split, same dimension and thread counts; training samples/s of both, and implicit's
# Recall/NDCG@20 scored by our metric code (its iteration count chosen on valid_iid NDCG@20).
#   bench/run-peer.sh [DATA_DIR]      (default ../shared/data/cnsdiff-food)
# ROUNDS=n sets the alternating speed rounds (default 5); SPEED_ONLY=1 skips the quality part.
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

rounds=${ROUNDS:-5}
echo "== speed: implicit $("$venv/bin/python" -c 'import implicit; print(implicit.__version__)') BPR (factors 64 (+1 bias), lr 0.01, reg 0.01, 20 iterations) and ours (causalrec bench, SGD and Adam, batch 8192, 10 epochs), alternating, $rounds rounds"
export OPENBLAS_NUM_THREADS=1
for round in $(seq "$rounds"); do
  "$venv/bin/python" bench/implicit_bpr.py --train "$train" --factors 64 --threads 1 2 --speed-iterations 20 \
    > "$work/implicit-speed-$round.json"
  .build/release/causalrec bench --only train.random --train-file "$train" > "$work/ours-speed-$round.txt"
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
rates = {}
for round in range(1, rounds + 1):
    for threads, rate in json.load(open(f"{work}/implicit-speed-{round}.json"))["speed"].items():
        rates.setdefault(f"implicit BPR, {threads}t", []).append(rate)
    for line in open(f"{work}/ours-speed-{round}.txt"):
        name, _, rest = line.partition(":")
        if rest.strip().endswith("triplets/s"):
            rates.setdefault(name, []).append(float(rest.split()[0]))
def median(name):
    return statistics.median(rates[name])
for name, values in rates.items():
    print(f"{name}: median {median(name) / 1e6:.2f} M samples/s (min {min(values) / 1e6:.2f}, max {max(values) / 1e6:.2f}, {len(values)} runs)")
implicit1 = median("implicit BPR, 1t")
for name in rates:
    if name.startswith("train.") and ".1t" in name:
        print(f"ratio {name} / implicit 1t: {median(name) / implicit1:.2f}x")
sgd1, sgd2 = median("train.random.sgd.1t.data"), median("train.random.sgd.2t.data")
adam1, adam2 = median("train.random.adam.1t.data"), median("train.random.adam.2t.data")
print(f"ratio ours sgd 2t / sgd 1t: {sgd2 / sgd1:.2f}x; sgd / adam: 1t {sgd1 / adam1:.2f}x, 2t {sgd2 / adam2:.2f}x")
PY

[ "${SPEED_ONLY:-0}" = 1 ] && exit 0
echo "== implicit's factors scored with our metric code"
"$venv/bin/python" bench/implicit_bpr.py --train "$train" --factors 64 --threads 1 --speed-iterations 1 \
  --export-iterations 10 25 50 100 200 --out "$work/factors" > "$work/implicit.json"
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
