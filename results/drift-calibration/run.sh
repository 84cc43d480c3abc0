#!/usr/bin/env bash
# Drift-alert calibration on the simulator (the drift.* defaults, README.md "Drift alerts"): 1M events
# without a shift must raise no alert; with the exposure policy re-drawn at event 500,000 or 525,000
# (`simulate --shift-at`; the second falls inside a drift window) an alert must follow. Default drift
# settings (windows of 50,000 events, warm-up 50,000, cooldown 200,000), test-then-train replay with
# the random sampler, seeds 1–3. Writes summary.md and one report per run.
set -euo pipefail
cd "$(dirname "$0")/../.."
source results/binary.sh
out=results/drift-calibration
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rows=()
for seed in 1 2 3; do
  for shift in none 500000 525000; do
    args=(--events 1000000 --seed "$seed")
    [[ $shift != none ]] && args+=(--shift-at "$shift")
    "$binary" simulate "${args[@]}" > "$work/events.jsonl"
    report=$out/seed$seed-shift-$shift
    echo "+ causalrec simulate ${args[*]} > events.jsonl; causalrec replay --input events.jsonl --samplers random --window 50000 --drift-window 50000 --report $report" >&2
    "$binary" replay --input "$work/events.jsonl" --samplers random --window 50000 --drift-window 50000 --report "$report" --quiet >/dev/null
    rm -f "$report"/*.svg "$report"/report.html
    rows+=("$(python3 - "$report/report.json" "$seed" "$shift" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
alerts = report["drift"]["alerts"]
shift = sys.argv[3]
first = alerts[0] if alerts else None
after = [a for a in alerts if shift != "none" and a["event"] > int(shift)]
delay = after[0]["event"] - int(shift) if after else None
before = [a for a in alerts if shift == "none" or a["event"] <= int(shift)]
print(f"| {sys.argv[2]} | {shift} | {len(alerts)} | {len(before)} | "
      + (f"{after[0]['metric']} ({after[0]['method']}) | {delay:,}" if after else "– | –") + " |")
PY
)")
  done
done
{
  echo "# Drift-alert calibration (simulator, 1M events per run)"
  echo
  echo "Command: \`results/drift-calibration/run.sh\` (default drift settings; see the script)."
  echo
  echo "| seed | shift at | alerts | false alerts (before the shift / no shift) | first alert after the shift | delay (events) |"
  echo "|---:|---:|---:|---:|---|---:|"
  printf '%s\n' "${rows[@]}"
} > $out/summary.md
cat $out/summary.md
