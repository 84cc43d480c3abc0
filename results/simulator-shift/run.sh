#!/usr/bin/env bash
# Regenerates results/simulator-shift/: the simulator with a planted exposure shift, judged against
# its true preferences. Choices are made on validation seeds 101–106 (another stream of the same
# simulator); the table reports seeds 1–3. Every configuration is a pipeline.yaml in configs/.
set -euo pipefail
cd "$(dirname "$0")/../.."
source results/binary.sh
out=results/simulator-shift
run() { echo "+ causalrec $*" >&2; "$binary" "$@"; }

# Validation: the training exposure exponent γ (deconfounded ranking, no online choice), the online
# choice of γ̃ and propensity weighting, all with the random sampler.
for name in gamma-0 gamma-0.15 gamma-0.3 gamma-0.5 gamma-1 gamma-0.5-online gamma-0-propensity-0.5 gamma-0-propensity-1 \
            gamma-0.5-propensity-0.5; do
  run shift-eval --samplers random --seeds 6 --first-seed 101 --config "$out/configs/$name.yaml" \
    --json "$out/validation/$name.json" > "$out/validation/$name.txt"
done

# Test (reported): the default configuration for every sampler, and the named variants beside it.
# (records.json was made with CNSDiff version 1, whose rows are named cnsdiff there; its ablations
# were dropped with version 2.)
run shift-eval --samplers random,popularity,dns,exposed,cnsdiff-v1,cnsdiff-reference \
  --seeds 3 --json "$out/records.json" > "$out/records.txt"
for name in gamma-0 gamma-0.5-online gamma-0-propensity-1; do
  run shift-eval --samplers random,popularity,dns --seeds 3 --config "$out/configs/$name.yaml" \
    --json "$out/test-$name.json" > "$out/test-$name.txt"
done

# The causal sampler (docs/method.md, "The causal sampler"). Choices on validation seeds 101–102,
# at training γ = 0.5 and γ = 0, deconfounded ranking (γ̃ = 0): the selection rule, the share of
# shown-and-skipped candidates, ρ and the false-negative filter.
validate() { # γ settings...
  local gamma=$1; shift
  for settings in "$@"; do
    local name; name=$(echo "$settings" | tr ',=' '_-')
    run shift-eval --samplers causal --causal "$settings" --seeds 2 --first-seed 101 --config "$out/configs/gamma-$gamma.yaml" \
      --json "$out/validation/causal-gamma-$gamma-$name.json" > "$out/validation/causal-gamma-$gamma-$name.txt"
  done
}
for gamma in 0.5 0; do
  run shift-eval --samplers random --seeds 2 --first-seed 101 --config "$out/configs/gamma-$gamma.yaml" \
    --json "$out/validation/causal-gamma-$gamma-random.json" > "$out/validation/causal-gamma-$gamma-random.txt"
done
validate 0.5 selection=adaptive,exposed_share=0.5 selection=hardest,exposed_share=0.5 selection=adaptive,hardness_beta=0.2,exposed_share=0.5 selection=uniform,exposed_share=0.5 \
  selection=uniform,exposed_share=0.5,filter_threshold=1 selection=uniform,exposed_share=1 selection=uniform,exposed_share=0 \
  selection=uniform,exposed_share=0.5,matched_environment=1
validate 0 selection=adaptive,exposed_share=0.5 selection=hardest,exposed_share=0.5 selection=uniform,exposed_share=0.5 selection=uniform,exposed_share=0.5,filter_threshold=1 \
  selection=uniform,exposed_share=1 selection=uniform,exposed_share=0 selection=uniform,exposed_share=0,matched_environment=0,memory_slots=0
# Test (reported): the chosen `causal` and its ablations beside random, exposed and dns, at both γ.
for gamma in 0.5 0; do
  run shift-eval --samplers random,exposed,dns,causal,causal-half-exposed,causal-no-filter,causal-adaptive,causal-hardest --seeds 3 \
    --config "$out/configs/gamma-$gamma.yaml" --json "$out/test-causal-gamma-$gamma.json" > "$out/test-causal-gamma-$gamma.txt"
done

