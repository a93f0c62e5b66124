# The Python side of `make bench-engine`: the same train step and tiny-op loop as bench/engine.ts, in python3-torch.
# bench/engine.ts runs it as a server: /usr/bin/python3 bench/engine_py.py, one JSON command per stdin line, one JSON
# reply per stdout line, so the two sides can alternate step by step under the same machine load.
#   {"op": "setup", "threads": 2, "input": [4, 21, 128, 64], "warmup": 3}  -> {"threads", "torch"}
#   {"op": "setup_amp", "warmup": 1}   -> {"autocast_cpu_dtype"}: a second net, trained under bfloat16 autocast
#   {"op": "train", "steps": 2, "amp": false}            -> {"train_ms": [...], "faults_per_step": minor page faults}
#   {"op": "tiny", "n": 200000, "repeats": 5}                              -> {"tiny_us": [...], "tiny_cpu_us": [...]}
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Train:
    def __init__(self, shape, warmup, amp=False):
        # amp: the forward and loss under torch.autocast('cpu', bfloat16), backward and Adam outside, as recommended.
        self.amp = amp
        n, c, h, w = shape
        self.net = nn.Sequential(
            nn.Conv2d(c, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 3, 3, padding=1),
        )
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.x = torch.randn(n, c, h, w)
        self.target = torch.randn(n, 3, h, w)
        for _ in range(warmup):
            self.step()

    def step(self):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.amp):
            loss = F.mse_loss(self.net(self.x), self.target)
        loss.backward()
        self.opt.step()
        # The TS side clears gradients to none as well.
        self.opt.zero_grad(set_to_none=True)

    def times(self, steps):
        out = []
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(steps):
            t0 = time.perf_counter()
            self.step()
            out.append((time.perf_counter() - t0) * 1e3)
        return out, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / steps


def tiny_op(n, repeats):
    a = torch.randn(8)
    b = torch.randn(8)
    for _ in range(n // 2):
        torch.add(a, b)
    wall, cpu = [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(n):
            torch.add(a, b)
        wall.append((time.perf_counter() - t0) / n * 1e6)
        cpu.append((time.process_time() - c0) / n * 1e6)
    return wall, cpu


def main():
    train = None
    train_amp = None
    shape = None
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "setup":
            torch.set_num_threads(cmd["threads"])
            torch.manual_seed(0)
            shape = cmd["input"]
            train = Train(shape, cmd["warmup"])
            reply = {"threads": torch.get_num_threads(), "torch": torch.__version__}
        elif op == "setup_amp":
            train_amp = Train(shape, cmd["warmup"], amp=True)
            reply = {"autocast_cpu_dtype": str(torch.get_autocast_cpu_dtype())}
        elif op == "train":
            ms, faults = (train_amp if cmd.get("amp") else train).times(cmd["steps"])
            reply = {"train_ms": ms, "faults_per_step": faults}
        elif op == "tiny":
            wall, cpu = tiny_op(cmd["n"], cmd["repeats"])
            reply = {"tiny_us": wall, "tiny_cpu_us": cpu}
        else:
            reply = {"error": f"unknown op {op}"}
        print(json.dumps(reply), flush=True)


main()
