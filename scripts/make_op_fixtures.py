#!/usr/bin/python3
"""Writes PyTorch's results for each minidl op, the second oracle next to the finite differences
(tests/test_op_fixtures.cpp replays them through minidl's ops and compares).

Regenerate with Debian's PyTorch (the python3 first on PATH cannot import it), from anywhere:
    /usr/bin/python3 scripts/make_op_fixtures.py
CI does not need PyTorch: it reads the committed files in tests/fixtures/ops/.

One safetensors file per op, tests/fixtures/ops/<op>.safetensors, holding a few cases. The
tensors of case k are named "case<k>.<name>" (input, weight, output, grad_input, ...); the
metadata says how many cases there are ("num_cases"), what each one is ("case<k>.description")
and its parameters ("case<k>.stride", ...). Everything is computed in float64, so the comparison
tests minidl's f64 arithmetic; labels and indices are I32. Backward results come from autograd on
loss = (output * grad_output).sum() with a random grad_output, which makes grad_output the
upstream gradient.
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "ops")
DTYPES = {torch.float64: "F64", torch.int32: "I32"}


def save_safetensors(path, tensors, metadata):
    """The safetensors layout: u64 header length, JSON header (padded to 8 bytes), raw little-endian data."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class Fixture:
    """Collects the cases of one op and writes them to <directory>/<name>.safetensors
    (tests/fixtures/ops/ unless told; docs/exercises/make_fixtures.py writes its own)."""

    def __init__(self, name, directory=OUT):
        self.name, self.directory = name, directory
        self.tensors, self.metadata, self.num_cases = {}, {}, 0

    def add(self, description, tensors, **params):
        prefix = f"case{self.num_cases}."
        self.metadata[prefix + "description"] = description
        for key, value in params.items():
            self.metadata[prefix + key] = str(value)
        for key, value in tensors.items():
            self.tensors[prefix + key] = value
        self.num_cases += 1

    def save(self):
        self.metadata["num_cases"] = str(self.num_cases)
        save_safetensors(os.path.join(self.directory, f"{self.name}.safetensors"), self.tensors, self.metadata)


def leaf(*shape, low=-1.0, high=1.0):
    return (torch.rand(*shape) * (high - low) + low).requires_grad_()


def backward_with_random_grad(output, *leaves):
    """Runs autograd on (output * grad_output).sum(); returns grad_output and the leaves' grads."""
    grad_output = torch.randn(output.shape)
    (output * grad_output).sum().backward()
    return (grad_output, *(x.grad for x in leaves))


def conv2d_cases():
    fixture = Fixture("conv2d")
    shapes = [  # description, input shape, weight shape, stride, padding, bias
        ("3x3 stride 1 padding 1", (2, 3, 5, 5), (4, 3, 3, 3), 1, 1, True),
        ("3x3 stride 2 padding 0 on an odd non-square image", (2, 2, 7, 6), (3, 2, 3, 3), 2, 0, True),
        ("3x3 stride 2 padding 1 on an even image", (1, 3, 6, 6), (2, 3, 3, 3), 2, 1, True),
        ("3x2 kernel without bias", (2, 2, 5, 4), (3, 2, 3, 2), 1, 1, False),
        ("1x1 kernel batch 1", (1, 4, 3, 3), (2, 4, 1, 1), 1, 0, True),
    ]
    for description, input_shape, weight_shape, stride, padding, has_bias in shapes:
        x, w = leaf(*input_shape), leaf(*weight_shape)
        b = leaf(weight_shape[0]) if has_bias else None
        out = F.conv2d(x, w, b, stride=stride, padding=padding)
        grads = backward_with_random_grad(out, x, w, *([b] if has_bias else []))
        tensors = {"input": x, "weight": w, "output": out, "grad_output": grads[0], "grad_input": grads[1],
                   "grad_weight": grads[2]}
        if has_bias:
            tensors.update(bias=b, grad_bias=grads[3])
        fixture.add(description, tensors, stride=stride, padding=padding)
    fixture.save()


