"""Multi-process training on CPU with gloo: the same loss and gradients as one process on the whole batch."""

import os
import subprocess
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from dystress.engine.config import resolve
from dystress.engine.models import TwoViews, build_model
from dystress.engine.train import build_loss, contrastive_loss

WORLD, BATCH = 2, 8


def setup():
    torch.manual_seed(0)
    model = build_model("small_cnn", out_dim=16).double().eval()  # BatchNorm on running statistics: per-process
    g = torch.Generator().manual_seed(1)                           # batch statistics would differ by design
    views = torch.randn(2, BATCH, 3, 16, 16, generator=g, dtype=torch.float64)
    return model, views


def worker(rank, folder):
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=WORLD)
    model, views = setup()
    ddp = nn.parallel.DistributedDataParallel(TwoViews(model))
    loss_fn = build_loss(resolve("smoke"), num_samples=BATCH, distributed=True)
    part = slice(rank * BATCH // WORLD, (rank + 1) * BATCH // WORLD)
    out = contrastive_loss(ddp, None, loss_fn, views[0, part], views[1, part], torch.arange(BATCH)[part], False)
    out.loss.backward()
    torch.save({"loss": out.loss.detach(), "grads": {n: p.grad for n, p in model.named_parameters()}},
               f"{folder}/rank{rank}.pt")
    dist.destroy_process_group()


def test_two_processes_equal_one_process_on_the_concatenated_batch(tmp_path):
    mp.spawn(worker, args=(str(tmp_path),), nprocs=WORLD, join=True)
    model, views = setup()
    loss_fn = build_loss(resolve("smoke"), num_samples=BATCH)
    out = contrastive_loss(TwoViews(model), None, loss_fn, views[0], views[1], torch.arange(BATCH), False)
    out.loss.backward()
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    assert abs(sum(r["loss"] for r in ranks).item() / WORLD - out.loss.item()) < 1e-12
    for name, p in model.named_parameters():
        for r in ranks:  # DistributedDataParallel has averaged the gradients over the processes
            assert torch.allclose(r["grads"][name], p.grad, atol=1e-12, rtol=1e-9), name


def test_torchrun_trains_with_two_cpu_processes(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
               "dystress.cli", "train", "--profile", "smoke", "--device", "cpu", "--subset_total", "256",
               "--epochs", "2", "--eval_every", "1", "--knn_k", "10", "--run-dir", str(tmp_path / "run")]
    env = os.environ | {"TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1", "DYSTRESS_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = (tmp_path / "run" / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # header, untrained, two epochs: written once, by process 0
    assert "kNN top-1" in result.stdout
