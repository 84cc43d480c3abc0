#!/usr/bin/env bash
# The layout's rules, checked by `make test` before anything is built:
# - the folders of each module use only the folders below them (scripts/layers.txt);
# - no Swift source file is longer than 400 lines (a longer one has more than one job).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS=: read -r module order; do
  [[ -z "$module" || "$module" == \#* ]] && continue
  order=$(echo $order | tr ' ' ',')
  if ! output=$(python3 scripts/folder-graph.py "$module" --order "$order"); then
    echo "$module:"; echo "$output" | grep -E '^(upward use|layer order|cycle|  )'
    status=1
  fi
done < scripts/layers.txt
while read -r lines file; do
  [[ "$file" == total ]] && continue
  if (( lines > 400 )); then echo "$file: $lines lines (at most 400)"; status=1; fi
done < <(find Sources Tests -name '*.swift' -print0 | xargs -0 wc -l)
exit $status
