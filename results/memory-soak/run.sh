#!/usr/bin/env bash
# Bounded memory (the retention.* settings, docs/configuration.md): 10M simulator events in which
# one user and one item are replaced by new ids every 100 events (100,000 new users and items over
# the run), through one recommender (dimension 64, Adam, random sampler). Once with idle-TTL
# eviction (users and items idle for an hour of event time), once without, each in its own process;
# RSS read from /proc every 1M events.
set -euo pipefail
cd "$(dirname "$0")/../.."
source results/binary.sh
out=results/memory-soak
{
  echo "# Memory soak"
  echo
  echo "Command: \`results/memory-soak/run.sh\`"
  echo
  echo "## With retention (\`retention.user_idle_seconds: 3600\`, \`retention.item_idle_seconds: 3600\`)"
  echo
  "$binary" soak --events 10000000 --churn-every 100 --user-idle-seconds 3600 --item-idle-seconds 3600
  echo
  echo "## Without retention (defaults: rows are never evicted)"
  echo
  "$binary" soak --events 10000000 --churn-every 100 --user-idle-seconds 0 --item-idle-seconds 0
} > $out/README.md
cat $out/README.md
