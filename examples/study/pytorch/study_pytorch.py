#!/usr/bin/python3
"""The CIFAR-10 study in PyTorch, as its authors wrote it, beside minidl's examples/study/.

The model, the transforms and the training loop are the study's: ToTensor + Normalize per
sample, a shuffling DataLoader (none for no_preprocessing), plain SGD, CrossEntropyLoss,
ExponentialLR(0.8) for lr_decay, the per-epoch "correct times" line, the model saved and
loaded back, then tested (as the study, without eval(); and in eval mode, as minidl's
report gives first). Only the Dataset differs: it reads CIFAR-10's binary files (the ones
minidl reads) instead of torchvision's pickled batches, and hands out the same PIL images.

  /usr/bin/python3 examples/study/pytorch/study_pytorch.py --data-dir ../shared/data/cifar-10-batches-bin \\
      --seeds 1 --output pytorch-results.json [--runs control,large_batch] [--epochs 10] [--threads 2]

It writes results.json in the format of minidl's study (per run and seed: name, seed,
batch_size, lr, epochs with correct/total/accuracy/total_loss, test), so `study
--compare-with pytorch-results.json` puts PyTorch's column beside minidl's.
bench/pytorch_reference.py imports its network and Dataset from here: one program.
"""
import argparse
import datetime
import json
import os
import platform
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
RECORD_BYTES = 3073

# name: (batch size, lr, lr gamma per epoch or None, batch norm, Normalize, shuffle)
RUNS = {
    "control": (10, 0.1, None, False, True, True),
    "large_batch": (100, 0.1, None, False, True, True),
    "lr_decay": (10, 0.1, 0.8, False, True, True),
    "batch_norm": (10, 0.1, None, True, True, True),
    "no_preprocessing": (100, 0.1, None, False, False, False),
}


