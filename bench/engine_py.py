# The Python side of `make bench-engine`: the same train step and tiny-op loop as bench/engine.ts, in python3-torch.
# Run by bench/engine.ts as: /usr/bin/python3 bench/engine_py.py '<json config>'; prints one JSON object.
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def train_step_times(cfg):
    n, c, h, w = cfg["input"]
    net = nn.Sequential(
        nn.Conv2d(c, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 3, 3, padding=1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(n, c, h, w)
    target = torch.randn(n, 3, h, w)

    def step():
        loss = F.mse_loss(net(x), target)
        loss.backward()
        opt.step()
        # The TS side clears gradients to none as well.
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(cfg["warmup"]):
        step()
    times = []
    for _ in range(cfg["steps"]):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def tiny_op_us(cfg):
    a = torch.randn(8)
    b = torch.randn(8)
    n = cfg["tinyN"]
    for _ in range(n // 10):
        torch.add(a, b)
    wall, cpu = [], []
    for _ in range(cfg["tinyRepeats"]):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(n):
            torch.add(a, b)
        wall.append((time.perf_counter() - t0) / n * 1e6)
        cpu.append((time.process_time() - c0) / n * 1e6)
    return wall, cpu


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    out = {"threads": torch.get_num_threads(), "torch": torch.__version__}
    if cfg.get("train", True):
        out["train_ms"] = train_step_times(cfg)
    if cfg.get("tiny", True):
        out["tiny_us"], out["tiny_cpu_us"] = tiny_op_us(cfg)
    print(json.dumps(out))


main()
