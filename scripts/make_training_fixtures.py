#!/usr/bin/python3
"""Writes the PyTorch fixtures that minidl's training tests replay (tests/test_training_fixtures.cpp).

Regenerate with Debian's PyTorch (the python3 first on PATH cannot import it):
    /usr/bin/python3 scripts/make_training_fixtures.py
CI does not need PyTorch: it reads the committed files in tests/fixtures/training/.

What is written (safetensors, float32 unless noted):
  init_plain.safetensors, init_bn.safetensors   the study's two networks' initial state_dicts
  batches.safetensors                           20 batches of synthetic CIFAR-shaped uint8 images and labels (I32);
                                                the last batch is partial (batch_sizes says how big each is)
  run_<name>.safetensors                        for each optimizer set-up: "losses" (F64, the loss of every
                                                step before its update), "lrs" (F64, the lr each step used),
                                                and the final state_dict under its PyTorch names
The images go through the study's transform: x / 255, then Normalize(mean, std), in float32.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "training")
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
BATCH_SIZES = [4] * 19 + [3]


class Net(nn.Module):
    """The study's CNN: three conv blocks, fc1 and out."""

    def __init__(self, batch_norm):
        super().__init__()
        self.batch_norm = batch_norm
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        if batch_norm:
            self.bn1 = nn.BatchNorm2d(32)
            self.bn2 = nn.BatchNorm2d(32)
            self.bn3 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(512, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        for i in (1, 2, 3):
            x = getattr(self, f"conv{i}")(x)
            if self.batch_norm:
                x = getattr(self, f"bn{i}")(x)
            x = F.max_pool2d(F.relu(x), 2, 2)
        x = torch.flatten(x, 1)
        return self.out(F.relu(self.fc1(x)))


DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.uint8: "U8", torch.int32: "I32", torch.int64: "I64"}


def save_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header (padded to 8 bytes), raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def normalize(images):
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def train(init_state, batch_norm, images, labels, make_optimizer, make_scheduler=None, steps_per_epoch=5):
    net = Net(batch_norm)
    net.load_state_dict(init_state)
    net.train()
    optimizer = make_optimizer(net.parameters())
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    losses, lrs, start = [], [], 0
    for step, size in enumerate(BATCH_SIZES):
        x = normalize(images[start:start + size])
        y = labels[start:start + size].long()
        start += size
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if scheduler and (step + 1) % steps_per_epoch == 0:
            scheduler.step()
    result = {"losses": torch.tensor(losses, dtype=torch.float64), "lrs": torch.tensor(lrs, dtype=torch.float64)}
    result.update(net.state_dict())
    return result


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20261127)
    total = sum(BATCH_SIZES)
    # Images a little learnable: each class brightens one of ten horizontal bands.
    labels = torch.randint(0, 10, (total,), dtype=torch.int32)
    images = torch.randint(0, 200, (total, 3, 32, 32), dtype=torch.uint8)
    for i, label in enumerate(labels.tolist()):
        images[i, :, 3 * label:3 * label + 3, :] += 55
    save_safetensors(os.path.join(OUT, "batches.safetensors"),
                     {"images": images, "labels": labels, "batch_sizes": torch.tensor(BATCH_SIZES, dtype=torch.int32)})

    inits = {}
    for name, batch_norm in (("plain", False), ("bn", True)):
        inits[name] = Net(batch_norm).state_dict()
        save_safetensors(os.path.join(OUT, f"init_{name}.safetensors"), inits[name])

    sgd = torch.optim.SGD
    runs = {
        "plain_sgd": ("plain", lambda p: sgd(p, lr=0.05), None),
        "plain_momentum": ("plain", lambda p: sgd(p, lr=0.01, momentum=0.9), None),
        "plain_nesterov": ("plain", lambda p: sgd(p, lr=0.01, momentum=0.9, nesterov=True), None),
        "plain_weight_decay": ("plain", lambda p: sgd(p, lr=0.05, weight_decay=5e-4), None),
        "plain_exponential_lr": ("plain", lambda p: sgd(p, lr=0.05), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)),
        "bn_sgd": ("bn", lambda p: sgd(p, lr=0.05), None),
    }
    for run, (net_name, make_optimizer, make_scheduler) in runs.items():
        result = train(inits[net_name], net_name == "bn", images, labels, make_optimizer, make_scheduler)
        save_safetensors(os.path.join(OUT, f"run_{run}.safetensors"), result)
        print(f"{run}: losses {result['losses'][0]:.4f} -> {result['losses'][-1]:.4f}")


if __name__ == "__main__":
    main()
