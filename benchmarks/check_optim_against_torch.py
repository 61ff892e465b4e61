"""Check tsrnn's optimisers and gradient clipping against torch.optim on the same inputs.

The test suite checks them against numpy references of PyTorch's documented algorithms, with
no PyTorch needed; this script, like the benchmarks, runs where PyTorch is installed
(``pip install -e ".[bench]"``) and compares with the real thing. Exits non-zero on a mismatch.

    python benchmarks/check_optim_against_torch.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_optim import ADAM_CONFIGS, LRS, SGD_CONFIGS, adam_reference_kwargs, problem  # noqa: E402
from tsrnn.optim import SGD, Adam, clip_grad_norm  # noqa: E402


def run_optimizer(kind, config, dtype):
    params, grads = problem(dtype)
    weight = torch.nn.Parameter(torch.from_numpy(params.copy()))
    if kind == "sgd":
        optimizer = SGD(params, **config)
        reference = torch.optim.SGD(
            [weight],
            lr=0.01,
            momentum=config.get("momentum", 0.0),
            nesterov=config.get("nesterov", False),
            weight_decay=config.get("weight_decay", 0.0),
        )
    else:
        optimizer = Adam(params, **config)
        kwargs = adam_reference_kwargs(config)
        torch_class = torch.optim.AdamW if kwargs["decoupled"] else torch.optim.Adam
        reference = torch_class(
            [weight],
            lr=1e-3,
            betas=(kwargs["beta1"], kwargs["beta2"]),
            eps=kwargs["eps"],
            weight_decay=kwargs["weight_decay"],
            foreach=False,
        )
    for g, lr in zip(grads, LRS, strict=True):
        for group in reference.param_groups:
            group["lr"] = lr
        optimizer.learning_rate = lr
        weight.grad = torch.from_numpy(g.copy())
        reference.step()
        optimizer.step(g)
    return params, weight.detach().numpy()


def run_clip(dtype, scale):
    grads = np.random.default_rng(3).standard_normal(3000).astype(dtype) * scale
    weight = torch.nn.Parameter(torch.zeros(grads.size, dtype=torch.from_numpy(grads).dtype))
    weight.grad = torch.from_numpy(grads.copy())
    expected = torch.nn.utils.clip_grad_norm_([weight], max_norm=5.0).item()
    norm = clip_grad_norm(grads, 5.0)
    return np.append(grads, norm), np.append(weight.grad.numpy(), expected)


def main():
    failures = 0
    cases = [("sgd", config) for config in SGD_CONFIGS] + [("adam", config) for config in ADAM_CONFIGS]
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        results = [(f"{kind} {config}", run_optimizer(kind, config, dtype)) for kind, config in cases]
        results += [(f"clip scale {scale}", run_clip(dtype, scale)) for scale in (0.1, 10.0)]
        for name, (got, expected) in results:
            agree = np.allclose(got, expected, rtol=rtol, atol=rtol * 1e-2)
            failures += not agree
            difference = np.max(np.abs(got - expected))
            print(
                f"{np.dtype(dtype).name} {name}: max abs difference {difference:.1e}, {'agree' if agree else 'DIFFER'}"
            )
    print("all agree" if not failures else f"{failures} disagree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