# CNSDiff version 2 (docs/method.md, "CNSDiff"): the causal sampler's real negative plus latent
# negatives kept at DDIM stops t > 0. At most four configurations of the diffusion part (stop set ×
# term weight), chosen on validation seeds 101–102 at both γ against the causal sampler's records
# above; the ablations and cnsdiff-v1 are reported beside the choice.
validate_cnsdiff() { # γ
  local gamma=$1
  for settings in stops=25/12/6,term_weight=0.3 stops=25/12/6,term_weight=0.1 stops=12/6/3,term_weight=0.3 stops=12/6/3,term_weight=0.1; do
    local name; name=$(echo "$settings" | sed 's/,/_/g; s/[=/]/-/g')
    local file="$out/validation/cnsdiff-gamma-$gamma-$name"
    [ -s "$file.json" ] && continue
    run shift-eval --samplers cnsdiff --cnsdiff "$settings" --seeds 2 --first-seed 101 --config "$out/configs/gamma-$gamma.yaml" \
      --json "$file.json" > "$file.txt"
  done
}
for gamma in 0.5 0; do validate_cnsdiff "$gamma"; done
# Test (reported): the chosen cnsdiff (stops 25/12/6, weight 0.1: the default) and its ablations
# beside random, exposed, dns, causal and the first version, at both γ.
for gamma in 0.5 0; do
  run shift-eval --samplers random,exposed,dns,causal,cnsdiff,cnsdiff-no-intervention,cnsdiff-no-filter,cnsdiff-no-invariance,cnsdiff-t0,cnsdiff-v1 \
    --seeds 3 --config "$out/configs/gamma-$gamma.yaml" --json "$out/test-cnsdiff-gamma-$gamma.json" > "$out/test-cnsdiff-gamma-$gamma.txt"
done
# The cheaper refresh schedule (a snapshot every 16,384 positives, 4 denoiser steps), validation and test.
mkdir -p "$out/validation/cnsdiff-refresh16384"
for gamma in 0.5 0; do
  for settings in stops=25/12/6,term_weight=0.3 stops=25/12/6,term_weight=0.1 stops=12/6/3,term_weight=0.3 stops=12/6/3,term_weight=0.1; do
    name=$(echo "$settings" | sed 's/,/_/g; s/[=/]/-/g')
    run shift-eval --samplers cnsdiff --cnsdiff "$settings,train_every=16384,train_steps=4" --seeds 2 --first-seed 101 \
      --config "$out/configs/gamma-$gamma.yaml" --json "$out/validation/cnsdiff-refresh16384/cnsdiff-gamma-$gamma-$name.json" \
      > "$out/validation/cnsdiff-refresh16384/cnsdiff-gamma-$gamma-$name.txt"
  done
  run shift-eval --samplers cnsdiff,cnsdiff-no-intervention,cnsdiff-no-filter,cnsdiff-no-invariance,cnsdiff-t0 --seeds 3 \
    --cnsdiff train_every=16384,train_steps=4 --config "$out/configs/gamma-$gamma.yaml" \
    --json "$out/test-cnsdiff-refresh16384-gamma-$gamma.json" > "$out/test-cnsdiff-refresh16384-gamma-$gamma.txt"
done
# Impressions thinned to 10 % in the samplers' view (the baseline for a generator of shown-and-skipped items).
mkdir -p "$out/validation/thinned"
for gamma in 0.5 0; do
  run shift-eval --samplers random,exposed,causal,cnsdiff --impression-share 0.1 --seeds 2 --first-seed 101 \
    --config "$out/configs/gamma-$gamma.yaml" --json "$out/validation/thinned/impressions-0.1-gamma-$gamma.json" \
    > "$out/validation/thinned/impressions-0.1-gamma-$gamma.txt"
done
for gamma in 0.5 0; do
  run shift-eval --samplers causal,cnsdiff-exposure --impression-share 0.1 --seeds 2 --first-seed 101 \
    --config "$out/configs/gamma-$gamma.yaml" --json "$out/validation/thinned/cnsdiff-exposure-0.1-gamma-$gamma.json" \
    > "$out/validation/thinned/cnsdiff-exposure-0.1-gamma-$gamma.txt"
done
for gamma in 0.5 0; do
  run shift-eval --samplers random,exposed,causal,cnsdiff,cnsdiff-exposure --impression-share 0.1 --seeds 3 \
    --config "$out/configs/gamma-$gamma.yaml" --json "$out/test-thinned-0.1-gamma-$gamma.json" > "$out/test-thinned-0.1-gamma-$gamma.txt"
done
