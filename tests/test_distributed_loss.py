"""Two CPU processes (gloo): the gathered loss equals the single-process loss on the concatenated batch."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dystress.mathematics.losses import DySTreSSLoss, NTXentLoss

WORLD = 2
N_LOCAL = 3


def batches(steps=2):
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(WORLD * N_LOCAL, 5, generator=g, dtype=torch.float64),
             torch.randn(WORLD * N_LOCAL, 5, generator=g, dtype=torch.float64)) for _ in range(steps)]


def make_losses(gather):
    return {"dystress": DySTreSSLoss(0.07, 0.2, gather_distributed=gather),
            "queue": NTXentLoss(0.2, queue_size=8, gather_distributed=gather)}


def worker(rank, folder):
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=WORLD)
    results = {}
    for name, loss_fn in make_losses(True).items():
        for step, (z0, z1) in enumerate(batches()):
            part = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
            a, b = z0[part].clone().requires_grad_(), z1[part].clone().requires_grad_()
            value = loss_fn(a, b)
            value.backward()
            results[name, step] = (value.detach(), a.grad, b.grad)
        if name == "queue":
            results["queue_state"] = loss_fn.memory_bank.keys.clone()
    torch.save(results, f"{folder}/rank{rank}.pt")
    dist.destroy_process_group()


def test_gathered_loss_equals_single_process_loss(tmp_path):
    mp.spawn(worker, args=(str(tmp_path),), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    for name, loss_fn in make_losses(False).items():
        for step, (z0, z1) in enumerate(batches()):
            a, b = z0.clone().requires_grad_(), z1.clone().requires_grad_()
            value = loss_fn(a, b)
            value.backward()
            mean_over_ranks = sum(r[name, step][0] for r in ranks) / WORLD
            assert abs(mean_over_ranks.item() - value.item()) < 1e-12
            for rank, result in enumerate(ranks):
                part = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
                # the gather's backward sums over ranks; DDP's gradient averaging divides by WORLD
                assert torch.allclose(result[name, step][1] / WORLD, a.grad[part], atol=1e-12, rtol=0)
                assert torch.allclose(result[name, step][2] / WORLD, b.grad[part], atol=1e-12, rtol=0)
        if name == "queue":
            for result in ranks:
                assert torch.allclose(result["queue_state"], loss_fn.memory_bank.keys, atol=1e-15)
