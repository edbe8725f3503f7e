#!/usr/bin/python3
# Writes the PyTorch reference values that tests/test_sgd_optimizer.cpp and
# tests/test_schedulers.cpp compare minidl's SGD and schedulers with:
#   tests/fixtures/optim/sgd.json         parameters after each of 5 SGD steps
#   tests/fixtures/optim/schedulers.json  lr (and momentum) sequences of each scheduler
#
# Regenerate (needs PyTorch 1.13, e.g. Debian's python3-torch) from the repository root:
#   /usr/bin/python3 scripts/make_optim_fixtures.py
# The JSON files are committed: building and testing minidl (CI included) does not need PyTorch.
# Doubles are written by json.dumps, i.e. with repr(): every bit survives the round trip.
import json
import os

import torch

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "optim")
NUM_STEPS = 30
BASE_LR = 0.1

# Named factor functions for LambdaLR; tests/test_schedulers.cpp defines the same names.
LAMBDAS = {
    "power_0.95": lambda epoch: 0.95 ** epoch,
    "warmup_5": lambda epoch: min(1.0, (epoch + 1) / 5),
    "halve_every_4": lambda epoch: 1.0 / (1 + epoch // 4),
}


def make_scheduler(optimizer, kind, args):
    sched = torch.optim.lr_scheduler
    if kind == "StepLR":
        return sched.StepLR(optimizer, **args)
    if kind == "MultiStepLR":
        return sched.MultiStepLR(optimizer, **args)
    if kind == "ExponentialLR":
        return sched.ExponentialLR(optimizer, **args)
    if kind == "CosineAnnealingLR":
        return sched.CosineAnnealingLR(optimizer, **args)
    if kind == "LinearLR":
        return sched.LinearLR(optimizer, **args)
    if kind == "OneCycleLR":
        return sched.OneCycleLR(optimizer, **args)
    if kind == "LambdaLR":
        return sched.LambdaLR(optimizer, LAMBDAS[args["lr_lambda"]])
    raise ValueError(kind)


def scheduler_case(name, schedulers, momentum=0.9, num_steps=NUM_STEPS):
    """schedulers: [(kind, args)], all bound to one SGD and stepped together, in order.
    lr[0] (and momentum[0]) is the value after construction, lr[k] after the k-th step()."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=BASE_LR, momentum=momentum)
    bound = [make_scheduler(optimizer, kind, args) for kind, args in schedulers]
    group = optimizer.param_groups[0]
    lrs, momenta = [group["lr"]], [group["momentum"]]
    for _ in range(num_steps):
        optimizer.step()  # no grad: updates nothing, keeps PyTorch's order-of-calls check quiet
        for scheduler in bound:
            scheduler.step()
        lrs.append(group["lr"])
        momenta.append(group["momentum"])
    case = {"name": name, "lr": BASE_LR, "momentum": momentum,
            "schedulers": [{"type": kind, "args": args} for kind, args in schedulers], "lrs": lrs}
    if any(kind == "OneCycleLR" for kind, _ in schedulers):
        case["momenta"] = momenta
    return case


def scheduler_fixtures():
    one_cycle = {"max_lr": 1.0, "total_steps": NUM_STEPS}
    cases = [
        scheduler_case("StepLR step_size 3", [("StepLR", {"step_size": 3, "gamma": 0.1})]),
        scheduler_case("StepLR step_size 7 gamma 0.5", [("StepLR", {"step_size": 7, "gamma": 0.5})]),
        scheduler_case("MultiStepLR", [("MultiStepLR", {"milestones": [5, 12, 20], "gamma": 0.1})]),
        scheduler_case("MultiStepLR with a milestone at 0", [("MultiStepLR", {"milestones": [0, 4], "gamma": 0.5})]),
        scheduler_case("ExponentialLR gamma 0.8", [("ExponentialLR", {"gamma": 0.8})]),
        scheduler_case("ExponentialLR gamma 0.95", [("ExponentialLR", {"gamma": 0.95})]),
        scheduler_case("CosineAnnealingLR T_max 10", [("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.0})]),
        scheduler_case("CosineAnnealingLR T_max 7 eta_min 0.001",
                       [("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001})]),
        scheduler_case("LinearLR defaults",
                       [("LinearLR", {"start_factor": 1.0 / 3, "end_factor": 1.0, "total_iters": 5})]),
        scheduler_case("LinearLR over 8", [("LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 8})]),
        scheduler_case("LinearLR decay", [("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 10})]),
        scheduler_case("LambdaLR power", [("LambdaLR", {"lr_lambda": "power_0.95"})]),
        scheduler_case("LambdaLR warmup", [("LambdaLR", {"lr_lambda": "warmup_5"})]),
        scheduler_case("LambdaLR halving", [("LambdaLR", {"lr_lambda": "halve_every_4"})]),
        scheduler_case("OneCycleLR cos", [("OneCycleLR", dict(one_cycle))]),
        scheduler_case("OneCycleLR linear", [("OneCycleLR", dict(one_cycle, anneal_strategy="linear"))]),
        scheduler_case("OneCycleLR three phase", [("OneCycleLR", dict(one_cycle, three_phase=True))]),
        scheduler_case("OneCycleLR custom", [("OneCycleLR", dict(one_cycle, pct_start=0.25, div_factor=10.0,
                                                                   final_div_factor=100.0, base_momentum=0.8,
                                                                   max_momentum=0.9))]),
        scheduler_case("OneCycleLR without momentum cycling", [("OneCycleLR", dict(one_cycle, cycle_momentum=False))]),
        scheduler_case("LinearLR warm-up chained with ExponentialLR",
                       [("LinearLR", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 5}),
                        ("ExponentialLR", {"gamma": 0.9})]),
        scheduler_case("LinearLR warm-up chained with CosineAnnealingLR",
                       [("LinearLR", {"start_factor": 0.2, "end_factor": 1.0, "total_iters": 4}),
                        ("CosineAnnealingLR", {"T_max": 20, "eta_min": 0.0})]),
    ]
    return {"comment": "Written by scripts/make_optim_fixtures.py with PyTorch " + torch.__version__ +
                       ". lrs[0] is the lr after construction, lrs[k] after the k-th step() of every scheduler.",
            "cases": cases}


def sgd_case(generator, name, options, dtype=torch.float64, lrs=None, num_steps=5, numel=7):
    initial = torch.randn(numel, generator=generator, dtype=torch.float64).to(dtype)
    grads = [torch.randn(numel, generator=generator, dtype=torch.float64).to(dtype) for _ in range(num_steps)]
    lrs = lrs or [options["lr"]] * num_steps
    param = torch.nn.Parameter(initial.clone())
    optimizer = torch.optim.SGD([param], **options)
    params_after = []
    for step in range(num_steps):
        optimizer.param_groups[0]["lr"] = lrs[step]
        param.grad = grads[step].clone()
        optimizer.step()
        params_after.append(param.detach().tolist())
    return {"name": name, "options": options, "dtype": "f64" if dtype == torch.float64 else "f32",
            "initial": initial.tolist(), "grads": [g.tolist() for g in grads], "lrs": lrs,
            "params_after": params_after}


def sgd_fixtures():
    generator = torch.Generator().manual_seed(2024)
    cases = [
        sgd_case(generator, "plain", {"lr": 0.1}),
        sgd_case(generator, "momentum", {"lr": 0.1, "momentum": 0.9}),
        sgd_case(generator, "nesterov", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        sgd_case(generator, "weight decay", {"lr": 0.1, "weight_decay": 5e-4}),
        sgd_case(generator, "momentum and weight decay", {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4}),
        sgd_case(generator, "dampening", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}),
        sgd_case(generator, "nesterov and weight decay", {"lr": 0.05, "momentum": 0.8, "weight_decay": 1e-2, "nesterov": True}),
        sgd_case(generator, "momentum with a changing lr", {"lr": 0.1, "momentum": 0.9}, lrs=[0.1, 0.05, 0.2, 0.01, 0.1]),
        sgd_case(generator, "momentum and weight decay f32", {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
                 dtype=torch.float32),
    ]
    return {"comment": "Written by scripts/make_optim_fixtures.py with PyTorch " + torch.__version__ +
                       ". Each step k sets lr = lrs[k], grad = grads[k] and calls SGD.step();"
                       " params_after[k] is the parameter after it.",
            "cases": cases}


def to_json(value, indent=0):
    """JSON with one key per line and each list of numbers on one line, for readable diffs."""
    pad = " " * indent
    if isinstance(value, dict):
        items = [f'{pad} {json.dumps(key)}: {to_json(item, indent + 1)}' for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        items = [pad + " " + to_json(item, indent + 1) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)


def write(name, data):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        f.write(to_json(data) + "\n")
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    write("sgd.json", sgd_fixtures())
    write("schedulers.json", scheduler_fixtures())


if __name__ == "__main__":
    main()
