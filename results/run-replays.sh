#!/usr/bin/env bash
# Regenerates the committed replay reports: test-then-train over real logs, several samplers side by
# side, every click ranked over all items before it is learned, with two peers beside them (most
# clicked so far; decayed popularity, its half-life chosen on the first 20 % of the stream).
#   results/replay-ml-latest-small/            MovieLens latest-small in timestamp order (rating ≥ 4 = click),
#                                              the default configuration
#   results/replay-ml-latest-small/variants/   the random sampler under each configs/*.yaml; the one with
#                                              the best NDCG@20 on the first 20 % of the stream is named in
#                                              variants/chosen.txt (choice on the stream's first part only)
#   results/replay-obd/<policy>-<campaign>/         each Open Bandit log on its own
#   results/replay-obd/bts-to-random-<campaign>/    learn the Thompson-sampling log, score the uniform-random one
# Needs ../shared/data beside the checkout, and python3 for the choice.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
source results/binary.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { echo "+ causalrec $*" >&2; "$binary" "$@"; }

samplers=random,popularity,dns,exposed,cnsdiff
ml=results/replay-ml-latest-small
run convert --from movielens "$data/ml-latest-small/ratings.csv.gz" -o "$work/ml.jsonl"
run replay --input "$work/ml.jsonl" --samplers "$samplers" --window 10000 --drift-window 10000 --report "$ml" --quiet

rm -rf "$ml/variants"
for config in "$ml"/configs/*.yaml; do
  name=$(basename "$config" .yaml)
  run replay --config "$config" --input "$work/ml.jsonl" --samplers random --window 10000 --drift-window 10000 \
    --report "$ml/variants/$name" --quiet
done
python3 - "$ml/variants" <<'EOF' > "$ml/variants/chosen.txt"
import json, os, sys
root = sys.argv[1]
def first_part(report):
    limit = max(int(report["events"] * 0.2), 1)
    windows = [w for i, w in enumerate(report["windows"]) if i == 0 or w["last_event"] <= limit]
    scores = [w["samplers"]["random"] for w in windows]
    return sum(s["ndcg@20"] * s["evaluated"] for s in scores) / max(1, sum(s["evaluated"] for s in scores))
rows = []
for name in sorted(os.listdir(root)):
    path = os.path.join(root, name, "report.json")
    if os.path.exists(path):
        report = json.load(open(path))
        rows.append((first_part(report), name, report["samplers"][0]["ndcg@20"]))
best = max(rows)
print(f"chosen on the first 20 % of the stream: {best[1]}")
for first, name, whole in rows:
    print(f"{name}: first 20 % NDCG@20 {first:.4f}, whole stream {whole:.4f}")
EOF
cat "$ml/variants/chosen.txt" >&2

for campaign in all men women; do
  for policy in bts random; do
    run convert --from obd "$data/obd-sample/$policy/$campaign/$campaign.csv.gz" -o "$work/obd-$policy-$campaign.jsonl"
    run replay --input "$work/obd-$policy-$campaign.jsonl" --samplers "$samplers" --window 1000 --drift-window 1000 \
      --report "results/replay-obd/$policy-$campaign" --quiet
  done
  run replay --warm "$work/obd-bts-$campaign.jsonl" --input "$work/obd-random-$campaign.jsonl" --samplers "$samplers" \
    --window 1000 --drift-window 1000 --report "results/replay-obd/bts-to-random-$campaign" --quiet
done
