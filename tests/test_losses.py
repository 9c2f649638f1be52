import math

import pytest
import torch

from dystress.mathematics import losses
from dystress.mathematics.losses import (
    DCLLoss,
    DySTreSSLoss,
    HardContrastiveLoss,
    ISogCLRLoss,
    MACLLoss,
    NTXentLoss,
    SimpleLoss,
    make_loss,
)
from dystress.mathematics.temperature import TemperatureFunction

from . import reference as ref

SHAPES = [(2, 3), (5, 2), (8, 16)]
TOL = 1e-10


def embeddings(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n, d, generator=g, dtype=torch.float64)
    z1 = z0 + 0.7 * torch.randn(n, d, generator=g, dtype=torch.float64)
    return z0.requires_grad_(), z1.requires_grad_()


def compare(loss_fn, reference_fn, n, d, seed=0):
    z0, z1 = embeddings(n, d, seed)
    value = loss_fn(z0, z1)
    grads = torch.autograd.grad(value, (z0, z1))
    r0, r1 = z0.detach().clone().requires_grad_(), z1.detach().clone().requires_grad_()
    expected = reference_fn(r0, r1)
    expected_grads = torch.autograd.grad(expected, (r0, r1))
    assert value.dtype == torch.float64
    assert abs(value.item() - expected.item()) < TOL
    for g, e in zip(grads, expected_grads):
        assert torch.allclose(g, e, atol=TOL, rtol=0)


def tau_of(name, tau_min, tau_max, shift=None, scale=None):
    return lambda s: ref.tau_formula(s, name, tau_min, tau_max, shift, scale)


@pytest.mark.parametrize("n,d", SHAPES)
@pytest.mark.parametrize("tau", [0.07, 0.5])
def test_ntxent_matches_naive_reference(n, d, tau):
    compare(NTXentLoss(tau), lambda a, b: ref.infonce_reference(a, b, tau_of("constant", tau, tau)), n, d)


PROFILE_CASES = [
    ("cosine", 0.07, 0.2, None, None),
    ("cosine", 0.1, 1.0, None, None),
    ("shifted_cosine", 0.07, 0.2, -0.4, 0.7),
    ("linear", 0.05, 0.3, None, None),
    ("exponential", 0.05, 0.3, None, None),
]


@pytest.mark.parametrize("n,d", SHAPES)
@pytest.mark.parametrize("case", PROFILE_CASES, ids=lambda c: c[0])
@pytest.mark.parametrize("detach_tau", [True, False])
def test_dystress_matches_naive_reference(n, d, case, detach_tau):
    name, lo, hi, shift, scale = case
    loss_fn = DySTreSSLoss(lo, hi, tau_shape=name, tau_shift=shift, tau_scale=scale, detach_tau=detach_tau)
    compare(loss_fn, lambda a, b: ref.infonce_reference(a, b, tau_of(*case), detach_tau=detach_tau), n, d, seed=n)


def test_detach_tau_changes_the_gradient_but_not_the_value():
    z0, z1 = embeddings(6, 4, 3)
    a = DySTreSSLoss(0.07, 0.2, detach_tau=True)(z0, z1)
    b = DySTreSSLoss(0.07, 0.2, detach_tau=False)(z0, z1)
    ga, gb = torch.autograd.grad(a, z0)[0], torch.autograd.grad(b, z0)[0]
    assert abs(a.item() - b.item()) < 1e-14
    assert (ga - gb).abs().max() > 1e-3


@pytest.mark.parametrize("tau", [0.07, 0.2, 0.5])
def test_dystress_with_equal_range_is_ntxent(tau):
    z0, z1 = embeddings(7, 5, 1)
    a = DySTreSSLoss(tau, tau)(z0, z1)
    b = NTXentLoss(tau)(z0, z1)
    ga, gb = torch.autograd.grad(a, (z0, z1)), torch.autograd.grad(b, (z0, z1))
    assert abs(a.item() - b.item()) < 1e-14
    assert all(torch.allclose(x, y, atol=1e-14, rtol=0) for x, y in zip(ga, gb))


