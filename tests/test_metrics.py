import itertools
import math

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F

from dystress.mathematics import metrics


def unit(rows):
    return torch.tensor(rows, dtype=torch.float64)


def random_features(n=40, d=6, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def normalised(x):
    return [row / math.sqrt(sum(v * v for v in row)) for row in x.tolist() for row in [np.array(row)]]


def test_alignment_by_hand():
    assert metrics.alignment(unit([[1, 0]]), unit([[0, 1]])) == pytest.approx(2.0)
    assert metrics.alignment(unit([[1, 0], [1, 0]]), unit([[2, 0], [-1, 0]]), alpha=1) == pytest.approx(1.0)


def test_uniformity_by_hand():
    assert metrics.uniformity(unit([[1, 0], [0, 1]])) == pytest.approx(-4.0)
    assert metrics.uniformity(unit([[1, 0], [-1, 0]])) == pytest.approx(-8.0)
    assert metrics.uniformity(unit([[1, 0], [1, 0], [1, 0]])) == pytest.approx(0.0)
    # the regular simplex of 4 points on S^2: squared distance 8/3 between every pair
    tetra = unit([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    assert metrics.uniformity(tetra) == pytest.approx(-2 * 8 / 3)


def test_uniformity_matches_a_naive_double_loop_with_chunks():
    x, _ = random_features(n=37)
    v = normalised(x)
    terms = [math.exp(-2 * float(np.sum((v[i] - v[j]) ** 2))) for i, j in itertools.combinations(range(37), 2)]
    expected = math.log(sum(terms) / len(terms))
    assert metrics.uniformity(x, chunk_size=5) == pytest.approx(expected, abs=1e-12)
    assert metrics.uniformity(x.float()) == pytest.approx(expected, abs=1e-5)


def test_tolerance_matches_naive_pairs():
    x, y = random_features(n=30, classes=5)
    v = normalised(x)
    sims = [float(v[i] @ v[j]) for i in range(30) for j in range(30) if i != j and y[i] == y[j]]
    assert metrics.tolerance(x, y) == pytest.approx(sum(sims) / len(sims), abs=1e-12)
    assert metrics.tolerance(unit([[1, 0], [0, 1], [1, 1]]), torch.tensor([0, 0, 1])) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="two or more samples"):
        metrics.tolerance(unit([[1, 0], [0, 1]]), torch.tensor([0, 1]))


def test_inter_class_uniformity_uses_normalised_centroids():
    x = unit([[1, 0.1], [1, -0.1], [0.1, 1], [-0.1, 1]])
    assert metrics.inter_class_uniformity(x, torch.tensor([0, 0, 1, 1])) == pytest.approx(-4.0)
    with pytest.raises(ValueError, match="two classes"):
        metrics.inter_class_uniformity(x, torch.zeros(4, dtype=torch.long))


def naive_knn(train_x, train_y, test_x, k, t, classes):
    tr, te = normalised(train_x), normalised(test_x)
    predictions = []
    for q in te:
        sims = sorted(((float(q @ p), int(c)) for p, c in zip(tr, train_y)), reverse=True)[:k]
        scores = [0.0] * classes
        for s, c in sims:
            scores[c] += math.exp(s / t)
        predictions.append(sorted(range(classes), key=lambda c: -scores[c]))
    return predictions


@pytest.mark.parametrize("k", [1, 5, 50])
def test_knn_matches_a_naive_vote(k):
    train_x, train_y = random_features(n=60, classes=6, seed=1)
    test_x, test_y = random_features(n=25, classes=6, seed=2)
    ranked = naive_knn(train_x, train_y, test_x, k, 0.1, 6)
    top1 = 100 * sum(r[0] == int(y) for r, y in zip(ranked, test_y)) / 25
    top5 = 100 * sum(int(y) in r[:5] for r, y in zip(ranked, test_y)) / 25
    got = metrics.knn_accuracy(train_x, train_y, test_x, test_y, k=k, t=0.1, chunk_size=7)
    assert got["top1"] == pytest.approx(top1) and got["top5"] == pytest.approx(top5)


def test_knn_on_separated_clusters_is_perfect():
    centres = torch.eye(3, dtype=torch.float64)
    train_x = centres.repeat(10, 1) + 0.05 * torch.randn(30, 3, dtype=torch.float64)
    train_y = torch.arange(3).repeat(10)
    acc = metrics.knn_accuracy(train_x, train_y, centres, torch.arange(3), k=5)
    assert acc == {"top1": 100.0, "top5": 100.0}
    with pytest.raises(ValueError, match=r"k must be an integer >= 1 and <= 30"):
        metrics.knn_accuracy(train_x, train_y, centres, torch.arange(3), k=31)


def test_mean_per_class_accuracy_by_hand():
    labels = torch.tensor([0, 0, 0, 0, 1, 2])
    predictions = torch.tensor([0, 0, 0, 1, 1, 0])
    assert metrics.mean_per_class_accuracy(predictions, labels) == pytest.approx(100 * (0.75 + 1 + 0) / 3)


def test_positive_negative_similarities_match_naive_loops():
    a, _ = random_features(n=12, seed=3)
    b, _ = random_features(n=12, seed=4)
    pos, neg = metrics.positive_negative_similarities(a, b, k=3, chunk_size=5)
    va, vb = normalised(a), normalised(b)
    for i in range(12):
        assert pos[i].item() == pytest.approx(float(va[i] @ vb[i]), abs=1e-12)
        others = sorted((float(va[i] @ vb[j]) for j in range(12) if j != i), reverse=True)[:3]
        assert neg[i].tolist() == pytest.approx(others, abs=1e-12)


def test_similarity_histograms_count_every_pair_once():
    z0, y = random_features(n=20, classes=3, seed=5)
    z1 = z0 + 0.3 * torch.randn(20, 6, dtype=torch.float64)
    h = metrics.similarity_histograms(z0, z1, y, bins=50, chunk_size=6)
    v0, v1 = normalised(z0), normalised(z1)
    same = [float(v0[i] @ v1[j]) for i in range(20) for j in range(20) if i != j and y[i] == y[j]]
    other = [float(v0[i] @ v1[j]) for i in range(20) for j in range(20) if y[i] != y[j]]
    assert h["same_instance"].sum() == 20
    assert h["same_class"].sum() == len(same) and h["other_class"].sum() == len(other)
    assert np.allclose(h["same_class"].numpy(), np.histogram(same, bins=50, range=(-1, 1))[0])
    assert np.allclose(h["other_class"].numpy(), np.histogram(other, bins=50, range=(-1, 1))[0])
    unlabelled = metrics.similarity_histograms(z0, z1, bins=50)
    assert set(unlabelled) == {"edges", "same_instance", "other_instance"}
    assert unlabelled["other_instance"].sum() == 380


def test_earth_movers_distance_matches_scipy():
    edges = torch.linspace(-1, 1, 41, dtype=torch.float64)
    centres = (0.5 * (edges[1:] + edges[:-1])).numpy()
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(40, generator=g, dtype=torch.float64), torch.rand(40, generator=g, dtype=torch.float64)
    expected = scipy.stats.wasserstein_distance(centres, centres, a.numpy(), b.numpy())
    assert metrics.earth_movers_distance(a, b, edges) == pytest.approx(expected, abs=1e-12)
    shifted = torch.zeros(40, dtype=torch.float64)
    shifted[10], a2 = 1, torch.zeros(40, dtype=torch.float64)
    a2[5] = 1
    assert metrics.earth_movers_distance(a2, shifted, edges) == pytest.approx(5 * 0.05)


def test_bad_inputs_name_the_parameter():
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match="x must be finite"):
        metrics.uniformity(torch.full((3, 2), math.nan))
    with pytest.raises(ValueError, match="labels must be an integer tensor of shape"):
        metrics.tolerance(x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="x needs at least 2 rows"):
        metrics.uniformity(x[:1])
    with pytest.raises(ValueError, match="train_x and test_x must have the same dimension"):
        metrics.knn_accuracy(x, torch.zeros(5, dtype=torch.long), torch.randn(2, 4), torch.zeros(2, dtype=torch.long))


def log_domain_knn_ranking(train_x, train_y, test_x, k, t, classes):
    """float64 reference: each class's score as log sum exp(s / t) over its top-k neighbours, never exponentiated."""
    tr, te = normalised(train_x.double()), normalised(test_x.double())
    rankings = []
    for q in te:
        sims = sorted(((float(np.dot(q, p)), int(c)) for p, c in zip(tr, train_y)), reverse=True)[:k]
        logs = []
        for c in range(classes):
            members = [s / t for s, label in sims if label == c]
            top = max(members, default=-math.inf)
            logs.append(top + math.log(sum(math.exp(m - top) for m in members)) if members else -math.inf)
        rankings.append(sorted(range(classes), key=lambda c: (-logs[c], c)))
    return rankings


@pytest.mark.parametrize("t", [0.01, 0.001])
def test_knn_is_exact_for_small_temperatures_in_float32(t):
    # exp(s / t) overflows float32 for s / t > 88.7: with similarities above 0.9 the nearest neighbours would weigh
    # inf at t = 0.01 and most votes would be ties (the overflowing vote scored 25 % here, the exact one 96.7 %)
    g = torch.Generator().manual_seed(3)
    centres = 4 * F.normalize(torch.ones(16), dim=0) + 0.4 * torch.randn(4, 16, generator=g)
    train_y = torch.arange(4).repeat(40)
    train_x = (centres[train_y] + 0.3 * torch.randn(160, 16, generator=g)).float()
    test_y = torch.arange(4).repeat(15)
    test_x = (centres[test_y] + 0.3 * torch.randn(60, 16, generator=g)).float()
    assert (F.normalize(test_x, dim=1) @ F.normalize(train_x, dim=1).T).max() > 0.9
    ranked = log_domain_knn_ranking(train_x, train_y, test_x, 50, t, 4)
    expected = 100 * sum(r[0] == int(y) for r, y in zip(ranked, test_y)) / len(test_y)
    got = metrics.knn_accuracy(train_x, train_y, test_x, test_y, k=50, t=t)
    assert got["top1"] == pytest.approx(expected)
    scores = metrics.knn_scores(train_x, train_y, test_x, k=50, t=t)
    assert not torch.isnan(scores).any()
    assert [row.tolist() for row in scores.sort(dim=1, descending=True, stable=True).indices] == ranked


def test_knn_rejects_labels_beyond_num_classes_and_bad_t():
    x, y = random_features(n=20, classes=4)
    with pytest.raises(ValueError, match=r"num_classes \(larger than every training label\) must be an integer >= 4"):
        metrics.knn_accuracy(x, y, x, y, k=5, num_classes=2)
    for bad in (0, -0.1, math.inf, math.nan, True):
        with pytest.raises(ValueError, match="t must be a finite number > 0"):
            metrics.knn_accuracy(x, y, x, y, k=5, t=bad)


def test_tolerance_and_centroids_accept_any_label_values():
    x, y = random_features(n=30, classes=3)
    huge = torch.tensor([0, 10**9, 7])[y]
    assert metrics.tolerance(x, huge) == pytest.approx(metrics.tolerance(x, y), abs=1e-12)
    assert metrics.inter_class_uniformity(x, huge) == pytest.approx(metrics.inter_class_uniformity(x, y), abs=1e-12)


def test_negative_uniformity_is_at_most_4_plus_4_over_n_minus_1_and_a_simplex_attains_it():
    x, _ = random_features(n=12, d=5)
    assert -metrics.uniformity(x) <= 4 + 4 / 11
    simplex = torch.tensor([[1.0, 0.0], [-0.5, 3**0.5 / 2], [-0.5, -(3**0.5) / 2]], dtype=torch.float64)
    assert -metrics.uniformity(simplex) == pytest.approx(4 + 4 / 2, abs=1e-12)
