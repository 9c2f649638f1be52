import json

import numpy as np
import pytest
import torch

from dystress.engine import evaluate, run_folder
from dystress.engine.data import DataSplits, ImageData, load_dataset
from dystress.engine.models import build_model


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", subset_total=400)


def test_linear_probe_separates_separable_features():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g) * 3
    y = torch.arange(4).repeat(100)
    x = centres[y] + 0.3 * torch.randn(400, 16, generator=g)
    acc = evaluate.linear_probe(x[:300], y[:300], x[300:], y[300:], num_classes=4)
    assert acc["top1"] > 95
    shuffled = evaluate.linear_probe(x[:300], y[torch.randperm(400, generator=g)][:300], x[300:], y[300:], 4)
    assert shuffled["top1"] < 50


def test_long_tail_knn_by_hand():
    train_x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    train_y = torch.tensor([0, 0, 1])
    test_x = torch.tensor([[1.0, 0.05], [0.1, 1.0], [0.2, 1.0], [1.0, 0.0]])
    test_y = torch.tensor([0, 1, 1, 1])
    out, arrays = evaluate.long_tail_knn(train_x, train_y, test_x, test_y)
    assert out["knn1_mean_class"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert arrays["knn1_per_class"].tolist() == pytest.approx([100.0, 200 / 3])


def test_bundle_is_small_complete_and_json_ready(digits, tmp_path):
    torch.manual_seed(0)
    model = build_model("small_cnn")
    summary, arrays = evaluate.evaluation_bundle(model, digits, knn_k=20, max_points=300)
    for key in ("knn", "long_tail", "linear", "tolerance", "inter_class_uniformity", "uniformity", "alignment",
                "emd", "positive_vs_top10"):
        assert key in summary, key
    assert summary["skipped"] == []
    assert set(summary["emd"]) == {"same_instance_vs_same_class", "same_class_vs_other_class",
                                   "same_instance_vs_other_class"}
    assert arrays["tsne"].shape == (300, 2) and arrays["top_negative_similarity"].shape == (300, 10)
    assert arrays["hist_same_instance"].sum() == len(digits.test)
    run_folder.write_bundle(tmp_path, summary, arrays)
    size = (tmp_path / "bundle.npz").stat().st_size + (tmp_path / "bundle.json").stat().st_size
    assert size < 1_000_000
    loaded, loaded_arrays = run_folder.read_bundle(tmp_path)
    assert loaded == json.loads(json.dumps(summary)) and set(loaded_arrays) == set(arrays)
    assert not list(tmp_path.glob(".*tmp*"))


def test_bundle_without_labels_skips_what_needs_them(digits):
    unlabelled = DataSplits("flat", ImageData(digits.train.images[:100], None, []), None)
    summary, arrays = evaluate.evaluation_bundle(build_model("small_cnn"), unlabelled, max_points=60, linear=False)
    assert "knn" not in summary and "tolerance" not in summary
    assert summary["skipped"] and "no labels" in summary["skipped"][0]
    assert summary["split"] == "train" and set(summary["emd"]) == {"same_instance_vs_other_instance"}
    assert "hist_other_instance" in arrays and np.all(arrays["tsne_labels"] == 0)


def test_the_negatives_histogram_is_every_pair_of_two_different_images():
    generator = torch.Generator().manual_seed(0)
    z0 = torch.nn.functional.normalize(torch.randn(50, 8, generator=generator), dim=1)
    z1 = torch.nn.functional.normalize(torch.randn(50, 8, generator=generator), dim=1)
    labelled = evaluate.metrics.similarity_histograms(z0, z1, torch.arange(50) % 4, bins=20)
    flat = evaluate.metrics.similarity_histograms(z0, z1, None, bins=20)
    arrays = {f"hist_{k}": v.numpy() for k, v in labelled.items()}
    np.testing.assert_allclose(evaluate.negatives_histogram(arrays), flat["other_instance"].numpy())
    assert evaluate.negatives_histogram(arrays).sum() == 50 * 49  # every ordered pair i != j
    unlabelled = {f"hist_{k}": v.numpy() for k, v in flat.items()}
    np.testing.assert_array_equal(evaluate.negatives_histogram(unlabelled), unlabelled["hist_other_instance"])


def test_the_bundle_scores_the_validation_split_against_the_remaining_training_images():
    from dystress.mathematics import metrics

    data = load_dataset("digits", image_size=16, validation_per_class=8)
    torch.manual_seed(0)
    model = build_model("small_cnn").eval()
    summary, _ = evaluate.evaluation_bundle(model, data, knn_k=20, max_points=100, linear=False, tsne=False)
    features = {split: evaluate.encode(model, getattr(data, split).images)[0] for split in ("train", "validation")}
    expected = metrics.knn_accuracy(features["train"], data.train.labels, features["validation"],
                                    data.validation.labels, k=20, t=0.1, num_classes=10)
    assert summary["validation"]["num_points"] == 80
    assert summary["validation"]["knn"]["top1"] == pytest.approx(expected["top1"])
    assert "validation" not in evaluate.evaluation_bundle(model, load_dataset("digits", image_size=16), knn_k=20,
                                                          max_points=100, linear=False, tsne=False)[0]