@pytest.mark.parametrize("epoch", [0.0, 0.3, 1.8, 2.7])
def test_a_kukleva_scheduled_loss_is_ntxent_at_the_closed_form_temperature_of_its_step(epoch):
    options = NTXentLoss.Options(tau_schedule="kukleva", schedule_t_max=1.8)
    loss_fn = NTXentLoss.from_options(options, num_samples=7)
    loss_fn.set_progress(epoch)
    tau = 0.1 + 0.45 * (1 + math.cos(math.pi * epoch / 1.8))
    assert loss_fn.scheduled_temperature == pytest.approx(tau, abs=1e-15)
    z0, z1 = embeddings(7, 5, 3)
    assert abs(loss_fn(z0, z1).item() - ref.infonce_reference(z0, z1, tau_of("constant", tau, tau)).item()) < TOL


def test_loss_is_symmetric_and_scale_invariant():
    z0, z1 = embeddings(6, 4, 2)
    loss_fn = DySTreSSLoss()
    assert abs(loss_fn(z0, z1).item() - loss_fn(z1, z0).item()) < 1e-12
    assert abs(loss_fn(z0, z1).item() - loss_fn(3 * z0, 0.5 * z1).item()) < 1e-12


@pytest.mark.parametrize("n,d", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("temperature", [0.1, TemperatureFunction("cosine", 0.07, 0.2)], ids=["const", "cosine"])
def test_dcl_matches_naive_reference(n, d, weighted, temperature):
    sigma = 0.5
    profile = temperature if isinstance(temperature, TemperatureFunction) else TemperatureFunction("constant", 0.1, 0.1)

    def reference(a, b):
        weights = None
        if weighted:
            pos = [s.item() for s in ref.positive_similarities(a, b)]
            mean = sum(math.exp(s / sigma) for s in pos) / len(pos)
            weights = [2 - math.exp(s / sigma) / mean for s in pos]
        return ref.infonce_reference(a, b, tau_of(profile.name, profile.tau_min, profile.tau_max),
                                     include_positive=False, positive_weights=weights)

    compare(DCLLoss(temperature, weighted=weighted, sigma=sigma), reference, n, d, seed=d)


@pytest.mark.parametrize("n,d", [(3, 4), (8, 16)])
@pytest.mark.parametrize("selection", [{"num_negatives": 1}, {"num_negatives": 3}, {"quantile": 0.3},
                                       {"quantile": 1.0}], ids=str)
def test_hard_loss_matches_naive_reference(n, d, selection):
    available = 2 * n - 2
    keep = selection.get("num_negatives") or math.ceil(selection["quantile"] * available)

    def hardest(i, negatives, sims):
        order = sorted(range(len(negatives)), key=lambda k: -sims[k])
        return [negatives[k] for k in order[:keep]]

    compare(HardContrastiveLoss(0.2, **selection),
            lambda a, b: ref.infonce_reference(a, b, tau_of("constant", 0.2, 0.2), keep_negatives=hardest), n, d)


def simple_reference(z0, z1, weight):
    """-s_ip + weight * mean of the anchor's negatives' similarities, as a loop over the 2N views."""
    v, partner = ref.views(z0, z1)
    m = len(v)
    total = 0
    for i in range(m):
        negatives = [ref.dot(v[i], v[j]) for j in range(m) if j not in (i, partner[i])]
        total = total - ref.dot(v[i], v[partner[i]]) + weight * sum(negatives) / len(negatives)
    return total / m


@pytest.mark.parametrize("n,d", SHAPES)
@pytest.mark.parametrize("weight", [1.0, 0.3])
def test_simple_loss_matches_naive_reference(n, d, weight):
    compare(SimpleLoss(weight), lambda a, b: simple_reference(a, b, weight), n, d)


def test_simple_loss_is_the_large_temperature_limit_of_ntxent():
    """InfoNCE with M negatives -> log(M + 1) + M / ((M + 1) tau) * simple loss as tau -> infinity."""
    z0, z1 = embeddings(5, 4, 3)
    m = 2 * 5 - 2
    simple = SimpleLoss()(z0, z1).item()
    gaps = []
    for tau in (1e2, 1e4):
        rescaled = (NTXentLoss(tau)(z0, z1).item() - math.log(m + 1)) * (m + 1) * tau / m
        gaps.append(abs(rescaled - simple))
    assert gaps[1] < 1e-4 and gaps[1] < gaps[0] / 50  # the error falls as 1 / tau


def test_hard_loss_with_a_queue_matches_naive_reference_over_steps():
    """With a MoCo queue the hardest ceil(quantile * filled) keys of the queue are each anchor's negatives."""
    tau, quantile = 0.3, 0.5

    def anchor_loss(s_pos, sims):
        kept = sorted(sims, key=lambda s: -s.item())[: math.ceil(quantile * len(sims))]
        return torch.log(torch.exp(s_pos / tau) + sum(torch.exp(s / tau) for s in kept)) - s_pos / tau

    check_queue_steps(HardContrastiveLoss(tau, quantile=quantile, queue_size=6), anchor_loss, q=6, seed=5)


def test_hard_loss_with_all_negatives_is_ntxent():
    z0, z1 = embeddings(6, 3, 4)
    assert abs(HardContrastiveLoss(0.3, quantile=1.0)(z0, z1).item() - NTXentLoss(0.3)(z0, z1).item()) < 1e-13


@pytest.mark.parametrize("n,d", SHAPES)
@pytest.mark.parametrize("alpha,a0", [(0.5, 0.0), (0.3, 0.5)])
def test_macl_matches_naive_reference(n, d, alpha, a0):
    def reference(a, b):
        pos = [s.item() for s in ref.positive_similarities(a, b)]
        tau = 0.1 * (1 + alpha * (sum(pos) / len(pos) - a0))
        weight = lambda loss_i: 1 / (1 - math.exp(-loss_i.item()))  # noqa: E731
        return ref.infonce_reference(a, b, lambda s: tau + 0 * s, anchor_weights=weight)

    compare(MACLLoss(0.1, alpha=alpha, a0=a0), reference, n, d)


def test_macl_temperature_is_floored_at_a_hundredth_of_tau_0():
    """With SimCSE's setting (alpha 2, a0 0.8) tau_A = tau_0 (1 + 2 (A - 0.8)) would turn negative below A = 0.3;
    it stops at tau_0 / 100, and above that it is the formula."""
    loss_fn = MACLLoss(0.05, alpha=2.0, a0=0.8)
    for alignment, expected in ((0.9, 0.05 * 1.2), (0.5, 0.05 * 0.4), (0.2, 0.0005), (-1.0, 0.0005)):
        similarity = torch.full((2, 2), alignment, dtype=torch.float64)
        tau = loss_fn.pair_temperature(similarity, torch.tensor([1, 0]))
        assert torch.allclose(tau, torch.full((2, 1), expected, dtype=torch.float64))


def test_isogclr_matches_naive_reference_over_several_steps():
    settings = dict(tau_init=0.1, tau_min=0.05, tau_max=1.0, gamma=0.8, rho=0.4, beta_u=0.5, eta=0.03)
    loss_fn = ISogCLRLoss(num_samples=10, **settings)
    g = torch.Generator().manual_seed(5)
    batches = []
    for _ in range(4):
        index = torch.randperm(10, generator=g)[:4]
        z0 = torch.randn(4, 3, generator=g, dtype=torch.float64)
        z1 = z0 + 0.5 * torch.randn(4, 3, generator=g, dtype=torch.float64)
        batches.append((z0.requires_grad_(), z1.requires_grad_(), index))
    leaves = [(a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_(), i) for a, b, i in batches]
    ref_losses, ref_tau, ref_s, ref_u = ref.isogclr_reference(leaves, 10, **settings)
    for (z0, z1, index), (r0, r1, _), expected in zip(batches, leaves, ref_losses):
        value = loss_fn(z0, z1, index)
        assert abs(value.item() - expected.item()) < TOL
        for got, want in zip(torch.autograd.grad(value, (z0, z1)), torch.autograd.grad(expected, (r0, r1))):
            assert torch.allclose(got, want, atol=TOL, rtol=0)
    for state, expected in ((loss_fn.tau, ref_tau), (loss_fn.s, ref_s), (loss_fn.u, ref_u)):
        assert torch.allclose(state, torch.tensor(expected, dtype=torch.float64), atol=TOL, rtol=0)
    assert not torch.allclose(loss_fn.tau, torch.full((10,), 0.1, dtype=torch.float64))


def test_isogclr_eval_mode_leaves_state_untouched():
    loss_fn = ISogCLRLoss(num_samples=6).eval()
    z0, z1 = embeddings(3, 4, 0)
    loss_fn(z0, z1, torch.tensor([0, 1, 2]))
    assert torch.equal(loss_fn.tau, torch.full((6,), 0.1, dtype=torch.float64))
    assert not loss_fn.seen.any()


def check_queue_steps(loss_fn, anchor_loss, q: int, seed: int, steps: int = 4) -> None:
    """Four steps of ``loss_fn`` with a queue of ``q`` keys against a loop: anchor i of z0 has z1[i] as its
    positive and the queue (the keys of earlier steps, at most q) as its negatives, loss = mean_i
    anchor_loss(s_ip, [s_ik for the queued keys k]); value and gradients to TOL at every step."""
    g = torch.Generator().manual_seed(seed)
    queue = []
    for step in range(steps):
        z0 = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
        z1 = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
        value = loss_fn(z0, z1)
        grads = torch.autograd.grad(value, (z0, z1))
        a, b = z0.detach().clone().requires_grad_(), z1.detach().clone().requires_grad_()
        qa, kb = ref.normalise(a), ref.normalise(b)
        expected = sum(anchor_loss(ref.dot(qa[i], kb[i]), [ref.dot(qa[i], key) for key in queue])
                       for i in range(3)) / 3
        expected_grads = torch.autograd.grad(expected, (a, b))
        assert abs(value.item() - expected.item()) < TOL
        assert all(torch.allclose(x, y, atol=TOL, rtol=0) for x, y in zip(grads, expected_grads))
        queue = (queue + [k.detach() for k in kb])[-q:]


def test_queue_loss_matches_naive_reference_over_steps():
    tau_min, tau_max, q = 0.07, 0.2, 5
    loss_fn = DySTreSSLoss(tau_min, tau_max, queue_size=q)

    def tau(s):
        return ref.tau_formula(s, "cosine", tau_min, tau_max)

    def anchor_loss(s_pos, sims):
        terms = [torch.exp(s_pos / tau(s_pos.detach()))] + [torch.exp(s / tau(s.detach())) for s in sims]
        return torch.log(sum(terms)) - s_pos / tau(s_pos.detach())

    check_queue_steps(loss_fn, anchor_loss, q, seed=2)
    assert int(loss_fn.memory_bank.filled.sum()) == q


def test_queue_is_not_updated_in_eval_mode_and_survives_a_state_dict():
    loss_fn = NTXentLoss(0.2, queue_size=4)
    z0, z1 = embeddings(3, 2, 0)
    loss_fn(z0, z1)
    clone = NTXentLoss(0.2, queue_size=4)
    clone.load_state_dict(loss_fn.state_dict())
    assert torch.equal(clone.memory_bank.keys, loss_fn.memory_bank.keys) and int(clone.memory_bank.pointer) == 3
    loss_fn.eval()
    loss_fn(z0, z1)
    assert int(loss_fn.memory_bank.pointer) == 3


def test_details_expose_similarities_and_temperatures():
    z0, z1 = embeddings(4, 3, 0)
    out = DySTreSSLoss(0.1, 0.2)(z0, z1, return_details=True)
    assert out.similarity.shape == out.temperature.shape == (8, 8)
    assert out.per_anchor.shape == (8,)
    assert torch.allclose(out.loss, out.per_anchor.mean())
    assert ((out.temperature >= 0.1 - 1e-12) & (out.temperature <= 0.2 + 1e-12)).all()
    assert out.negative_mask.sum(dim=1).tolist() == [6] * 8
    assert torch.equal(out.positive_index, torch.tensor([4, 5, 6, 7, 0, 1, 2, 3]))


def test_make_loss_builds_every_registered_loss():
    z0, z1 = embeddings(4, 3, 0)
    kwargs = {"hard": {"quantile": 0.5}, "isogclr": {"num_samples": 4}}
    for name in losses.LOSSES:
        loss_fn = make_loss(name, **kwargs.get(name, {}))
        value = loss_fn(z0, z1, torch.arange(4)) if name == "isogclr" else loss_fn(z0, z1)
        assert torch.isfinite(value)


BAD = [
    (lambda: NTXentLoss(0.0), "temperature"),
    (lambda: NTXentLoss(-1), "temperature"),
    (lambda: NTXentLoss(float("nan")), "temperature"),
    (lambda: DySTreSSLoss(0.3, 0.2), "tau_min must be <= tau_max"),
    (lambda: DySTreSSLoss(0.0, 0.2), "tau_min"),
    (lambda: DySTreSSLoss(tau_shape="cosinus"), "shape must be one of"),
    (lambda: DySTreSSLoss(tau_shape="shifted_cosine"), "shift and scale"),
    (lambda: DySTreSSLoss(tau_shape="shifted_cosine", tau_shift=0.0, tau_scale=0.0), "scale"),
    (lambda: DySTreSSLoss(queue_size=-1), "queue_size"),
    (lambda: DySTreSSLoss(detach_tau="yes"), "detach_tau"),
    (lambda: DCLLoss(sigma=0), "sigma"),
    (lambda: HardContrastiveLoss(0.2), "exactly one of num_negatives"),
    (lambda: HardContrastiveLoss(0.2, quantile=1.5), "quantile"),
    (lambda: HardContrastiveLoss(0.2, num_negatives=0), "num_negatives"),
    (lambda: MACLLoss(alpha=-0.1), "alpha"),
    (lambda: MACLLoss(alpha=0.5, a0=1.5), "a0"),
    (lambda: ISogCLRLoss(num_samples=1), "num_samples"),
    (lambda: SimpleLoss(weight=-1.0), "weight"),
    (lambda: ISogCLRLoss(num_samples=10, tau_init=2.0), "tau_init"),
    (lambda: make_loss("simclr"), "loss must be one of"),
]


@pytest.mark.parametrize("build,message", BAD, ids=[m for _, m in BAD])
def test_bad_constructor_arguments_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_embeddings_raise_value_error():
    loss_fn = DySTreSSLoss()
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="same shape"):
        loss_fn(z, torch.randn(4, 5))
    with pytest.raises(ValueError, match="batch size N must be >= 2"):
        loss_fn(z[:1], z[:1])
    bad = z.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        loss_fn(bad, z)
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        loss_fn(z[0], z[0])
    with pytest.raises(ValueError, match="num_negatives=7 exceeds the 6 negatives"):
        HardContrastiveLoss(0.2, num_negatives=7)(z, z)


def test_isogclr_index_errors():
    loss_fn = ISogCLRLoss(num_samples=5)
    z = torch.randn(3, 2)
    with pytest.raises(ValueError, match="index is required"):
        loss_fn(z, z)
    with pytest.raises(ValueError, match="index must be an integer tensor of shape"):
        loss_fn(z, z, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"index values must lie in \[0, 5\)"):
        loss_fn(z, z, torch.tensor([0, 1, 7]))
    with pytest.raises(ValueError, match="must not repeat"):
        loss_fn(z, z, torch.tensor([0, 1, 1]))


def test_losses_share_one_core(monkeypatch):
    """Every InfoNCE-family loss goes through losses.info_nce (no copied bodies)."""
    calls = []
    original = losses.info_nce
    monkeypatch.setattr(losses, "info_nce", lambda *a, **k: calls.append(1) or original(*a, **k))
    z0, z1 = embeddings(4, 3, 0)
    for loss_fn in (NTXentLoss(), DySTreSSLoss(), DCLLoss(), HardContrastiveLoss(quantile=0.5), MACLLoss(),
                    NTXentLoss(queue_size=3), HardContrastiveLoss(quantile=0.5, queue_size=3)):
        loss_fn(z0, z1)
    assert len(calls) == 7
