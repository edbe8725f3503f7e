#!/usr/bin/python3
"""minidl against PyTorch on the study's training epochs, in one run on one machine.

Runs bench_training (minidl) and bench/pytorch_reference.py (PyTorch, the study's way (a)
and tuned (b); with --compiled also (c), torch.compile(mode="reduce-overhead"), in a run of
its own, for the plain network (each case costs a compile), with its own time limit, so a
slow or failing compile loses nothing else) one after
the other with the same device, threads and images, and prints
a markdown table of seconds per 50,000-image epoch with the ratios PyTorch / minidl
(above 1: minidl is faster), and the peak device memory on CUDA. On CUDA minidl runs
each case with its training step launched kernel by kernel and as one CUDA graph (the
"minidl graph" column), and reports the kernels an eager step launches. With --repeats N both
sides run N times, alternating, and the table compares medians and shows each side's
spread ((max - min) / median).

  /usr/bin/python3 bench/compare_pytorch.py --build-dir build/cpu --device cpu --threads 2 --repeats 3
  python3 bench/compare_pytorch.py --build-dir build/gpu-check --device cuda --images 5000 --markdown out.md
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def machine():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def spread(values):
    """(max - min) / median, as a percentage: how far the repeats disagree."""
    return 100.0 * (max(values) - min(values)) / median(values)


def compiled_results(command, output, timeout):
    """PyTorch's (c) results, or none (with the reason printed) when its run fails or
    takes longer than timeout seconds: compiling can be slow, and it must not cost the
    table the other columns."""
    print("$", " ".join(command), flush=True)
    if os.path.exists(output):
        os.remove(output)  # the (a)/(b) run's, already read: never taken for (c)'s
    try:
        subprocess.run(command, check=True, timeout=timeout)
        with open(output) as f:
            return json.load(f)["results"]
    except subprocess.TimeoutExpired:
        print(f"PyTorch (c) took more than {timeout:.0f} s (--compiled-timeout): left out of the table", flush=True)
    except (subprocess.CalledProcessError, OSError, ValueError, KeyError) as error:
        print(f"PyTorch (c) failed, left out of the table: {error}", flush=True)
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True, help="a minidl build with bench/bench_training")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--images", type=int, default=2000, help="training images timed per case")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10, 100],
                        help="in this order (gpu-check puts 100 first: it fits a short lease)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run both sides this many times, alternating, and compare medians")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--python", default=sys.executable, help="the Python with PyTorch")
    parser.add_argument("--minidl-library-path", default="",
                        help="prepended to LD_LIBRARY_PATH for minidl's bench_training only: PyTorch keeps its own")
    parser.add_argument("--compiled", action="store_true",
                        help="also time PyTorch (c), torch.compile(mode='reduce-overhead'), plain network; CUDA and PyTorch 2 only")
    parser.add_argument("--compiled-timeout", type=float, default=300,
                        help="seconds the (c) run may take, compiles included; past it (c) is reported missing")
    parser.add_argument("--markdown", default=None, help="also write the table here")
    parser.add_argument("--json", default=None, help="write both sides' numbers here")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")

    # Each repeat runs minidl, then PyTorch: a slow spell of the machine hits both sides
    # alike more often than it would if all of one side ran first.
    ours_runs, theirs_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        minidl_json, torch_json = os.path.join(tmp, "minidl.json"), os.path.join(tmp, "torch.json")
        common = ["--images", str(args.images)] + (["--data-dir", args.data_dir] if args.data_dir else [])
        minidl = [os.path.join(args.build_dir, "bench", "bench_training"), "--device", args.device,
                  "--batch", ",".join(map(str, args.batch_sizes)), "--json", minidl_json] + common
        torch = [args.python, os.path.join(HERE, "pytorch_reference.py"), "--device", args.device,
                 "--batch-sizes"] + list(map(str, args.batch_sizes)) + ["--json", torch_json] + common
        if args.threads:
            minidl += ["--threads", str(args.threads)]
            torch += ["--threads", str(args.threads)]
        minidl_env = dict(os.environ)
        if args.minidl_library_path:
            minidl_env["LD_LIBRARY_PATH"] = ":".join(p for p in (args.minidl_library_path,
                                                                 os.environ.get("LD_LIBRARY_PATH")) if p)
        for _ in range(args.repeats):
            for command, output, runs, env in ((minidl, minidl_json, ours_runs, minidl_env),
                                               (torch, torch_json, theirs_runs, None)):
                print("$", " ".join(command), flush=True)
                subprocess.run(command, check=True, env=env)
                with open(output) as f:
                    runs.append(json.load(f))
            if args.compiled:
                theirs_runs[-1]["results"] += compiled_results(torch + ["--variants", "c", "--networks", "plain"], torch_json,
                                                               args.compiled_timeout)
    ours, theirs = ours_runs[0], theirs_runs[0]

    def theirs_for(run, network, batch, variant):
        for result in run["results"]:
            if (result["network"], result["batch_size"], result["variant"]) == (network, batch, variant):
                return result
        return None

    def their_seconds(network, batch, variant):
        seconds = [theirs_for(run, network, batch, variant) for run in theirs_runs]
        return None if None in seconds else [result["epoch_seconds"] for result in seconds]

    repeated = f"; the median of {args.repeats} runs of each side, alternating" if args.repeats > 1 else ""
    lines = [f"Machine: {machine()}; minidl on {ours['device']}; PyTorch {theirs['torch']} on {theirs['device']}, "
             f"{theirs['threads']} threads; {args.images} "
             f"{'CIFAR-10' if args.data_dir else 'synthetic'} images per case, scaled to a 50,000-image epoch"
             f"{repeated}.",
             "",
             "| network | batch | minidl graph | minidl s/epoch | PyTorch (a) s/epoch | (a) / minidl |"
             " PyTorch (b) s/epoch | (b) / minidl |" + (" PyTorch (c) s/epoch | (c) / minidl |" if args.compiled else "")
             + " minidl peak MiB | (b) peak MiB | minidl kernels/step |"
             + (" spread minidl / (a) / (b) |" if args.repeats > 1 else ""),
             "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if args.compiled else "")
             + ("---|" if args.repeats > 1 else "")]
    rows = []
    for index, result in enumerate(ours["results"]):
        network, batch = result["network"], result["batch_size"]
        mine_runs = [run["results"][index]["epoch_seconds"] for run in ours_runs]
        a_runs, b_runs = their_seconds(network, batch, "a"), their_seconds(network, batch, "b")
        c_runs = their_seconds(network, batch, "c")
        b = theirs_for(theirs, network, batch, "b")
        mine = median(mine_runs)
        graph = "on" if result.get("graph") else "off"
        row = {"network": network, "batch_size": batch, "minidl_graph": graph, "minidl_epoch_seconds": mine,
               "minidl_test_pass_seconds": median([run["results"][index]["test_pass_seconds"] for run in ours_runs]),
               "minidl_peak_reserved_bytes": result["peak_reserved_bytes"],
               "a_epoch_seconds": a_runs and median(a_runs), "b_epoch_seconds": b_runs and median(b_runs),
               "c_epoch_seconds": c_runs and median(c_runs),
               "b_peak_reserved_bytes": b and b.get("peak_reserved_bytes", 0),
               "minidl_runs": mine_runs, "a_runs": a_runs, "b_runs": b_runs, "c_runs": c_runs}
        rows.append(row)
        fmt = lambda x: f"{x:.2f}" if x is not None else "-"
        ratio = lambda x: f"{x / mine:.2f}x" if x is not None else "-"
        spreads = " / ".join(f"{spread(runs):.0f} %" if runs else "-" for runs in (mine_runs, a_runs, b_runs))
        kernels = result.get("kernels_per_step", 0)
        lines.append(f"| {network} | {batch} | {graph} | {fmt(mine)} | {fmt(row['a_epoch_seconds'])}"
                     f" | {ratio(row['a_epoch_seconds'])} | {fmt(row['b_epoch_seconds'])} | {ratio(row['b_epoch_seconds'])}"
                     + (f" | {fmt(row['c_epoch_seconds'])} | {ratio(row['c_epoch_seconds'])}" if args.compiled else "")
                     + f" | {result['peak_reserved_bytes'] / 2**20:.1f} | {(row['b_peak_reserved_bytes'] or 0) / 2**20:.1f}"
                     f" | {kernels if kernels else '-'} |" + (f" {spreads} |" if args.repeats > 1 else ""))
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"minidl": ours_runs, "pytorch": theirs_runs, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
