#!/usr/bin/env bash
# Regenerates the committed replay reports (issue 4): test-then-train over real logs, several
# samplers side by side, every click ranked over all items before it is learned.
#   results/replay-ml-latest-small/   MovieLens latest-small in timestamp order (rating ≥ 4 = click)
#   results/replay-obd/<policy>-<campaign>/         each Open Bandit log on its own
#   results/replay-obd/bts-to-random-<campaign>/    learn the Thompson-sampling log, score the uniform-random one
# Needs ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
source results/binary.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { echo "+ causalrec $*" >&2; "$binary" "$@"; }

samplers=random,popularity,dns,exposed,cnsdiff
run convert --from movielens "$data/ml-latest-small/ratings.csv.gz" -o "$work/ml.jsonl"
run replay --input "$work/ml.jsonl" --samplers "$samplers" --window 10000 --drift-window 10000 \
  --report results/replay-ml-latest-small --quiet

for campaign in all men women; do
  for policy in bts random; do
    run convert --from obd "$data/obd-sample/$policy/$campaign/$campaign.csv.gz" -o "$work/obd-$policy-$campaign.jsonl"
    run replay --input "$work/obd-$policy-$campaign.jsonl" --samplers "$samplers" --window 1000 --drift-window 1000 \
      --report "results/replay-obd/$policy-$campaign" --quiet
  done
  run replay --warm "$work/obd-bts-$campaign.jsonl" --input "$work/obd-random-$campaign.jsonl" --samplers "$samplers" \
    --window 1000 --drift-window 1000 --report "results/replay-obd/bts-to-random-$campaign" --quiet
done
