import math

import pytest
import torch

from dystress.mathematics import theory
from dystress.mathematics.losses import info_nce
from dystress.mathematics.temperature import TemperatureFunction, constant

PROFILES = [
    constant(0.2),
    TemperatureFunction("cosine", 0.07, 0.2),
    TemperatureFunction("cosine", 0.1, 1.0),
    TemperatureFunction("shifted_cosine", 0.07, 0.2, shift=-0.4, scale=0.7),
    TemperatureFunction("linear", 0.05, 0.3),
    TemperatureFunction("exponential", 0.05, 0.3),
]


def random_similarities(m=12, batch=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    s_pos = torch.rand(batch, generator=g, dtype=torch.float64) * 0.9 + 0.05
    s_neg = torch.rand(batch, m, generator=g, dtype=torch.float64) * 1.9 - 0.95
    return s_pos, s_neg


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.describe())
@pytest.mark.parametrize("detach_tau", [True, False])
def test_closed_form_gradients_match_autograd(profile, detach_tau):
    s_pos, s_neg = random_similarities()
    p, n = s_pos.clone().requires_grad_(), s_neg.clone().requires_grad_()
    tau_p = profile(p.detach() if detach_tau else p)
    tau_n = profile(n.detach() if detach_tau else n)
    logits = torch.cat([(p / tau_p)[:, None], n / tau_n], dim=1)
    loss = (logits.logsumexp(dim=1) - p / tau_p).sum()
    grad_p, grad_n = torch.autograd.grad(loss, (p, n))
    closed_p, closed_n = theory.gradients(s_pos, s_neg, profile, detach_tau=detach_tau)
    assert torch.allclose(closed_p, grad_p, atol=1e-12, rtol=0)
    assert torch.allclose(closed_n, grad_n, atol=1e-12, rtol=0)


@pytest.mark.parametrize("profile", PROFILES[:2], ids=lambda p: p.describe())
def test_closed_form_matches_the_loss_core(profile):
    """The gradient of the core's per-anchor loss with respect to a similarity row is the closed form."""
    s_pos, s_neg = random_similarities(m=6, batch=3, seed=1)
    sim = torch.cat([s_pos[:, None], s_neg], dim=1).requires_grad_()
    negative_mask = torch.ones_like(sim, dtype=torch.bool)
    negative_mask[:, 0] = False
    per_anchor = info_nce(sim, profile(sim.detach()), torch.zeros(3, dtype=torch.long), negative_mask)
    (grad,) = torch.autograd.grad(per_anchor.sum(), sim)
    closed_p, closed_n = theory.gradients(s_pos, s_neg, profile)
    assert torch.allclose(grad[:, 0], closed_p, atol=1e-12) and torch.allclose(grad[:, 1:], closed_n, atol=1e-12)
    assert torch.allclose(per_anchor, theory.anchor_loss(s_pos, s_neg, profile), atol=1e-12)


@pytest.mark.parametrize("tau", [0.07, 0.3, 1.0])
def test_negative_gradients_sum_to_the_positive_one_for_constant_tau(tau):
    s_pos, s_neg = random_similarities()
    grad_p, grad_n = theory.gradients(s_pos, s_neg, tau)
    assert torch.allclose(grad_n.sum(dim=1), -grad_p, atol=1e-12)
    assert torch.allclose(theory.relative_penalty(s_neg, tau), grad_n / grad_n.sum(dim=1, keepdim=True), atol=1e-12)


def test_dynamic_temperature_breaks_the_identity():
    s_pos, s_neg = random_similarities()
    grad_p, grad_n = theory.gradients(s_pos, s_neg, TemperatureFunction("cosine", 0.07, 0.2))
    assert (grad_n.sum(dim=1) + grad_p).abs().max() > 1e-2


def test_relative_penalty_is_a_distribution_whose_entropy_falls_with_tau():
    _, s_neg = random_similarities(m=50)
    taus = [1.0, 0.7, 0.3, 0.2, 0.07]
    entropies = [theory.penalty_entropy(s_neg, t) for t in taus]
    for t in taus:
        assert torch.allclose(theory.relative_penalty(s_neg, t).sum(dim=1), torch.ones(5, dtype=torch.float64))
    for high, low in zip(entropies, entropies[1:]):
        assert (low < high).all()
    assert (entropies[0] <= math.log(50)).all()


def test_entropy_matches_a_direct_computation():
    _, s_neg = random_similarities(m=8, batch=1)
    r = [math.exp(s / 0.2) for s in s_neg[0].tolist()]
    r = [x / sum(r) for x in r]
    assert theory.penalty_entropy(s_neg, 0.2).item() == pytest.approx(-sum(x * math.log(x) for x in r), abs=1e-12)


def test_small_tau_limit_is_the_triplet_loss():
    s_pos, s_neg = random_similarities(m=20)
    for tau in (1e-2, 1e-3):
        gap = theory.anchor_loss(s_pos, s_neg, tau) - theory.triplet_limit(s_pos, s_neg, tau)
        assert (gap >= -1e-9).all() and (gap <= math.log(21) + 1e-9).all()  # bounded while both terms ~ 1/tau
    rel = theory.anchor_loss(s_pos, s_neg, 1e-4) * 1e-4 - theory.triplet_limit(s_pos, s_neg, 1e-4) * 1e-4
    assert rel.abs().max() < 1e-3


