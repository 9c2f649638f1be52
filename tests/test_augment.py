import math

import numpy as np
import pytest
import scipy.stats
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision import transforms

from dystress.engine.augment import (
    CIFAR_MEAN,
    CIFAR_STD,
    AugmentParams,
    SimCLRAugment,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    grayscale,
    normalize,
)


def images(n=6, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, size, size, 3), generator=g, dtype=torch.uint8)


def as_float(x):
    return x.permute(0, 3, 1, 2).float() / 255


def fixed(n, **values):
    base = dict(top=torch.zeros(n), left=torch.zeros(n), height=torch.full((n,), 32.0), width=torch.full((n,), 32.0),
                flip=torch.zeros(n, dtype=torch.bool), jitter=torch.zeros(n, dtype=torch.bool),
                brightness=torch.ones(n), contrast=torch.ones(n), saturation=torch.ones(n), hue=torch.zeros(n),
                order=torch.arange(4).repeat(n, 1), gray=torch.zeros(n, dtype=torch.bool))
    base.update(values)
    return AugmentParams(**base)


@pytest.mark.parametrize("factor", [0.6, 1.0, 1.37])
def test_colour_operations_match_torchvision(factor):
    x = as_float(images(4))
    f = torch.full((4, 1, 1, 1), factor)
    assert torch.allclose(adjust_brightness(x, f), TF.adjust_brightness(x, factor), atol=1e-6)
    assert torch.allclose(adjust_contrast(x, f), TF.adjust_contrast(x, factor), atol=1e-6)
    assert torch.allclose(adjust_saturation(x, f), TF.adjust_saturation(x, factor), atol=1e-6)
    assert torch.allclose(grayscale(x).expand_as(x), TF.rgb_to_grayscale(x, num_output_channels=3), atol=1e-6)


@pytest.mark.parametrize("shift", [-0.1, -0.03, 0.0, 0.05, 0.1, 0.5])
def test_hue_matches_torchvision(shift):
    x = as_float(images(4, seed=1))
    x[0, :, :4, :4] = 0.5  # gray pixels: zero saturation
    assert torch.allclose(adjust_hue(x, torch.full((4,), shift)), TF.adjust_hue(x, shift), atol=1e-5)


@pytest.mark.parametrize("box,flip", [((0, 0, 32, 32), False), ((3, 5, 17, 11), False), ((10, 2, 9, 22), True),
                                      ((0, 20, 12, 12), True), ((31, 31, 1, 1), False)])
def test_crop_and_flip_match_torchvision(box, flip):
    top, left, h, w = box
    x = as_float(images(2, seed=2))
    p = fixed(2, top=torch.full((2,), float(top)), left=torch.full((2,), float(left)),
              height=torch.full((2,), float(h)), width=torch.full((2,), float(w)), flip=torch.full((2,), flip))
    ours = SimCLRAugment().crop_flip(x, p)
    theirs = TF.resized_crop(x, top, left, h, w, [32, 32], antialias=False)
    theirs = TF.hflip(theirs) if flip else theirs
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_jitter_applies_operations_in_each_images_own_order():
    x = as_float(images(2, seed=3))
    order = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    p = fixed(2, jitter=torch.ones(2, dtype=torch.bool), brightness=torch.full((2,), 1.3),
              contrast=torch.full((2,), 0.7), saturation=torch.full((2,), 1.2), hue=torch.full((2,), 0.08), order=order)
    out = SimCLRAugment().color(x, p)
    ops = [lambda t: TF.adjust_brightness(t, 1.3), lambda t: TF.adjust_contrast(t, 0.7),
           lambda t: TF.adjust_saturation(t, 1.2), lambda t: TF.adjust_hue(t, 0.08)]
    for i in range(2):
        expected = x[i : i + 1]
        for k in order[i].tolist():
            expected = ops[k](expected)
        assert torch.allclose(out[i : i + 1], expected, atol=1e-5)


def test_gathered_and_masked_jitter_are_identical():
    x = as_float(images(16, seed=5))
    p = SimCLRAugment().sample(16, 32, 32, generator=torch.Generator().manual_seed(3))
    assert p.jitter.any() and not p.jitter.all()
    augment = SimCLRAugment()
    assert torch.equal(augment.color(x, p, gather=True), augment.color(x, p, gather=False))


