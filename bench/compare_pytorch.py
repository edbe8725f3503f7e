#!/usr/bin/python3
"""minidl against PyTorch on the study's training epochs, in one run on one machine.

Runs bench_training (minidl) and bench/pytorch_reference.py (PyTorch, the study's way (a)
and tuned (b)) one after the other with the same device, threads and images, and prints
a markdown table of seconds per 50,000-image epoch with the ratios PyTorch / minidl
(above 1: minidl is faster), and the peak device memory on CUDA.

  /usr/bin/python3 bench/compare_pytorch.py --build-dir build/cpu --device cpu --threads 2
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True, help="a minidl build with bench/bench_training")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--images", type=int, default=2000, help="training images timed per case")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--python", default=sys.executable, help="the Python with PyTorch")
    parser.add_argument("--markdown", default=None, help="also write the table here")
    parser.add_argument("--json", default=None, help="write both sides' numbers here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        minidl_json, torch_json = os.path.join(tmp, "minidl.json"), os.path.join(tmp, "torch.json")
        common = ["--images", str(args.images)] + (["--data-dir", args.data_dir] if args.data_dir else [])
        minidl = [os.path.join(args.build_dir, "bench", "bench_training"), "--device", args.device,
                  "--json", minidl_json] + common
        torch = [args.python, os.path.join(HERE, "pytorch_reference.py"), "--device", args.device,
                 "--json", torch_json] + common
        if args.threads:
            minidl += ["--threads", str(args.threads)]
            torch += ["--threads", str(args.threads)]
        for command in (minidl, torch):
            print("$", " ".join(command), flush=True)
            subprocess.run(command, check=True)
        with open(minidl_json) as f:
            ours = json.load(f)
        with open(torch_json) as f:
            theirs = json.load(f)

    def theirs_for(network, batch, variant):
        for result in theirs["results"]:
            if (result["network"], result["batch_size"], result["variant"]) == (network, batch, variant):
                return result
        return None

    lines = [f"Machine: {machine()}; minidl on {ours['device']}; PyTorch {theirs['torch']} on {theirs['device']}, "
             f"{theirs['threads']} threads; {args.images} "
             f"{'CIFAR-10' if args.data_dir else 'synthetic'} images per case, scaled to a 50,000-image epoch.",
             "",
             "| network | batch | minidl s/epoch | PyTorch (a) s/epoch | (a) / minidl | PyTorch (b) s/epoch | (b) / minidl |"
             " minidl peak MiB | (b) peak MiB |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = []
    for result in ours["results"]:
        network, batch = result["network"], result["batch_size"]
        a, b = theirs_for(network, batch, "a"), theirs_for(network, batch, "b")
        mine = result["epoch_seconds"]
        row = {"network": network, "batch_size": batch, "minidl_epoch_seconds": mine,
               "minidl_test_pass_seconds": result["test_pass_seconds"],
               "minidl_peak_reserved_bytes": result["peak_reserved_bytes"],
               "a_epoch_seconds": a and a["epoch_seconds"], "b_epoch_seconds": b and b["epoch_seconds"],
               "b_peak_reserved_bytes": b and b.get("peak_reserved_bytes", 0)}
        rows.append(row)
        fmt = lambda x: f"{x:.2f}" if x is not None else "-"
        ratio = lambda x: f"{x / mine:.2f}x" if x is not None else "-"
        lines.append(f"| {network} | {batch} | {fmt(mine)} | {fmt(row['a_epoch_seconds'])} | {ratio(row['a_epoch_seconds'])}"
                     f" | {fmt(row['b_epoch_seconds'])} | {ratio(row['b_epoch_seconds'])}"
                     f" | {result['peak_reserved_bytes'] / 2**20:.1f} | {(row['b_peak_reserved_bytes'] or 0) / 2**20:.1f} |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"minidl": ours, "pytorch": theirs, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
