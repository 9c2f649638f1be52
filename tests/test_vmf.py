import numpy as np
import pytest
import torch

from dystress.mathematics import vmf


@pytest.mark.parametrize("dim,kappa", [(3, 2.0), (16, 10.0), (64, 50.0)])
def test_vmf_mean_resultant_length_matches_bessel_ratio(dim, kappa):
    mu = torch.zeros(dim, dtype=torch.float64)
    mu[0] = 1
    x = vmf.sample_vmf(mu, kappa, 20000, np.random.default_rng(0))
    assert torch.allclose(x.norm(dim=1), torch.ones(20000, dtype=torch.float64))
    assert (x @ mu).mean().item() == pytest.approx(vmf.mean_resultant_length(dim, kappa), abs=0.01)
    # no preferred direction orthogonal to mu
    assert x[:, 1:].mean(dim=0).abs().max() < 0.02


def test_vmf_on_the_circle_follows_the_von_mises_density():
    """On S^2 the cosine w = mu.x has density proportional to exp(kappa w) on [-1, 1]."""
    kappa = 3.0
    x = vmf.sample_vmf(torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), kappa, 50000, np.random.default_rng(1))
    w = x[:, 2].numpy()
    expected_mean = 1 / np.tanh(kappa) - 1 / kappa  # Langevin function
    assert w.mean() == pytest.approx(expected_mean, abs=0.01)


def test_mixture_labels_means_and_tolerance():
    x, y, means = vmf.vmf_mixture(4, 3000, 8, [5.0, 5.0, 20.0, 20.0], seed=3)
    assert x.shape == (12000, 8) and y.tolist()[:3] == [0, 0, 0] and means.shape == (4, 8)
    for c, kappa in ((0, 5.0), (3, 20.0)):
        xc = x[y == c]
        tolerance = ((xc.sum(0) @ xc.sum(0)) - len(xc)) / (len(xc) * (len(xc) - 1))
        assert tolerance.item() == pytest.approx(vmf.mean_resultant_length(8, kappa) ** 2, abs=0.02)
    same, _, _ = vmf.vmf_mixture(4, 10, 8, 5.0, seed=3)
    again, _, _ = vmf.vmf_mixture(4, 10, 8, 5.0, seed=3)
    assert torch.equal(same, again)


def test_anchor_similarities():
    s_pos, s_neg, same = vmf.anchor_similarities(99, dim=32, num_classes=10, seed=0)
    assert s_neg.shape == same.shape == (99,)
    assert s_pos > s_neg.max()
    assert s_neg[same].mean() > s_neg[~same].mean() + 0.2
    assert same.sum().item() == 9


def test_bad_inputs():
    with pytest.raises(ValueError, match="kappa must be finite and >= 0"):
        vmf.sample_vmf(torch.ones(3), -1.0, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="kappa must be one number or 3 numbers"):
        vmf.vmf_mixture(3, 2, 4, [1.0, 2.0])


@pytest.mark.parametrize("dim", [2, 3, 16])
def test_uniform_uniformity_matches_samples(dim):
    from dystress.mathematics.metrics import uniformity

    x = vmf.sample_vmf(torch.ones(dim, dtype=torch.float64), 0.0, 3000, np.random.default_rng(0))
    assert uniformity(x) == pytest.approx(vmf.uniform_uniformity(dim), abs=0.03)


def test_uniform_uniformity_on_the_circle_closed_form():
    """dim 2: E exp(-4 + 4 cos theta) = exp(-4) I_0(4)."""
    from scipy.special import i0

    assert vmf.uniform_uniformity(2) == pytest.approx(np.log(np.exp(-4) * i0(4)), abs=1e-8)