def test_pil_pipeline_agrees_within_rounding():
    """With the same parameters, the float pipeline and torchvision's PIL path differ by about 1/255."""
    img = images(1, seed=4)[0]
    pil = Image.fromarray(img.numpy())
    theirs = TF.to_tensor(TF.adjust_saturation(TF.adjust_brightness(TF.hflip(TF.resized_crop(
        pil, 4, 6, 20, 24, [32, 32], interpolation=transforms.InterpolationMode.BILINEAR)), 1.2), 0.8))
    p = fixed(1, top=torch.tensor([4.0]), left=torch.tensor([6.0]), height=torch.tensor([20.0]),
              width=torch.tensor([24.0]), flip=torch.tensor([True]), jitter=torch.tensor([True]),
              brightness=torch.tensor([1.2]), saturation=torch.tensor([0.8]), order=torch.tensor([[0, 2, 1, 3]]))
    ours = SimCLRAugment().color(SimCLRAugment().crop_flip(as_float(img[None]), p), p)[0]
    assert (ours - theirs).abs().mean() < 2 / 255
    assert (ours - theirs).abs().max() < 0.15


def test_crop_distribution_matches_torchvision():
    augment = SimCLRAugment()
    p = augment.sample(20000, 32, 32, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    boxes = [transforms.RandomResizedCrop.get_params(torch.zeros(3, 32, 32), (0.08, 1.0), (3 / 4, 4 / 3))
             for _ in range(20000)]
    th, tw = np.array([b[2] for b in boxes]), np.array([b[3] for b in boxes])
    ti, tj = np.array([b[0] for b in boxes]), np.array([b[1] for b in boxes])
    oh, ow = p.height.double().numpy(), p.width.double().numpy()
    for ours, theirs in ((oh * ow, th * tw), (np.log(ow / oh), np.log(tw / th)), (p.top.double().numpy(), ti),
                         (p.left.double().numpy(), tj)):
        assert scipy.stats.ks_2samp(ours, theirs).pvalue > 1e-3
    assert (p.top + p.height <= 32).all() and (p.left + p.width <= 32).all() and (p.top >= 0).all()


def test_bernoulli_rates_and_factor_ranges():
    p = SimCLRAugment().sample(40000, 32, 32, generator=torch.Generator().manual_seed(0))
    for rate, expected in ((p.flip, 0.5), (p.jitter, 0.8), (p.gray, 0.2)):
        assert abs(rate.float().mean().item() - expected) < 4 * math.sqrt(expected * (1 - expected) / 40000)
    for factor in (p.brightness, p.contrast, p.saturation):
        assert 0.6 <= factor.min() and factor.max() <= 1.4 and abs(factor.mean().item() - 1) < 0.01
    assert -0.1 <= p.hue.min() and p.hue.max() <= 0.1
    orders = {tuple(o) for o in p.order[:2000].tolist()}
    assert len(orders) == 24  # every permutation of the four jitter operations occurs


def test_call_gives_independent_views_and_normalised_output():
    x = images(8)
    augment = SimCLRAugment()
    a = augment(x, torch.Generator().manual_seed(0))
    b = augment(x, torch.Generator().manual_seed(0))
    c = augment(x, torch.Generator().manual_seed(1))
    assert a.shape == (8, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.allclose(a[0], a[1])
    plain = normalize(x)
    expected = (as_float(x) - torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    assert torch.allclose(plain, expected)


def test_bad_inputs():
    with pytest.raises(ValueError, match="uint8 of shape"):
        SimCLRAugment()(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="scale"):
        SimCLRAugment(scale=(0.5, 0.2))
    with pytest.raises(ValueError, match="gray_p"):
        SimCLRAugment(gray_p=1.5)


def test_channel_statistics_are_the_population_mean_and_std_per_channel():
    from dystress.engine.augment import channel_statistics

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (37, 5, 6, 3), generator=g, dtype=torch.uint8)
    mean, std = channel_statistics(images, chunk=8)  # chunks that do not divide the images
    pixels = images.double().reshape(-1, 3).numpy() / 255
    assert mean == pytest.approx(tuple(pixels.mean(axis=0)), abs=1e-12)
    assert std == pytest.approx(tuple(pixels.std(axis=0)), abs=1e-12)
    flat = torch.full((2, 4, 4, 3), 7, dtype=torch.uint8)
    assert channel_statistics(flat)[1] == (1e-3,) * 3  # a constant channel is divided by a small number, not 0
    with pytest.raises(ValueError, match="uint8 tensor"):
        channel_statistics(images.float())
