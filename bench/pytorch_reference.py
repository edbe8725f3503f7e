#!/usr/bin/python3
"""PyTorch reference for minidl's speed benchmarks: training-step throughput of the
study's two networks, measured up to three ways on one device.

  (a) as the study wrote it: a Dataset that turns each uint8 image into a PIL image,
      then ToTensor + Normalize per sample; a DataLoader with shuffle; .to(device) per
      batch; loss.item() every step.
  (b) tuned: the whole data set normalized once on the device, batches gathered there
      by a shuffled index, no host sync inside the measured steps; on CUDA the training
      step captured once as a CUDA graph and replayed (as minidl's study replays its own).
  (c) compiled: as (b), with the network wrapped in torch.compile(mode="reduce-overhead")
      (Inductor's kernels, replayed as CUDA graphs); CUDA and PyTorch 2 only. The compile
      happens in the warm-up steps and is not timed.

Float32 everywhere, TF32 off. Without --data-dir, synthetic uint8 images of CIFAR-10's
shape (timing does not depend on pixel values). Prints a table and writes JSON.

  /usr/bin/python3 bench/pytorch_reference.py --device cpu --threads 2 --json out.json
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

# The study's network, its Dataset and Normalize constants: the same program as the
# side-by-side study in PyTorch (examples/study/pytorch/study_pytorch.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "study", "pytorch"))
from study_pytorch import MEAN, STD, Net, StudyDataset  # noqa: E402


def load_images(data_dir, count):
    """The first `count` training images and labels: from CIFAR-10 binary files, or synthetic."""
    if data_dir:
        records = np.concatenate([np.fromfile(os.path.join(data_dir, f"data_batch_{i}.bin"), dtype=np.uint8)
                                  for i in range(1, 6)]).reshape(-1, 3073)[:count]
        return records[:, 1:].reshape(-1, 3, 32, 32).copy(), records[:, 0].astype(np.int64)
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, count)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(step, steps, device):
    """Seconds for step(5) .. step(5 + steps - 1), after step(0) .. step(4) untimed (warm-up)."""
    for i in range(5):
        step(i)
    synchronize(device)
    start = time.perf_counter()
    for i in range(steps):
        step(5 + i)
    synchronize(device)
    return time.perf_counter() - start


def time_study_way(net, images, labels, batch_size, steps, device):
    """Variant (a): returns (seconds for `steps` steps after 5 warm-up steps, False: no graph)."""
    loader = torch.utils.data.DataLoader(StudyDataset(images, labels), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    start = None
    for step, (x, y) in enumerate(loader):
        if step == 5:
            synchronize(device)
            start = time.perf_counter()
        if step == 5 + steps:
            break
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = criterion(net(x), y)
        loss.backward()
        optimizer.step()
        loss.item()
    synchronize(device)
    return time.perf_counter() - start, False


def on_device(images, labels, device):
    """The data set normalized once on the device, its labels, and a shuffled order."""
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    data = (torch.from_numpy(images).to(device).float().div(255) - mean) / std
    targets = torch.from_numpy(labels).to(device)
    return data, targets, torch.randperm(len(targets), device=device)


def time_tuned(net, images, labels, batch_size, steps, device):
    """Variant (b): data normalized once on the device; no host sync in the loop; on CUDA,
    the whole training step (forward, backward, SGD update) captured once as a CUDA graph
    (torch.cuda.graph, PyTorch's whole-network capture) and replayed, as minidl's study
    does; eager if the capture fails. Returns (seconds, whether the step was a graph)."""
    data, targets, order = on_device(images, labels, device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    static_x = torch.empty((batch_size,) + tuple(data.shape[1:]), device=device)
    static_y = torch.empty(batch_size, dtype=targets.dtype, device=device)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(net(static_x), static_y)
        loss.backward()
        optimizer.step()
        return loss

    def gather(i):
        index = order[(i * batch_size) % (len(order) - batch_size):][:batch_size]
        torch.index_select(data, 0, index, out=static_x)
        torch.index_select(targets, 0, index, out=static_y)

    graph = None
    if device.type == "cuda":
        side = torch.cuda.Stream()  # warm-up before capture, on a side stream (PyTorch's docs)
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for i in range(3):
                gather(i)
                train_step()
        torch.cuda.current_stream().wait_stream(side)
        try:
            graph = torch.cuda.CUDAGraph()
            optimizer.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph):
                train_step()
        except RuntimeError as error:
            print(f"(b): capturing the step as a CUDA graph failed, timing it eagerly: {error}", flush=True)
            graph = None

    def step(i):
        gather(i)
        if graph is not None:
            graph.replay()
        else:
            train_step()

    return timed(step, steps, device), graph is not None


def time_compiled(net, images, labels, batch_size, steps, device):
    """Variant (c): as (b)'s data, the network compiled with torch.compile(mode=
    "reduce-overhead"): Inductor fuses the forward and backward and replays them as CUDA
    graphs; the SGD update runs eagerly (foreach). Compiled during 5 untimed warm-up steps.
    Returns (seconds, True)."""
    data, targets, order = on_device(images, labels, device)
    compiled = torch.compile(net, mode="reduce-overhead")
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()

    def step(i):
        index = order[(i * batch_size) % (len(order) - batch_size):][:batch_size]
        torch.compiler.cudagraph_mark_step_begin()
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(compiled(data.index_select(0, index)), targets.index_select(0, index))
        loss.backward()
        optimizer.step()

    return timed(step, steps, device), True


VARIANTS = {"a": time_study_way, "b": time_tuned, "c": time_compiled}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--images", type=int, default=5000, help="training images timed per case")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--networks", nargs="+", choices=["plain", "batch_norm"], default=["plain", "batch_norm"])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["a", "b"],
                        help="which of the ways above to time (default: a b)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if "c" in args.variants and (args.device == "cpu" or not hasattr(torch, "compile")):
        parser.error(f"variant c needs CUDA and PyTorch 2 (torch.compile); this is PyTorch {torch.__version__} "
                     f"on {args.device}")

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    images, labels = load_images(args.data_dir, max(args.images + 10 * max(args.batch_sizes), 1000))
    print(f"PyTorch {torch.__version__} on {device}, {torch.get_num_threads()} threads, "
          f"{'CIFAR-10 from ' + args.data_dir if args.data_dir else 'synthetic uint8 images'}")

    results = []
    for batch_norm in [network == "batch_norm" for network in args.networks]:
        for batch_size in args.batch_sizes:
            steps = max(1, args.images // batch_size)
            for variant in args.variants:
                timer = VARIANTS[variant]
                torch.manual_seed(0)
                net = Net(batch_norm).to(device)
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                seconds, graph = timer(net, images, labels, batch_size, steps, device)
                result = {"network": "batch_norm" if batch_norm else "plain", "batch_size": batch_size,
                          "variant": variant, "cuda_graph": graph, "steps": steps, "seconds": seconds,
                          "images_per_second": steps * batch_size / seconds,
                          "epoch_seconds": 50000 / (steps * batch_size / seconds),
                          "peak_reserved_bytes": torch.cuda.max_memory_reserved() if device.type == "cuda" else 0}
                results.append(result)
                print(f"{result['network']:>10}  batch {batch_size:>3}  ({variant})  {result['images_per_second']:8.0f}"
                      f" images/s  = {result['epoch_seconds']:7.1f} s per 50,000-image epoch", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(),
                       "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
