import math

import pytest
import torch

from dystress.mathematics.temperature import (
    SHAPES,
    TemperatureFunction,
    as_function,
    constant,
    cooled_intervals,
    cooled_share,
    kukleva_schedule,
)


def test_cosine_profile_check_values_from_the_paper():
    profile = TemperatureFunction("cosine", 0.1, 0.2)
    s = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=torch.float64)
    assert torch.allclose(profile(s), torch.tensor([0.20, 0.15, 0.10, 0.15, 0.20], dtype=torch.float64), atol=1e-15)


def test_cosine_profile_equals_its_sine_squared_form():
    s = torch.linspace(-1, 1, 101, dtype=torch.float64)
    profile = TemperatureFunction("cosine", 0.07, 0.2)
    assert torch.allclose(profile(s), 0.07 + 0.13 * torch.sin(math.pi * s / 2) ** 2, atol=1e-15)


def test_shifted_cosine_dystress_star():
    profile = TemperatureFunction("shifted_cosine", 0.07, 0.2, shift=-0.4, scale=0.7)
    s = torch.tensor([0.4, 0.41, 0.9, -0.3, 0.05], dtype=torch.float64)
    tau = profile(s)
    assert tau[0].item() == pytest.approx(0.2)  # continuous at s = -shift
    assert tau[1].item() == tau[2].item() == 0.2  # capped above -shift
    assert tau[3].item() == pytest.approx(0.07)  # minimum at s = -shift - scale
    expected = 0.07 + 0.5 * 0.13 * (1 + math.cos(math.pi * (0.05 - 0.4) / 0.7))
    assert tau[4].item() == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("name", ["cosine", "linear", "exponential"])
def test_shapes_share_range_and_end_points(name):
    profile = TemperatureFunction(name, 0.05, 0.3)
    s = torch.linspace(-1, 1, 201, dtype=torch.float64)
    tau = profile(s)
    assert tau.min().item() == pytest.approx(0.05) and tau.max().item() == pytest.approx(0.3)
    assert profile(torch.tensor([0.0, 1.0, -1.0], dtype=torch.float64)).tolist() == pytest.approx([0.05, 0.3, 0.3])
    assert torch.allclose(tau, tau.flip(0))  # even in s


def test_constant_ignores_similarity():
    s = torch.linspace(-1, 1, 11)
    assert torch.equal(constant(0.2)(s), torch.full_like(s, 0.2))
    assert as_function(0.5) == constant(0.5)


