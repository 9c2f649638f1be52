"""The yardstick: the official DySTreSS small-scale algorithm written in its plain style.

What it does, as the official smallscale script: a torchvision dataset whose PIL images go through
torchvision transforms in DataLoader worker processes (two views per image), an eager fp32 ResNet-18
with the CIFAR stem and the official projection head, one forward pass per view, the DySTreSS loss with
temperatures from detached similarities (positives and negatives gathered with a boolean mask), SGD lr
0.2 momentum 0 weight decay 5e-4, batch 128, the loss read back after every step, and a kNN monitor
(k = 200, t = 0.1) over DataLoader batches of the test transform.

It is deliberately not optimised; ``bench.py`` times it against ``dystress.engine.train`` on the same data and
device. The images come from the same uint8 arrays the trainer uses (CIFAR-10 or digits).
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)

train_transform = transforms.Compose([
    transforms.RandomResizedCrop(32),
    transforms.RandomHorizontalFlip(p=0.5),
    transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
    transforms.RandomGrayscale(p=0.2),
    transforms.ToTensor(),
    transforms.Normalize(MEAN, STD),
])
test_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


class PairDataset(Dataset):
    """uint8 images (N, H, W, 3) as PIL images; training items are two augmented views."""

    def __init__(self, images, labels, train: bool):
        self.images, self.labels, self.train = images.numpy(), labels.numpy(), train

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = Image.fromarray(self.images[i])
        if self.train:
            return train_transform(image), train_transform(image), int(self.labels[i])
        return test_transform(image), int(self.labels[i])


class Model(nn.Module):
    """ResNet-18 with a 3x3 stride-1 first convolution and no max-pool; the official projection head."""

    def __init__(self, feature_dim: int = 128):
        super().__init__()
        backbone = torchvision.models.resnet18(weights=None)
        backbone.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        backbone.maxpool = nn.Identity()
        backbone.fc = nn.Identity()
        self.f = backbone
        self.g = nn.Sequential(nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
                               nn.Linear(512, feature_dim, bias=False), nn.BatchNorm1d(feature_dim))

    def forward(self, x):
        feature = self.f(x)
        return F.normalize(feature, dim=-1), F.normalize(self.g(feature), dim=-1)


def cosine_temperature(s, tmin, tmax):
    return tmin + 0.5 * (tmax - tmin) * (1 + torch.cos(math.pi * (1 + s)))


def dystress_loss(out_1, out_2, tmin=0.07, tmax=0.2):
    """2N anchors: positives and negatives gathered with a mask, tau from detached similarities."""
    batch_size = out_1.shape[0]
    out = torch.cat([out_1, out_2], dim=0)
    sim = out @ out.t()
    mask = (torch.ones_like(sim) - torch.eye(2 * batch_size, device=sim.device)).bool()
    positives = torch.cat([torch.diag(sim, batch_size), torch.diag(sim, -batch_size)]).view(2 * batch_size, 1)
    pos_mask = torch.zeros_like(mask)
    idx = torch.arange(batch_size, device=sim.device)
    pos_mask[idx, idx + batch_size] = True
    pos_mask[idx + batch_size, idx] = True
    negatives = sim[mask & ~pos_mask].view(2 * batch_size, -1)
    t_pos = cosine_temperature(positives.detach(), tmin, tmax)
    t_neg = cosine_temperature(negatives.detach(), tmin, tmax)
    logits = torch.cat([positives / t_pos, negatives / t_neg], dim=1)
    labels = torch.zeros(2 * batch_size, dtype=torch.long, device=sim.device)
    return F.cross_entropy(logits, labels)


def train_epoch(net, loader, optimizer, device, tmin, tmax):
    net.train()
    total_loss, total_num = 0.0, 0
    for pos_1, pos_2, _ in loader:
        pos_1, pos_2 = pos_1.to(device, non_blocking=True), pos_2.to(device, non_blocking=True)
        _, out_1 = net(pos_1)
        _, out_2 = net(pos_2)
        loss = dystress_loss(out_1, out_2, tmin, tmax)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_num += pos_1.shape[0]
        total_loss += loss.item() * pos_1.shape[0]
    return total_loss / total_num


@torch.no_grad()
def knn_test(net, memory_loader, test_loader, device, k=200, t=0.1, num_classes=10):
    net.eval()
    bank, bank_labels = [], []
    for data, target in memory_loader:
        feature, _ = net(data.to(device, non_blocking=True))
        bank.append(feature)
        bank_labels.append(target.to(device))
    bank, bank_labels = torch.cat(bank).t().contiguous(), torch.cat(bank_labels)
    correct, total = 0, 0
    for data, target in test_loader:
        data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
        feature, _ = net(data)
        sim = feature @ bank
        sim_weight, sim_indices = sim.topk(k=min(k, bank.shape[1]), dim=-1)
        sim_labels = torch.gather(bank_labels.expand(data.size(0), -1), dim=-1, index=sim_indices)
        sim_weight = (sim_weight / t).exp()
        one_hot = torch.zeros(data.size(0) * sim_indices.shape[1], num_classes, device=device)
        one_hot = one_hot.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
        scores = torch.sum(one_hot.view(data.size(0), -1, num_classes) * sim_weight.unsqueeze(-1), dim=1)
        correct += (scores.argmax(dim=-1) == target).sum().item()
        total += data.size(0)
    return 100 * correct / total


def run(train_images, train_labels, test_images, test_labels, epochs: int, device: str, batch_size: int = 128,
        workers: int = 4, seed: int = 0, log=print) -> list[dict]:
    """Train for ``epochs`` and kNN-evaluate after each; returns per-epoch seconds and accuracy."""
    torch.manual_seed(seed)
    pin = device.startswith("cuda")
    train_loader = DataLoader(PairDataset(train_images, train_labels, True), batch_size=batch_size, shuffle=True,
                              num_workers=workers, pin_memory=pin, drop_last=True, persistent_workers=workers > 0)
    memory_loader = DataLoader(PairDataset(train_images, train_labels, False), batch_size=batch_size,
                               num_workers=workers, pin_memory=pin)
    test_loader = DataLoader(PairDataset(test_images, test_labels, False), batch_size=batch_size,
                             num_workers=workers, pin_memory=pin)
    net = Model().to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.2, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(net, train_loader, optimizer, device, 0.07, 0.2)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        train_seconds = time.perf_counter() - t0
        scheduler.step()
        t1 = time.perf_counter()
        accuracy = knn_test(net, memory_loader, test_loader, device, num_classes=int(train_labels.max()) + 1)
        history.append({"epoch": epoch, "loss": loss, "knn_top1": accuracy, "train_seconds": train_seconds,
                        "eval_seconds": time.perf_counter() - t1})
        log(f"reference epoch {epoch}: loss {loss:.4f}, kNN {accuracy:.2f}%, train {train_seconds:.1f} s, "
            f"eval {history[-1]['eval_seconds']:.1f} s")
    return history
