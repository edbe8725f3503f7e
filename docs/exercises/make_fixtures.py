#!/usr/bin/python3
"""Writes PyTorch's results for exercises 3 and 4 (README.md), which their tests compare with:
  fixtures/max_pool2d_padding.safetensors   F.max_pool2d with padding (exercise 3)
  fixtures/label_smoothing.safetensors      F.cross_entropy with label_smoothing (exercise 4)

Regenerate with Debian's PyTorch 1.13 (the python3 first on PATH cannot import it):
    /usr/bin/python3 docs/exercises/make_fixtures.py
CI does not need PyTorch: the tests read the committed files.

The layout is scripts/make_op_fixtures.py's (whose save function this imports): tensors of case k
named "case<k>.<name>", the metadata "num_cases", "case<k>.description" and the case's parameters.
Float64, labels and indices I32; backward results from autograd on (output * grad_output).sum()
with a random grad_output (for the loss, a scalar, grad_output is 1).
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from make_op_fixtures import Fixture  # noqa: E402

OUT = os.path.join(HERE, "fixtures")


def max_pool2d_padding_cases():
    fixture = Fixture("max_pool2d_padding", OUT)
    cases = [  # description, input shape, kernel_size, stride, padding
        ("2x2 stride 2 padding 1 on 4x4: every border window reaches into the padding", (1, 2, 4, 4), 2, 2, 1),
        ("3x3 stride 1 padding 1 on an odd non-square image (the output keeps the input's size)", (2, 2, 5, 6), 3, 1, 1),
        ("3x3 stride 2 padding 1 on 6x6", (1, 3, 6, 6), 3, 2, 1),
        ("4x4 stride 3 padding 2 (half the kernel) on 7x5", (1, 1, 7, 5), 4, 3, 2),
        ("padding 0 is max_pool2d without padding", (1, 2, 5, 5), 2, 2, 0),
    ]
    for description, shape, kernel_size, stride, padding in cases:
        x = (torch.rand(*shape) * 2 - 1).requires_grad_()
        out, indices = F.max_pool2d(x, kernel_size, stride, padding, return_indices=True)
        grad_output = torch.randn(out.shape)
        (out * grad_output).sum().backward()
        fixture.add(description, {"input": x, "output": out, "indices": indices.to(torch.int32),
                                  "grad_output": grad_output, "grad_input": x.grad},
                    kernel_size=kernel_size, stride=stride, padding=padding)
    # All negative: a padded -inf must never win, and a window on the border pools the
    # largest of its real elements, not 0 (zero padding would give 0).
    x = (-1 - torch.rand(1, 1, 3, 3)).requires_grad_()
    out, indices = F.max_pool2d(x, 2, 2, 1, return_indices=True)
    grad_output = torch.randn(out.shape)
    (out * grad_output).sum().backward()
    fixture.add("all values negative: the padding is -inf, not 0",
                {"input": x, "output": out, "indices": indices.to(torch.int32), "grad_output": grad_output,
                 "grad_input": x.grad}, kernel_size=2, stride=2, padding=1)
    fixture.save()


def label_smoothing_cases():
    fixture = Fixture("label_smoothing", OUT)
    cases = [  # description, N, K, label_smoothing, logit scale
        ("label_smoothing 0 is the plain cross-entropy", 4, 10, 0.0, 3.0),
        ("label_smoothing 0.1, the study's 10 classes", 10, 10, 0.1, 3.0),
        ("label_smoothing 0.25, more classes than a warp", 3, 40, 0.25, 3.0),
        ("label_smoothing 1: the target is uniform", 5, 7, 1.0, 3.0),
        ("large logits: logsumexp must subtract the maximum", 4, 6, 0.2, 200.0),
    ]
    for description, n, k, smoothing, scale in cases:
        logits = ((torch.rand(n, k) * 2 - 1) * scale).requires_grad_()
        labels = torch.randint(0, k, (n,))
        loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
        loss.backward()
        fixture.add(description, {"logits": logits, "labels": labels.to(torch.int32), "loss": loss.reshape(1),
                                  "grad_logits": logits.grad}, label_smoothing=smoothing)
    fixture.save()


def main():
    torch.manual_seed(20261205)
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    max_pool2d_padding_cases()
    label_smoothing_cases()


if __name__ == "__main__":
    main()