@pytest.mark.parametrize("name", SHAPES)
def test_derivative_matches_autograd(name):
    kwargs = {"shift": -0.4, "scale": 0.7} if name == "shifted_cosine" else {}
    profile = TemperatureFunction(name, 0.07, 0.5, **kwargs)
    s = torch.tensor([-0.93, -0.6, -0.31, -0.05, 0.12, 0.37, 0.55, 0.88], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad((profile(s) + 0 * s).sum(), s)
    assert torch.allclose(profile.derivative(s.detach()), grad, atol=1e-12)


def test_kukleva_schedule():
    assert kukleva_schedule(0) == pytest.approx(1.0)
    assert kukleva_schedule(200) == pytest.approx(0.1)
    assert kukleva_schedule(400) == pytest.approx(1.0)
    assert kukleva_schedule(100) == pytest.approx(0.55)
    assert kukleva_schedule(50, tau_min=0.2, tau_max=0.4, t_max=100) == pytest.approx(0.3)


@pytest.mark.parametrize("build,message", [
    (lambda: TemperatureFunction("cosine", 0.0, 0.2), "tau_min must be a finite number > 0"),
    (lambda: TemperatureFunction("cosine", 0.3, 0.2), "tau_min must be <= tau_max"),
    (lambda: TemperatureFunction("cosine", 0.1, math.inf), "tau_max must be a finite number"),
    (lambda: TemperatureFunction("cosine", 0.1, 0.2, shift=0.1, scale=1.0), "apply only to shape 'shifted_cosine'"),
    (lambda: TemperatureFunction("shifted_cosine", 0.1, 0.2, shift=0.1, scale=-1.0), "scale must be a finite"),
    (lambda: TemperatureFunction("shifted_cosine", 0.1, 0.2, shift=math.nan, scale=1.0), "shift must be a finite"),
    (lambda: TemperatureFunction("gaussian", 0.1, 0.2), "shape must be one of"),
    (lambda: as_function("0.2"), "temperature must be a positive number"),
    (lambda: kukleva_schedule(-1), "epoch"),
    (lambda: kukleva_schedule(1, tau_min=2.0), "tau_min must be <= tau_max"),
    (lambda: kukleva_schedule(1, t_max=0), "t_max"),
])
def test_bad_parameters(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def _naive_cooled_share(edges, counts, cooled) -> float:
    total = inside = 0.0
    for b in range(len(counts)):
        centre = (edges[b] + edges[b + 1]) / 2
        total += counts[b]
        inside += counts[b] if cooled(centre) else 0.0
    return inside / total


@pytest.mark.parametrize("shift, scale", [(-0.4, 0.7), (0.0, 0.7), (-0.6, 0.5), (-0.2, 1.0)])
def test_cooled_share_of_the_shifted_profile_is_its_closed_form_window(shift, scale):
    edges = torch.linspace(-1, 1, 81, dtype=torch.float64)  # centres at odd multiples of 1/80: no ties below
    counts = torch.rand(80, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    profile = TemperatureFunction("shifted_cosine", 0.07, 0.2, shift, scale)
    # tau(c) <= the middle of the range  <=>  cos(pi x) <= 0 for x = (c + shift) / scale, below the cap at -shift:
    # x in [-1.5, -0.5], or for a small scale also [-3.5, -2.5]
    window = lambda c: c <= -shift and 0.5 <= (-(c + shift) / scale) % 2 <= 1.5  # noqa: E731
    expected = _naive_cooled_share(edges.tolist(), counts.tolist(), window)
    assert cooled_share(profile, edges, counts) == pytest.approx(expected, abs=1e-12)
    assert 0 < expected < 1


def test_cooled_share_of_the_cosine_profile_is_the_middle_half_and_constant_cools_nothing():
    edges = torch.linspace(-1, 1, 101, dtype=torch.float64)
    assert cooled_share(TemperatureFunction("cosine", 0.07, 0.2), edges, torch.ones(100)) == pytest.approx(0.5)
    assert cooled_share(constant(0.2), edges, torch.ones(100)) == 0.0
    only_high = torch.zeros(100)
    only_high[-3:] = 1.0  # similarities above 0.94: every pair at the top of the cosine profile
    assert cooled_share(TemperatureFunction("cosine", 0.07, 0.2), edges, only_high) == 0.0


@pytest.mark.parametrize("edges, counts, message", [
    (torch.linspace(-1, 1, 10), torch.ones(10), "one more entry"),
    (torch.linspace(1, -1, 11), torch.ones(10), "increasing"),
    (torch.linspace(-1, 1, 11), torch.zeros(10), "positive sum"),
    (torch.linspace(-1, 1, 11), -torch.ones(10), "non-negative"),
])
def test_cooled_share_rejects_a_bad_histogram(edges, counts, message):
    with pytest.raises(ValueError, match=message):
        cooled_share(TemperatureFunction("cosine", 0.07, 0.2), edges, counts)


def test_cooled_intervals_are_the_closed_form_windows_to_the_grid_step():
    step = 2 / 2000
    (cosine,) = cooled_intervals(TemperatureFunction("cosine", 0.07, 0.2))
    assert cosine == pytest.approx((-0.5, 0.5), abs=step)
    # shift -0.4, scale 0.5: x = (s - 0.4) / 0.5 in [-1.5, -0.5] and, clipped at s = -1, in [-3.5, -2.5]
    low, high = cooled_intervals(TemperatureFunction("shifted_cosine", 0.07, 0.2, -0.4, 0.5))
    assert low == pytest.approx((-1.0, -0.85), abs=step) and high == pytest.approx((-0.35, 0.15), abs=step)
    assert cooled_intervals(constant(0.2)) == []
    with pytest.raises(ValueError, match="resolution must be an integer >= 3"):
        cooled_intervals(constant(0.2), resolution=2)
