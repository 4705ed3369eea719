"""PyTorch reference for side-by-side benchmarks: the FNO-2D of the original FNO scripts
(rfft2 -> keep two corners of modes -> complex einsum -> irfft2, plus a 1x1 conv skip, GELU),
timed for one training step (forward, backward, Adam), single GPU or under torchrun with DDP,
and a raw NCCL all-reduce bus-bandwidth sweep. `step` times the eager step and the same step
captured whole in a CUDA graph (Adam(capturable=True)); `neuralop` times neuraloperator's FNO
in the original architecture (install neuraloperator 2.0.0 first; docs/benchmarks.md).

  python3 bench/reference/torch_fno.py step  --configs paper,medium,large [--json out.json]
  python3 bench/reference/torch_fno.py neuralop --configs paper,medium,large [--json out.json]
  python3 bench/reference/torch_fno.py epoch [--json out.json]   # Burgers FNO-1D and Darcy FNO-2D epochs, data on the GPU
  torchrun --standalone --nproc_per_node=4 bench/reference/torch_fno.py ddp --configs medium,large [--json out.json]
  torchrun --standalone --nproc_per_node=4 bench/reference/torch_fno.py allreduce [--json out.json]

Matmuls and convolutions may use TF32 (torch.backends.*.allow_tf32 = True); FFTs run in fp32.
"""
import argparse, json, os, time
import torch, torch.nn as nn, torch.nn.functional as F
import torch.distributed as dist

# name: (width, modes per dim, resolution, batch per GPU); 4 Fourier layers, 3 input channels (a, x, y), 1 output
CONFIGS = {"paper": (32, 12, 64, 20), "medium": (64, 16, 128, 32), "large": (64, 32, 256, 16)}