def test_large_tau_limit_is_the_simple_loss():
    s_pos, s_neg = random_similarities(m=20)
    err100 = (theory.anchor_loss(s_pos, s_neg, 100.0) - theory.simple_limit(s_pos, s_neg, 100.0)).abs()
    err200 = (theory.anchor_loss(s_pos, s_neg, 200.0) - theory.simple_limit(s_pos, s_neg, 200.0)).abs()
    assert err100.max() < 1e-3
    assert torch.allclose(err100 / err200, torch.full_like(err100, 4.0), rtol=0.02)  # O(1 / tau^2)


def test_logit_slope_is_the_derivative_of_the_effective_logit():
    profile = TemperatureFunction("cosine", 0.07, 0.5)
    s = torch.linspace(-0.95, 0.95, 40, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(theory.logits(s, profile).sum(), s)
    assert torch.allclose(theory.logit_slope(s.detach(), profile, detach_tau=False), grad, atol=1e-10)


@pytest.mark.parametrize("profile", [TemperatureFunction("cosine", 0.07, 0.5), TemperatureFunction("cosine", 0.07, 0.2),
                                     TemperatureFunction("shifted_cosine", 0.07, 0.2, shift=-0.4, scale=0.7),
                                     constant(0.2)], ids=lambda p: p.describe())
def test_order_reversals_are_where_finite_differences_of_the_logit_fall(profile):
    s = torch.linspace(-1, 1, 20001, dtype=torch.float64)
    logit = s / profile(s)
    falling = (logit[1:] - logit[:-1]) < 0  # between neighbouring grid points, no derivative involved
    midpoints = 0.5 * (s[1:] + s[:-1])
    intervals = theory.order_reversals(profile)
    inside = torch.zeros_like(falling)
    for start, end in intervals:
        inside |= (midpoints > start) & (midpoints < end)
    disagree = (inside != falling).sum().item()
    assert disagree <= 2 * len(intervals), "the intervals match the falling steps up to their end points"
    if profile.is_constant or profile.tau_max == 0.2 and profile.name == "cosine":
        assert intervals == []


def test_pull_and_push_are_the_autograd_gradients_and_balance_only_for_constant_tau():
    s_pos, s_neg = random_similarities(m=30, batch=4)
    profile = TemperatureFunction("cosine", 0.07, 0.5)
    for temperature, detach in ((0.2, True), (profile, True), (profile, False)):
        sp, sn = s_pos.clone().requires_grad_(True), s_neg.clone().requires_grad_(True)
        if detach and not isinstance(temperature, float):
            tp, tn = temperature(sp.detach()), temperature(sn.detach())
            loss = torch.cat([(sp / tp)[:, None], sn / tn], dim=1).logsumexp(dim=1) - sp / tp
        else:
            loss = theory.anchor_loss(sp, sn, temperature)
        gp, gn = torch.autograd.grad(loss.sum(), (sp, sn))
        pull, push = theory.pull_and_push(s_pos, s_neg, temperature, detach_tau=detach)
        torch.testing.assert_close(pull, -gp, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(push, gn.sum(dim=1), rtol=1e-10, atol=1e-12)
    pull, push = theory.pull_and_push(s_pos, s_neg, 0.2)
    torch.testing.assert_close(push, pull, rtol=1e-12, atol=1e-12)
    pull, push = theory.pull_and_push(s_pos, s_neg, profile)
    p_pos, p_neg = theory.probabilities(s_pos, s_neg, profile)  # push / pull = tau(s_p) E_r[1 / tau(s_j)]
    ratio = profile(s_pos) * (p_neg / profile(s_neg)).sum(dim=1) / (1 - p_pos)
    torch.testing.assert_close(push / pull, ratio, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(push, pull, rtol=1e-3)


def test_push_share_by_similarity_matches_a_loop_over_bins():
    s_pos, s_neg = random_similarities(m=40, batch=6, seed=3)
    _, grad_neg = theory.gradients(s_pos, s_neg, TemperatureFunction("cosine", 0.07, 0.3))
    edges = torch.tensor([-1.0, -0.2, 0.0, 0.3, 1.0], dtype=torch.float64)
    share = theory.push_share_by_similarity(s_neg, grad_neg, edges)
    s, g = s_neg.flatten().tolist(), grad_neg.flatten().tolist()
    totals = [0.0] * 4
    for value, grad in zip(s, g):
        for k in range(4):
            last = k == 3
            if edges[k] <= value < edges[k + 1] or (last and value == edges[k + 1]):
                totals[k] += grad
    expected = torch.tensor(totals, dtype=torch.float64) / sum(totals)
    torch.testing.assert_close(share, expected, rtol=1e-12, atol=1e-14)
    assert share.sum().item() == pytest.approx(1.0, abs=1e-12)
    on_edge = theory.push_share_by_similarity(torch.tensor([0.0, 0.5]), torch.tensor([1.0, 3.0]),
                                              torch.tensor([-0.5, 0.0, 0.5]))
    assert on_edge.tolist() == [0.0, 1.0]  # 0.0 opens the upper bin; 0.5, the last edge, closes it
    with pytest.raises(ValueError, match="increasing"):
        theory.push_share_by_similarity(s_neg, grad_neg, torch.tensor([0.5, 0.0]))
