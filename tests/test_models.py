import pytest
import torch
from torch import nn

from dystress.engine.models import TwoViews, build_model


def test_resnet18_has_the_cifar_stem_and_the_official_head():
    model = build_model("resnet18")
    conv1 = model.backbone.conv1
    assert (conv1.kernel_size, conv1.stride, conv1.padding) == ((3, 3), (1, 1), (1, 1))
    assert isinstance(model.backbone.maxpool, nn.Identity) and isinstance(model.backbone.fc, nn.Identity)
    assert sum(p.numel() for p in model.backbone.parameters()) == 11_168_832
    kinds = [type(m).__name__ for m in model.head]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d"]
    assert model.head[0].bias is None and model.head[3].bias is None
    assert (model.head[0].in_features, model.head[3].out_features) == (512, 128)


@pytest.mark.parametrize("name,dim", [("resnet18", 512), ("small_cnn", 128), ("cnn4", 256)])
def test_outputs_are_normalised(name, dim):
    model = build_model(name, out_dim=64)
    features, projections = model(torch.randn(4, 3, 32, 32))
    assert features.shape == (4, dim) and projections.shape == (4, 64)
    assert torch.allclose(features.norm(dim=1), torch.ones(4), atol=1e-5)
    assert torch.allclose(projections.norm(dim=1), torch.ones(4), atol=1e-5)


def test_the_conv_nets_have_their_documented_blocks():
    for name, widths in (("small_cnn", (32, 64, 128)), ("cnn4", (32, 64, 128, 256))):
        layers = list(build_model(name).backbone)
        convs = [m.out_channels for m in layers if isinstance(m, torch.nn.Conv2d)]
        pools = sum(isinstance(m, torch.nn.MaxPool2d) for m in layers)
        assert tuple(convs) == widths and pools == len(widths) - 1
    # the layout of small_cnn's weights is that of its committed checkpoints: index 8 is its third conv
    assert isinstance(build_model("small_cnn").backbone[8], torch.nn.Conv2d)


def test_two_views_runs_one_forward_pass_per_view():
    torch.manual_seed(0)
    model = build_model("small_cnn")
    v0, v1 = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
    z0, z1 = TwoViews(model)(v0, v1)
    assert torch.allclose(z0, model(v0)[1], atol=1e-6) and torch.allclose(z1, model(v1)[1], atol=1e-6)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("vit")
    with pytest.raises(ValueError, match="out_dim"):
        build_model("small_cnn", out_dim=0)
