"""First-order MAML meta-iteration of Conv4 in PyTorch: the reference `npm run bench:train` compares
the ONNX Runtime engine against. Same computation: 28x28x1 inputs, N-way K-shot Q-query tasks,
`steps` SGD steps on the support set, query-loss gradient at the adapted parameters (first order),
mean over the meta-batch, one Adam step. BN uses batch statistics. Prints one JSON line."""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def conv4_params(width, classes, gen):
    params = []
    cin = 1
    for _ in range(4):
        w = torch.randn(width, cin, 3, 3, generator=gen) * (2.0 / (cin * 9)) ** 0.5
        params += [w, torch.ones(width), torch.zeros(width)]
        cin = width
    params += [torch.randn(width, classes, generator=gen) * (2.0 / width) ** 0.5, torch.zeros(classes)]
    return [p.requires_grad_() for p in params]


def forward(x, p):
    for i in range(4):
        w, g, b = p[3 * i : 3 * i + 3]
        x = F.conv2d(x, w, padding=1)
        x = F.batch_norm(x, None, None, g, b, training=True, eps=1e-5)
        x = F.max_pool2d(F.relu(x), 2)
    return x.mean(dim=(2, 3)) @ p[12] + p[13]


def task_grads(params, task, steps, lr):
    xs, ys, xq, yq = task
    fast = [p.detach().requires_grad_() for p in params]
    for _ in range(steps):
        grads = torch.autograd.grad(F.cross_entropy(forward(xs, fast), ys), fast)
        fast = [(w - lr * g).detach().requires_grad_() for w, g in zip(fast, grads)]
    return torch.autograd.grad(F.cross_entropy(forward(xq, fast), yq), fast)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--way", type=int, default=5)
    ap.add_argument("--shot", type=int, default=1)
    ap.add_argument("--query", type=int, default=15)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--meta-batch", type=int, default=4)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(1)
    params = conv4_params(a.width, a.way, gen)
    opt = torch.optim.Adam(params, lr=1e-3)

    def task():
        xs = torch.rand(a.way * a.shot, 1, 28, 28, generator=gen)
        xq = torch.rand(a.way * a.query, 1, 28, 28, generator=gen)
        ys = torch.arange(a.way).repeat_interleave(a.shot)
        yq = torch.arange(a.way).repeat_interleave(a.query)
        return xs, ys, xq, yq

    tasks = [task() for _ in range(a.meta_batch)]

    def iteration():
        meta = [torch.zeros_like(p) for p in params]
        for t in tasks:
            for m, g in zip(meta, task_grads(params, t, a.steps, 0.4)):
                m += g
        opt.zero_grad()
        for p, m in zip(params, meta):
            p.grad = m / a.meta_batch
        opt.step()

    for _ in range(a.warmup):
        iteration()
    times = []
    cpu = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        c0 = time.process_time()
        iteration()
        cpu.append(time.process_time() - c0)
        times.append(time.perf_counter() - t0)
    times.sort()
    cpu.sort()
    print(json.dumps({
        "torch": torch.__version__,
        "threads": a.threads,
        "width": a.width,
        "msPerTaskMin": 1000 * times[0] / a.meta_batch,
        "msPerTaskMedian": 1000 * times[len(times) // 2] / a.meta_batch,
        "cpuMsPerTaskMin": 1000 * cpu[0] / a.meta_batch,
        "iterations": a.iterations,
    }))


if __name__ == "__main__":
    main()
