"""The code paths a GPU takes, each run on the CPU and, where CUDA is present, on the GPU against the CPU.

bf16 autocast of the forward pass (the loss in fp32), the channels_last memory format, the optimiser step (fused
SGD on CUDA), the batched augmentation and the kNN metric on the device, and whole training runs with the GPU
settings. Cases on ``cuda`` carry the ``cuda`` mark and skip without a GPU; ``pytest -m cuda`` selects them.
"""

import json
import math

import pytest
import torch

from dystress.engine.augment import SimCLRAugment
from dystress.engine.config import resolve
from dystress.engine.models import TwoViews, build_model
from dystress.engine.run_folder import device_description
from dystress.engine.train import build_optimizer, contrastive_loss, train
from dystress.mathematics import metrics
from dystress.mathematics.losses import DySTreSSLoss, NTXentLoss

CUDA = pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                         reason="no CUDA device")])
DEVICES = ["cpu", CUDA]


def images(batch: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (batch, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def model_on(device: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("small_cnn", 32).to(device).eval()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("loss_fn", [NTXentLoss(0.2), DySTreSSLoss(0.07, 0.2)], ids=["ntxent", "dystress"])
def test_bf16_autocast_keeps_the_loss_in_fp32_and_close_to_fp32(device, loss_fn):
    model = TwoViews(model_on(device))
    augment = SimCLRAugment()
    batch = images().to(device)
    v0 = augment(batch, torch.Generator(device).manual_seed(1))
    v1 = augment(batch, torch.Generator(device).manual_seed(2))
    index = torch.arange(len(batch), device=device)
    full = contrastive_loss(model, None, loss_fn.to(device), v0, v1, index, autocast=False).loss
    mixed = contrastive_loss(model, None, loss_fn.to(device), v0, v1, index, autocast=True).loss
    assert full.dtype == mixed.dtype == torch.float32
    assert math.isfinite(mixed.item())
    assert mixed.item() == pytest.approx(full.item(), abs=0.05)  # bf16 keeps about 3 significant digits
    assert mixed.item() != full.item()  # the autocast path was taken


@pytest.mark.parametrize("device", DEVICES)
def test_channels_last_computes_the_same_features(device):
    model = model_on(device)
    x = SimCLRAugment()(images().to(device), torch.Generator(device).manual_seed(0))
    with torch.no_grad():
        plain = model(x)
        nhwc = model_on(device).to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    for a, b in zip(plain, nhwc):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_the_optimiser_step_is_sgd_with_momentum_and_weight_decay(device):
    config = resolve("paper", momentum=0.9)
    model = model_on(device)
    optimizer = build_optimizer(config, model)
    assert optimizer.param_groups[0].get("fused") is (True if device == "cuda" else None)
    before = [p.detach().double().cpu().clone() for p in model.parameters()]
    grads = [torch.randn(p.shape, generator=torch.Generator().manual_seed(k), dtype=torch.float64)
             for k, p in enumerate(model.parameters())]
    for _ in range(2):
        for p, g in zip(model.parameters(), grads):
            p.grad = g.to(device=device, dtype=p.dtype)
        optimizer.step()
    for p, w, g in zip(model.parameters(), before, grads):
        d = g + config.weight_decay * w  # step 1: buffer = d
        w1 = w - config.lr * d
        buffer = config.momentum * d + (g + config.weight_decay * w1)  # step 2
        torch.testing.assert_close(p.detach().double().cpu(), w1 - config.lr * buffer, rtol=1e-5, atol=1e-6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_augmentation_on_the_gpu_equals_the_cpu_for_the_same_parameters():
    augment = SimCLRAugment()
    batch = images(64)
    p = augment.sample(64, 32, 32, generator=torch.Generator().manual_seed(3))
    on_cpu = augment.apply(batch, p)
    moved = type(p)(**{k: v.cuda() for k, v in vars(p).items()})
    torch.testing.assert_close(augment.apply(batch.cuda(), moved).cpu(), on_cpu, rtol=1e-4, atol=1e-4)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_knn_on_the_gpu_equals_the_cpu():
    g = torch.Generator().manual_seed(0)
    bank = torch.nn.functional.normalize(torch.randn(2000, 64, generator=g), dim=1)
    labels = torch.randint(0, 10, (2000,), generator=g)
    queries = torch.nn.functional.normalize(torch.randn(500, 64, generator=g), dim=1)
    query_labels = torch.randint(0, 10, (500,), generator=g)
    on_cpu = metrics.knn_accuracy(bank, labels, queries, query_labels, k=200, t=0.1)
    on_gpu = metrics.knn_accuracy(bank.cuda(), labels.cuda(), queries.cuda(), query_labels.cuda(), k=200, t=0.1)
    assert on_gpu == pytest.approx(on_cpu, abs=0.21)  # a tie broken otherwise moves one query in 500


@pytest.mark.parametrize("device", DEVICES)
def test_a_run_with_the_gpu_settings_trains_resumes_and_records_its_device(device, tmp_path):
    config = resolve("smoke", subset_total=256, epochs=2, eval_every=1, knn_k=10, device=device, amp=True,
                     channels_last=True)
    history = train(config, tmp_path / "run", progress=False, stop_after=1)
    assert [r["epoch"] for r in history] == [0, 1]
    history = train(config, tmp_path / "run", progress=False)
    assert [r["epoch"] for r in history] == [0, 1, 2]
    assert all(math.isfinite(r["loss"]) for r in history[1:]) and history[-1]["knn_top1"] is not None
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [s["device"] for s in manifest["segments"]] == [device_description(torch.device(device))] * 2


@pytest.mark.cuda
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_a_compiled_run_on_the_gpu_trains_like_the_eager_one(tmp_path):
    config = resolve("smoke", subset_total=256, epochs=1, eval_every=1, knn_k=10, device="cuda", deterministic=True)
    eager = train(config, tmp_path / "eager", progress=False)
    compiled = train(config.replace(compile=True), tmp_path / "compiled", progress=False)
    assert compiled[-1]["loss"] == pytest.approx(eager[-1]["loss"], rel=1e-2)  # bf16: not bit for bit