class Net(nn.Module):
    """The study's network: 3 x [conv 3x3 pad 1 -> (BatchNorm2d) -> ReLU -> max-pool 2x2], fc1 512->64, out 64->10."""

    def __init__(self, batch_norm):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn = batch_norm
        if batch_norm:
            self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(32), nn.BatchNorm2d(32), nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(512, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        for conv, bn in ((self.conv1, "bn1"), (self.conv2, "bn2"), (self.conv3, "bn3")):
            x = conv(x)
            if self.bn:
                x = getattr(self, bn)(x)
            x = self.pool(torch.relu(x))
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.out(x)


def to_tensor(picture):
    """torchvision.transforms.ToTensor on an RGB PIL image: (3, H, W) floats in [0, 1]."""
    return torch.from_numpy(np.asarray(picture, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)


class Normalize:
    """torchvision.transforms.Normalize(mean, std) on a (3, H, W) tensor."""

    def __init__(self, mean, std):
        self.mean, self.std = torch.tensor(mean).view(3, 1, 1), torch.tensor(std).view(3, 1, 1)

    def __call__(self, x):
        return (x - self.mean) / self.std


class StudyDataset(torch.utils.data.Dataset):
    """uint8 (N, 3, 32, 32) images -> PIL image (as torchvision's CIFAR10 hands out) -> ToTensor (-> Normalize)."""

    def __init__(self, images, labels, normalize=True):
        self.images, self.labels = images, labels
        self.normalize = Normalize(MEAN, STD) if normalize else None

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = to_tensor(Image.fromarray(self.images[i].transpose(1, 2, 0)))  # HWC, as torchvision's CIFAR10
        return (self.normalize(x) if self.normalize else x), int(self.labels[i])


def read_split(data_dir, split, records_per_file=10000):
    """CIFAR-10's binary files: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    parts = []
    for name in names:
        path = os.path.join(data_dir, name)
        records = np.fromfile(path, dtype=np.uint8)
        if records.size != records_per_file * RECORD_BYTES:
            raise SystemExit(f"study_pytorch: {path}: {records.size} bytes, expected "
                             f"{records_per_file * RECORD_BYTES} ({records_per_file} records)")
        parts.append(records.reshape(-1, RECORD_BYTES))
    records = np.concatenate(parts)
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), records[:, 0].astype(np.int64)


def test(net, loader):
    """The study's test loop: correct count, accuracy and the sum of the batches' mean losses."""
    criterion = nn.CrossEntropyLoss()
    correct = total = 0
    total_loss = 0.0
    with torch.no_grad():
        for images, labels in loader:
            outputs = net(images)
            total_loss += criterion(outputs, labels).item()
            correct += (outputs.argmax(1) == labels).sum().item()
            total += labels.numel()
    return {"correct": correct, "total": total, "accuracy": 100.0 * correct / total, "total_loss": total_loss}


def run_study(name, seed, train, test_split, epochs, output_dir):
    batch_size, lr, gamma, batch_norm, normalize, shuffle = RUNS[name]
    torch.manual_seed(seed)
    net = Net(batch_norm)
    trainloader = torch.utils.data.DataLoader(StudyDataset(*train, normalize), batch_size=batch_size, shuffle=shuffle)
    testloader = torch.utils.data.DataLoader(StudyDataset(*test_split, normalize), batch_size=batch_size, shuffle=False)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma) if gamma else None
    start = time.perf_counter()
    result = {"name": name, "seed": seed, "batch_size": batch_size, "lr": lr, "lr_gamma": gamma or 1.0,
              "batch_norm": batch_norm, "normalize": normalize, "shuffle": shuffle, "epochs": []}
    for epoch in range(epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]
        total_loss, correct, total = 0.0, 0, 0
        for inputs, labels in trainloader:
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            correct += (outputs.argmax(1) == labels).sum().item()
            total += labels.numel()
        print(f"epoch: {epoch} correct times: {correct} training accuracy: {100.0 * correct / total:.3f} % "
              f"total_loss: {total_loss:.3f}", flush=True)
        result["epochs"].append({"epoch": epoch, "lr": epoch_lr, "correct": correct, "total": total,
                                 "accuracy": 100.0 * correct / total, "total_loss": total_loss})
        if scheduler:
            scheduler.step()
    path = os.path.join(output_dir, f"{name}-seed{seed}.pt")
    torch.save(net.state_dict(), path)
    loaded = Net(batch_norm)
    loaded.load_state_dict(torch.load(path))
    result["test_batch_statistics"] = test(loaded, testloader)  # the study's own test: no eval()
    loaded.eval()
    result["test"] = test(loaded, testloader)
    result["seconds"] = time.perf_counter() - start
    print(f"correct times: {result['test']['correct']} test accuracy: {result['test']['accuracy']:.3f} % (eval mode)",
          flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--records-per-file", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--output", required=True, help="results.json to write")
    args = parser.parse_args()
    runs = args.runs.split(",")
    for name in runs:
        if name not in RUNS:
            parser.error(f"unknown run '{name}' (choose from {', '.join(RUNS)})")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)
    train = read_split(args.data_dir, "train", args.records_per_file)
    test_split = read_split(args.data_dir, "test", args.records_per_file)
    output_dir = os.path.dirname(os.path.abspath(args.output))
    results = {"machine": platform.processor() or platform.machine(), "device": "cpu",
               "implementations": f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads",
               "data": f"{args.data_dir} ({len(train[1])} training, {len(test_split[1])} test images)",
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "seeds": seeds, "epochs": args.epochs, "runs": []}
    for seed in seeds:
        for name in runs:
            print(f"\n== {name} (seed {seed}) ==", flush=True)
            results["runs"].append(run_study(name, seed, train, test_split, args.epochs, output_dir))
            partial = args.output + ".partial"
            with open(partial, "w") as f:
                json.dump(results, f, indent=2)
            os.replace(partial, args.output)


if __name__ == "__main__":
    main()
