#!/usr/bin/env python3
"""Two causalrec binaries side by side: runs `<binary> bench ARGS` for each in turn, ROUNDS times,
and prints the median (and range) of every throughput row as a Markdown table. Alternating the
binaries spreads the machine's slow and fast moments over both, so the ratio is what to read.

    bench/compare-binaries.py ROUNDS BEFORE AFTER [bench arguments...]
    bench/compare-binaries.py 5 /tmp/causalrec-old .build/release/causalrec \\
        --only train.random --train-file ../shared/data/cnsdiff-food/train.txt.gz --train-epochs 60
"""
import collections
import os
import statistics
import subprocess
import sys


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    binaries = sys.argv[2:4]
    arguments = sys.argv[4:]
    # OpenBLAS's idle pool threads would otherwise spin beside the training threads.
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    rates = collections.defaultdict(list)
    order = []
    for _ in range(rounds):
        for binary in binaries:
            output = subprocess.run([binary, "bench", *arguments], capture_output=True, text=True,
                                    env=environment, check=True).stdout
            for line in output.splitlines():
                name, _, rest = line.partition(":")
                fields = rest.split()
                if len(fields) >= 2 and fields[1].endswith("/s"):
                    if name not in order:
                        order.append(name)
                    rates[(name, binary)].append(float(fields[0]))

    def cell(values: list) -> str:
        if not values:
            return "—"
        return f"{statistics.median(values) / 1e6:.2f} M ({min(values) / 1e6:.2f}–{max(values) / 1e6:.2f})"

    print(f"| row | {binaries[0]} | {binaries[1]} | ratio |")
    print("| --- | --- | --- | --- |")
    for name in order:
        before = rates.get((name, binaries[0]), [])
        after = rates.get((name, binaries[1]), [])
        ratio = f"{statistics.median(after) / statistics.median(before):.2f}×" if before and after else ""
        print(f"| `{name}` | {cell(before)} | {cell(after)} | {ratio} |")
    print(f"\nmedian (min–max) of {rounds} alternating runs each")


if __name__ == "__main__":
    main()