def max_pool2d_cases():
    fixture = Fixture("max_pool2d")
    cases = [  # description, input, kernel_size, stride
        ("kernel 2 stride 2", leaf(2, 3, 4, 6), 2, 2),
        ("kernel 3 stride 2: overlapping windows on an odd image", leaf(1, 2, 7, 7), 3, 2),
        ("kernel 3 stride 2 dropping the last row and column", leaf(1, 1, 8, 8), 3, 2),
        # Few distinct values, so most windows hold ties: the first maximum wins.
        ("kernel 2 stride 2 with ties", torch.randint(0, 3, (2, 2, 4, 4)).double().requires_grad_(), 2, 2),
        ("kernel 3 stride 2 with ties", torch.randint(0, 2, (1, 2, 7, 5)).double().requires_grad_(), 3, 2),
    ]
    for description, x, kernel_size, stride in cases:
        out, indices = F.max_pool2d(x, kernel_size, stride, return_indices=True)
        grad_output, grad_input = backward_with_random_grad(out, x)
        fixture.add(description, {"input": x, "output": out, "indices": indices.int(), "grad_output": grad_output,
                                  "grad_input": grad_input}, kernel_size=kernel_size, stride=stride)
    fixture.save()


def relu_cases():
    fixture = Fixture("relu")
    with_zeros = leaf(3, 4, 5)
    with torch.no_grad():
        with_zeros.view(-1)[::7] = 0.0  # the gradient at exactly 0 is 0
    for description, x in [("4-d input", leaf(2, 3, 4, 5)), ("3-d input with exact zeros", with_zeros),
                           ("2-d input", leaf(6, 7))]:
        out = F.relu(x)
        grad_output, grad_input = backward_with_random_grad(out, x)
        fixture.add(description, {"input": x, "output": out, "grad_output": grad_output, "grad_input": grad_input})
    fixture.save()


def batch_norm2d_cases():
    fixture = Fixture("batch_norm2d")
    # Training: batch statistics; running statistics start at PyTorch's defaults 0 and 1.
    training = [  # description, input shape, eps, momentum, input scale and shift
        ("training defaults", (4, 3, 5, 5), 1e-5, 0.1, 1.0, 0.0),
        ("training batch 1 odd image eps 1e-3 momentum 0.2", (1, 2, 3, 5), 1e-3, 0.2, 1.0, 0.0),
        ("training scaled and shifted input", (3, 2, 4, 4), 1e-5, 0.1, 10.0, 5.0),
    ]
    for description, shape, eps, momentum, scale, shift in training:
        channels = shape[1]
        x = (torch.rand(*shape) * 2.0 - 1.0).mul(scale).add(shift).requires_grad_()
        weight, bias = leaf(channels, low=0.5, high=1.5), leaf(channels)
        running_mean, running_var = torch.zeros(channels), torch.ones(channels)
        out = F.batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum=momentum, eps=eps)
        grad_output, grad_input, grad_weight, grad_bias = backward_with_random_grad(out, x, weight, bias)
        _, save_mean, save_invstd = torch.native_batch_norm(x.detach(), weight.detach(), bias.detach(), None, None,
                                                            True, momentum, eps)
        fixture.add(description, {"input": x, "weight": weight, "bias": bias, "output": out,
                                  "running_mean": running_mean, "running_var": running_var,
                                  "save_mean": save_mean, "save_invstd": save_invstd, "grad_output": grad_output,
                                  "grad_input": grad_input, "grad_weight": grad_weight, "grad_bias": grad_bias},
                    training=1, eps=eps, momentum=momentum)
    # Evaluation: normalise with given running statistics, which are constants for backward.
    channels = 3
    x = leaf(2, channels, 4, 3)
    weight, bias = leaf(channels, low=0.5, high=1.5), leaf(channels)
    running_mean, running_var = torch.rand(channels) - 0.5, torch.rand(channels) + 0.5
    out = F.batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=1e-5)
    grad_output, grad_input, grad_weight, grad_bias = backward_with_random_grad(out, x, weight, bias)
    fixture.add("evaluation", {"input": x, "weight": weight, "bias": bias, "running_mean": running_mean,
                               "running_var": running_var, "output": out, "grad_output": grad_output,
                               "grad_input": grad_input, "grad_weight": grad_weight, "grad_bias": grad_bias},
                training=0, eps=1e-5, momentum=0.1)
    fixture.save()