class SpectralConv2d(nn.Module):
    def __init__(self, cin, cout, m1, m2):
        super().__init__()
        scale = 1 / (cin * cout)
        self.m1, self.m2 = m1, m2
        self.w1 = nn.Parameter(scale * torch.rand(cin, cout, m1, m2, dtype=torch.cfloat))
        self.w2 = nn.Parameter(scale * torch.rand(cin, cout, m1, m2, dtype=torch.cfloat))

    def forward(self, x):
        b, _, h, w = x.shape
        xf = torch.fft.rfft2(x)
        out = torch.zeros(b, self.w1.shape[1], h, w // 2 + 1, dtype=torch.cfloat, device=x.device)
        out[:, :, :self.m1, :self.m2] = torch.einsum("bixy,ioxy->boxy", xf[:, :, :self.m1, :self.m2], self.w1)
        out[:, :, -self.m1:, :self.m2] = torch.einsum("bixy,ioxy->boxy", xf[:, :, -self.m1:, :self.m2], self.w2)
        return torch.fft.irfft2(out, s=(h, w))


class FNO2d(nn.Module):
    def __init__(self, width, modes, layers=4, cin=3, cout=1):
        super().__init__()
        self.fc0 = nn.Linear(cin, width)
        self.convs = nn.ModuleList([SpectralConv2d(width, width, modes, modes) for _ in range(layers)])
        self.skips = nn.ModuleList([nn.Conv2d(width, width, 1) for _ in range(layers)])
        self.fc1, self.fc2 = nn.Linear(width, 128), nn.Linear(128, cout)

    def forward(self, x):
        x = self.fc0(x).permute(0, 3, 1, 2)
        for i, (conv, skip) in enumerate(zip(self.convs, self.skips)):
            x = conv(x) + skip(x)
            if i < len(self.convs) - 1:
                x = F.gelu(x)
        return self.fc2(F.gelu(self.fc1(x.permute(0, 2, 3, 1))))


def step_ms(model, x, y, steps=30, warmup=8):
    """Eager steps (forward, MSE, backward, Adam) on the fixed batch x, y; ms per step."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for i in range(warmup + steps):
        if i == warmup:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        opt.step()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps * 1e3


class SpectralConv1d(nn.Module):
    def __init__(self, cin, cout, modes):
        super().__init__()
        self.modes = modes
        self.w = nn.Parameter(1 / (cin * cout) * torch.rand(cin, cout, modes, dtype=torch.cfloat))

    def forward(self, x):
        xf = torch.fft.rfft(x)
        out = torch.zeros(x.shape[0], self.w.shape[1], x.shape[-1] // 2 + 1, dtype=torch.cfloat, device=x.device)
        out[:, :, :self.modes] = torch.einsum("bix,iox->box", xf[:, :, :self.modes], self.w)
        return torch.fft.irfft(out, n=x.shape[-1])


class FNO1d(nn.Module):
    """The original scripts' Burgers FNO-1D: input (a, x), width 64, 16 modes, 4 layers."""

    def __init__(self, width=64, modes=16, layers=4):
        super().__init__()
        self.fc0 = nn.Linear(2, width)
        self.convs = nn.ModuleList([SpectralConv1d(width, width, modes) for _ in range(layers)])
        self.skips = nn.ModuleList([nn.Conv1d(width, width, 1) for _ in range(layers)])
        self.fc1, self.fc2 = nn.Linear(width, 128), nn.Linear(128, 1)

    def forward(self, x):
        x = self.fc0(x).permute(0, 2, 1)
        for i, (conv, skip) in enumerate(zip(self.convs, self.skips)):
            x = conv(x) + skip(x)
            if i < len(self.convs) - 1:
                x = F.gelu(x)
        return self.fc2(F.gelu(self.fc1(x.permute(0, 2, 1))))


def relative_l2(pred, y):
    return (torch.linalg.vector_norm((pred - y).flatten(1), dim=1) / torch.linalg.vector_norm(y.flatten(1), dim=1)).sum()


# The FNO paper's end-to-end settings: model, input and target shapes per sample, batch.
EPOCHS = {
    "burgers": (lambda: FNO1d(), (1024, 2), (1024, 1), 20),      # 1000 samples at 1024 points
    "darcy": (lambda: FNO2d(32, 12), (85, 85, 3), (85, 85, 1), 20),  # 1000 samples at 85^2
}


def epoch_seconds(benchmark, samples=1000, epochs=6, graph=False):
    """Seconds per epoch of the training loop of `benchmark` (shuffled batches of data held on the
    GPU, relative L2 loss, Adam), the first epoch (warm-up, capture) left out; with `graph` the step
    is captured once and replayed."""
    dev = torch.device("cuda")
    torch.manual_seed(0)
    make, x_shape, y_shape, batch = EPOCHS[benchmark]
    model = make().cuda()
    xs = torch.randn(samples, *x_shape, device=dev)
    ys = torch.randn(samples, *y_shape, device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4, capturable=graph)
    step = None
    if graph:
        sx, sy = xs[:batch].clone(), ys[:batch].clone()
        g = capture_step(model, opt, relative_l2, sx, sy)

        def step(x, y):
            sx.copy_(x)
            sy.copy_(y)
            g.replay()
    times = []
    for _ in range(epochs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        perm = torch.randperm(samples, device=dev)
        for i in range(0, samples - batch + 1, batch):
            idx = perm[i:i + batch]
            if step:
                step(xs[idx], ys[idx])
            else:
                opt.zero_grad(set_to_none=True)
                relative_l2(model(xs[idx]), ys[idx]).backward()
                opt.step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return sum(times[1:]) / len(times[1:])


def capture_step(model, opt, loss_fn, x, y):
    """The step on the static batch x, y (forward, loss_fn, backward, opt.step()) captured in a
    CUDA graph after three eager warm-up steps on a side stream (allocator pools, cuFFT plans, Adam
    state); opt must be capturable. Returns the graph: fill x and y in place, then replay()."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=False)
            loss_fn(model(x), y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=False)
    with torch.cuda.graph(graph):
        loss_fn(model(x), y).backward()
        opt.step()
    return graph


def graph_step_ms(model, batch, res, steps=30, warmup=8):
    """The whole step (forward, backward, Adam) captured once in a CUDA graph, then replayed."""
    dev = torch.device("cuda")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    x = torch.randn(batch, res, res, 3, device=dev)
    y = torch.randn(batch, res, res, 1, device=dev)
    graph = capture_step(model, opt, F.mse_loss, x, y)
    for i in range(warmup + steps):
        if i == warmup:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        graph.replay()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps * 1e3


def neuralop_fno(width, modes):
    from neuralop.models import FNO  # neuraloperator 2.0: the original architecture, m x m corners kept
    return FNO(n_modes=(2 * modes, 2 * modes - 2), in_channels=1, out_channels=1, hidden_channels=width,
               n_layers=4, use_channel_mlp=False, fno_skip="linear", lifting_channel_ratio=1,
               projection_channel_ratio=128 / width)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["step", "neuralop", "epoch", "ddp", "allreduce"])
    ap.add_argument("--configs", default="paper,medium,large")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "mode": a.mode, "results": []}
    rank, world = 0, 1
    if a.mode in ("ddp", "allreduce"):
        dist.init_process_group("nccl")
        rank, world = dist.get_rank(), dist.get_world_size()
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    if a.mode == "epoch":
        for name in ("burgers", "darcy"):
            r = {"benchmark": name, "samples": 1000, "grid": EPOCHS[name][1][:-1], "batch": EPOCHS[name][3],
                 "epoch_s": epoch_seconds(name), "graph_epoch_s": epoch_seconds(name, graph=True)}
            out["results"].append(r)
            print(json.dumps(r), flush=True)
    elif a.mode in ("step", "neuralop", "ddp"):
        for name in a.configs.split(","):
            width, modes, res, batch = CONFIGS[name]
            torch.manual_seed(0)
            model = (neuralop_fno(width, modes) if a.mode == "neuralop" else FNO2d(width, modes)).cuda()
            if a.mode == "ddp":
                model = nn.parallel.DistributedDataParallel(model)
            torch.cuda.reset_peak_memory_stats()
            dev = torch.device("cuda")
            # the original scripts' FNO takes channels last (a, x, y); neuraloperator's channels first, grid added
            shape_x, shape_y = ((batch, 1, res, res), (batch, 1, res, res)) if a.mode == "neuralop" else \
                ((batch, res, res, 3), (batch, res, res, 1))
            ms = step_ms(model, torch.randn(shape_x, device=dev), torch.randn(shape_y, device=dev))
            r = {"config": name, "gpus": world, "grid": res, "batch": batch, "step_ms": ms,
                 "samples_per_s": world * batch / ms * 1e3, "peak_mem_bytes": torch.cuda.max_memory_allocated()}
            if a.mode == "step":
                torch.manual_seed(0)
                r["graph_step_ms"] = graph_step_ms(FNO2d(width, modes).cuda(), batch, res)
            out["results"].append(r)
            if rank == 0:
                print(json.dumps(r), flush=True)
    else:
        for mb in (1, 16, 64, 256, 1024):
            buf = torch.ones(mb * 2**20 // 4, device="cuda")
            for _ in range(5):
                dist.all_reduce(buf)
            torch.cuda.synchronize()
            dist.barrier()
            iters = 20
            t0 = time.perf_counter()
            for _ in range(iters):
                dist.all_reduce(buf)
            torch.cuda.synchronize()
            t = (time.perf_counter() - t0) / iters
            algbw = buf.numel() * 4 / t / 1e9
            r = {"bytes": buf.numel() * 4, "gpus": world, "time_us": t * 1e6, "algbw_gbs": algbw,
                 "busbw_gbs": algbw * 2 * (world - 1) / world}
            out["results"].append(r)
            if rank == 0:
                print(json.dumps(r), flush=True)
    if rank == 0 and a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
