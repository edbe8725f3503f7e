#!/usr/bin/env python3
"""Two runs of a minidl benchmark, a baseline's and this tree's, made in the same gpu-check
run on the same card, as a Markdown table of this tree's gain (baseline time / this time).

  bench/compare_runs.py ops BASELINE.json THIS.json [--markdown OUT.md] [--batch 100]
  bench/compare_runs.py training BASELINE.json THIS.json [--markdown OUT.md]

ops compares bench_ops --json files: per op, shape and batch, the baseline's hand-written
implementation against each of this tree's (its rungs), forward + backward; the libraries
(cuBLAS, cuDNN), unchanged between the two, are the control: their ratio shows how far the
two runs agree on the same work. It reads both bench_ops formats: one record per direction
(the first bench_ops) and one per case with "forward" and "backward".
training compares bench_training --json files: seconds per 50,000-image epoch per network
and batch, this tree's step launched kernel by kernel (graph off) and as a CUDA graph.
Standard library only.
"""
import argparse
import json
import sys

LIBRARIES = ("cublas", "cudnn")


def load(path):
    with open(path) as f:
        return json.load(f)


def op_times(document):
    """{(op, shape, batch): {implementation: forward + backward microseconds}}, unfused cases only."""
    parts = {}
    for result in document["results"]:
        if result.get("variant", "") or "error" in result:
            continue
        key = (result["op"], result["shape"], result["batch"])
        name = result["implementation"]
        if "direction" in result:  # the first bench_ops: one record per direction
            parts.setdefault(key, {}).setdefault(name, []).append(result["median_us"])
        else:
            times = [result[d]["median_us"] for d in ("forward", "backward") if result.get(d)]
            parts.setdefault(key, {})[name] = times
    return {key: {name: sum(times) for name, times in names.items()} for key, names in parts.items()}


def compare_ops(baseline, this, batch):
    base, mine = op_times(baseline), op_times(this)
    lines = ["| op | shape | baseline hand-written, us | this tree's rungs, us | gain of the fastest rung |"
             " library: baseline / this us (control) |",
             "|---|---|---|---|---|---|"]
    for key in mine:
        op, shape, n = key
        if n != batch or key not in base:
            continue
        base_own = {name: t for name, t in base[key].items() if name not in LIBRARIES}
        mine_own = {name: t for name, t in mine[key].items() if name not in LIBRARIES}
        if not base_own or not mine_own:
            continue
        base_name, base_time = min(base_own.items(), key=lambda item: item[1])
        fastest = min(mine_own.values())
        rungs = ", ".join(f"{name} {t:.1f}" for name, t in mine_own.items())
        control = ", ".join(f"{name} {base[key][name]:.1f} / {mine[key][name]:.1f}"
                            for name in LIBRARIES if name in base[key] and name in mine[key]) or "-"
        lines.append(f"| {op} | {shape} | {base_name} {base_time:.1f} | {rungs} | {base_time / fastest:.2f}x |"
                     f" {control} |")
    return lines


def compare_training(baseline, this):
    def seconds(document, network, batch, graph=None):
        for result in document["results"]:
            if (result["network"], result["batch_size"]) == (network, batch) and \
                    (graph is None or bool(result.get("graph")) == graph):
                return result["epoch_seconds"]
        return None

    lines = ["| network | batch | baseline s/epoch | this, eager | this, graph | gain eager | gain graph |",
             "|---|---|---|---|---|---|---|"]
    seen = []
    for result in this["results"]:
        key = (result["network"], result["batch_size"])
        if key in seen:
            continue
        seen.append(key)
        base = seconds(baseline, *key)
        eager, graph = seconds(this, *key, graph=False), seconds(this, *key, graph=True)
        show = lambda x: f"{x:.2f}" if x else "-"
        gain = lambda x: f"{base / x:.2f}x" if base and x else "-"
        lines.append(f"| {key[0]} | {key[1]} | {show(base)} | {show(eager)} | {show(graph)} | {gain(eager)} |"
                     f" {gain(graph)} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("ops", "training"))
    parser.add_argument("baseline")
    parser.add_argument("this")
    parser.add_argument("--batch", type=int, default=100, help="ops: the batch compared")
    parser.add_argument("--markdown", default=None, help="also write the table here")
    args = parser.parse_args()
    try:
        baseline, this = load(args.baseline), load(args.this)
        lines = compare_ops(baseline, this, args.batch) if args.kind == "ops" else compare_training(baseline, this)
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.exit(f"compare_runs: cannot compare {args.baseline} and {args.this}: {error!r}")
    if len(lines) == 2:
        sys.exit(f"compare_runs: {args.baseline} and {args.this} have no case in common")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