def linear_cases():
    fixture = Fixture("linear")
    for description, n, in_features, out_features, has_bias in [("with bias", 4, 5, 3, True),
                                                                 ("without bias batch 1", 1, 7, 2, False),
                                                                 ("wide", 3, 16, 10, True)]:
        x, w = leaf(n, in_features), leaf(out_features, in_features)
        b = leaf(out_features) if has_bias else None
        out = F.linear(x, w, b)
        grads = backward_with_random_grad(out, x, w, *([b] if has_bias else []))
        tensors = {"input": x, "weight": w, "output": out, "grad_output": grads[0], "grad_input": grads[1],
                   "grad_weight": grads[2]}
        if has_bias:
            tensors.update(bias=b, grad_bias=grads[3])
        fixture.add(description, tensors)
    fixture.save()


def cross_entropy_cases():
    fixture = Fixture("cross_entropy")
    ties = torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, 5.0, 1.0, 5.0]])
    cases = [  # description, logits, labels
        ("random logits", torch.randn(6, 5), torch.randint(0, 5, (6,))),
        ("large logits", torch.randn(4, 10) * 1000.0, torch.randint(0, 10, (4,))),
        ("confident and correct", torch.eye(3) * 40.0, torch.arange(3)),
        # The first maximum is the prediction: rows 0 and 1 count, row 2 does not.
        ("tied maxima", ties, torch.tensor([1, 0, 3])),
    ]
    for description, logits, labels in cases:
        logits = logits.clone().requires_grad_()
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        num_correct = (logits.argmax(dim=1) == labels).sum().int().reshape(1)
        fixture.add(description, {"logits": logits, "labels": labels.int(), "loss": loss.reshape(1),
                                  "grad_logits": logits.grad, "num_correct": num_correct})
    fixture.save()


def sgd_cases():
    fixture = Fixture("sgd")
    num_steps = 3
    settings = [  # description, torch.optim.SGD arguments
        ("plain", dict(lr=0.1)),
        ("momentum 0.9", dict(lr=0.1, momentum=0.9)),
        ("nesterov momentum 0.9", dict(lr=0.1, momentum=0.9, nesterov=True)),
        ("weight_decay 5e-4 momentum 0.9", dict(lr=0.1, momentum=0.9, weight_decay=5e-4)),
        ("dampening 0.1 momentum 0.9", dict(lr=0.1, momentum=0.9, dampening=0.1)),
        ("weight_decay 5e-4 without momentum", dict(lr=0.05, weight_decay=5e-4)),
    ]
    for description, args in settings:
        param = torch.nn.Parameter(torch.randn(2, 3))
        tensors = {"param": param.detach().clone()}
        optimizer = torch.optim.SGD([param], **args)
        for step in range(num_steps):
            grad = torch.randn(2, 3)
            param.grad = grad.clone()
            optimizer.step()
            tensors[f"grad{step}"] = grad
            tensors[f"param_after{step}"] = param.detach().clone()
        fixture.add(description, tensors, num_steps=num_steps, lr=args["lr"], momentum=args.get("momentum", 0.0),
                    dampening=args.get("dampening", 0.0), weight_decay=args.get("weight_decay", 0.0),
                    nesterov=int(args.get("nesterov", False)))
    fixture.save()


def main():
    torch.manual_seed(20261127)
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    for make in (conv2d_cases, max_pool2d_cases, relu_cases, batch_norm2d_cases, linear_cases, cross_entropy_cases,
                 sgd_cases):
        make()


if __name__ == "__main__":
    main()
