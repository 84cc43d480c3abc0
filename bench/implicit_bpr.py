#!/usr/bin/env python3
"""Peer comparison: the `implicit` library's BPR on a SELFRec training split.

Trains implicit's CPU BPR with the given factors/threads, times it (training samples per second:
implicit draws one (user, positive, negative) triplet per training positive per iteration), and
exports its factors at the requested iterations as `id v1 v2 ...` text files, so that
`causalrec backtest --score-factors` can score them with our metric code on the same splits.
The item bias implicit learns travels as the last factor (users carry a constant 1 there), so
a plain dot product reproduces its scores.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import scipy.sparse as sp
from implicit.cpu.bpr import BayesianPersonalizedRanking


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    users, items = [], []
    with opener(path, "rt") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 2 and (len(fields) < 3 or float(fields[2]) > 0):
                users.append(int(fields[0]))
                items.append(int(fields[1]))
    users, items = np.array(users), np.array(items)
    matrix = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)),
                           shape=(users.max() + 1, items.max() + 1))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def export(model, directory, iteration):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, factors in (("users", model.user_factors), ("items", model.item_factors)):
        path = os.path.join(directory, f"{name}-{iteration}.txt")
        with open(path, "w") as handle:
            for row, vector in enumerate(np.asarray(factors)):
                handle.write(str(row) + " " + " ".join(f"{value:.7g}" for value in vector) + "\n")
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--speed-iterations", type=int, default=20)
    parser.add_argument("--export-iterations", type=int, nargs="*", default=[])
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--regularization", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="implicit-factors")
    args = parser.parse_args()

    matrix = load(args.train)
    results = {"positives": int(matrix.nnz), "factors": args.factors, "speed": {}, "exports": {}}
    for threads in args.threads:
        model = BayesianPersonalizedRanking(factors=args.factors, iterations=args.speed_iterations,
                                            learning_rate=args.learning_rate, regularization=args.regularization,
                                            num_threads=threads, random_state=args.seed)
        started = time.perf_counter()
        model.fit(matrix, show_progress=False)
        elapsed = time.perf_counter() - started
        results["speed"][str(threads)] = matrix.nnz * args.speed_iterations / elapsed

    if args.export_iterations:
        wanted = sorted(set(args.export_iterations))
        model = BayesianPersonalizedRanking(factors=args.factors, iterations=wanted[-1],
                                            learning_rate=args.learning_rate, regularization=args.regularization,
                                            num_threads=1, random_state=args.seed)

        def callback(iteration, elapsed, *rest):
            if iteration + 1 in wanted:
                results["exports"][str(iteration + 1)] = export(model, args.out, iteration + 1)

        model.fit(matrix, show_progress=False, callback=callback)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
