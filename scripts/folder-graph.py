#!/usr/bin/env python3
"""Which folder of a Swift target uses types declared in which other folder, and whether the
folder graph has cycles. A type is "declared" where `class|struct|enum|protocol|actor|typealias
Name` appears at the start of a line (nested types included: they are reached as Outer.Inner, so
the outer name carries the edge); it is "used" where its name appears as a word outside comments
and string literals. Approximate by design (text, not a compiler), which is enough to keep the
layout honest.

With `--order A,B,C` (lowest layer first) every use must point down the order: a folder that
uses a folder listed after it, or a folder missing from the order, fails (exit 1). Without it, only
cycles fail.

usage: scripts/folder-graph.py Sources/CausalRecCore [--order Numerics,Containers,…]
"""
import os, re, sys
from collections import defaultdict

arguments = sys.argv[1:]
order = None
if "--order" in arguments:
    position = arguments.index("--order")
    order = [name for name in arguments[position + 1].split(",") if name]
    del arguments[position:position + 2]
root = arguments[0] if arguments else "Sources/CausalRecCore"
declare = re.compile(r'^\s*(?:public |internal |fileprivate |private |final |indirect |@\w+ )*(?:class|struct|enum|protocol|actor|typealias)\s+([A-Z]\w*)')
files = {}
for directory, _, names in os.walk(root):
    for name in names:
        if name.endswith(".swift"):
            path = os.path.join(directory, name)
            folder = os.path.relpath(directory, root)
            files[path] = folder

def strip(text):
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    text = re.sub(r'"""(?:.|\n)*?"""', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return text

declared_in = {}
sources = {}
for path, folder in files.items():
    text = open(path, encoding="utf-8").read()
    sources[path] = strip(text)
    depth = 0
    for line in text.splitlines():
        match = declare.match(line)
        if match and depth == 0:
            declared_in.setdefault(match.group(1), folder)
        depth += line.count("{") - line.count("}")

edges = defaultdict(lambda: defaultdict(set))
for path, folder in files.items():
    words = set(re.findall(r'\b[A-Z]\w*\b', sources[path]))
    for word in words:
        target = declared_in.get(word)
        if target and target != folder:
            edges[folder][target].add(word)

folders = sorted(set(files.values()))
for folder in folders:
    uses = ", ".join(f"{t} ({', '.join(sorted(edges[folder][t])[:4])}{'…' if len(edges[folder][t]) > 4 else ''})" for t in sorted(edges[folder]))
    print(f"{folder} → {uses or '—'}")

# Cycles: strongly connected components with more than one folder.
index, low, stack, on, sccs = {}, {}, [], set(), []
counter = [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        component = []
        while True:
            w = stack.pop(); on.discard(w); component.append(w)
            if w == v: break
        if len(component) > 1: sccs.append(sorted(component))
for folder in folders:
    if folder not in index: visit(folder)
failed = False
if order is not None:
    for folder in folders:
        if folder not in order:
            print(f"layer order: the folder {folder} has no place in the order (add it where it belongs)")
            failed = True
    for folder in folders:
        for target in edges[folder]:
            if folder in order and target in order and order.index(target) > order.index(folder):
                print(f"upward use: {folder} (layer {order.index(folder)}) uses {target} (layer {order.index(target)}): "
                      f"{', '.join(sorted(edges[folder][target]))}")
                failed = True
if sccs:
    for component in sccs:
        print("cycle: " + " ↔ ".join(component))
        for a in component:
            for b in component:
                if b in edges[a]: print(f"  {a} uses {b}: {', '.join(sorted(edges[a][b]))}")
    sys.exit(1)
print("no cycles between folders")
if failed:
    sys.exit(1)
