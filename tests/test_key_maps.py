"""Key maps between this project and the official, timm and HF transformers names."""
import pytest
import torch

from conftest import DATA_DIR
from swiftformer_mm import SwiftFormer
from swiftformer_mm.checkpoint import (convert_from_ours, convert_to_ours, detect_format,
                                       load_checkpoint_file)


@pytest.fixture(scope='module')
def official():
    return load_checkpoint_file(DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth')['model']


def test_official_keys_map_onto_every_model_key(official):
    ours = convert_to_ours(official, 'official')
    model = SwiftFormer(arch=dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40]))
    assert set(ours) == set(model.state_dict())


@pytest.mark.parametrize('fmt', ['timm', 'hf'])
def test_round_trip_official_ours_foreign_and_back_keeps_every_tensor(official, fmt):
    ours = convert_to_ours(official, 'official')
    foreign = convert_from_ours(ours, fmt)
    assert detect_format(foreign) == fmt
    back = convert_from_ours(convert_to_ours(foreign, fmt), 'official')
    assert set(back) == set(official)
    for key, value in official.items():
        assert back[key] is value, key


@pytest.mark.parametrize('fmt, ours_key, foreign_key', [
    ('official', 'stem.3.weight', 'patch_embed.3.weight'),
    ('official', 'stages.0.blocks.1.layer_scale', 'network.0.1.layer_scale'),
    ('official', 'stages.2.downsample.proj.weight', 'network.3.proj.weight'),
    ('official', 'stages.3.blocks.1.attn.proj.bias', 'network.6.1.attn.Proj.bias'),
    ('official', 'stages.1.blocks.1.mlp.norm.running_var', 'network.2.1.linear.norm1.running_var'),
    ('official', 'norm3.weight', 'norm6.weight'),
    ('timm', 'stages.1.blocks.0.layer_scale', 'stages.1.blocks.0.layer_scale.gamma'),
    ('timm', 'stages.1.blocks.1.layer_scale_2', 'stages.1.blocks.1.layer_scale_2.gamma'),
    ('timm', 'stages.1.blocks.1.mlp.fc1.weight', 'stages.1.blocks.1.linear.fc1.weight'),
    ('hf', 'stem.0.bias', 'swiftformer.patch_embed.patch_embedding.0.bias'),
    ('hf', 'stages.2.blocks.0.dwconv.weight',
     'swiftformer.encoder.network.4.blocks.0.depth_wise_conv.weight'),
    ('hf', 'stages.1.downsample.norm.weight', 'swiftformer.encoder.network.1.norm.weight'),
    ('hf', 'stages.0.blocks.1.local_representation.pwconv2.weight',
     'swiftformer.encoder.network.0.blocks.1.local_representation.point_wise_conv2.weight'),
])
def test_documented_key_names(fmt, ours_key, foreign_key):
    tensor = torch.zeros(1)
    assert convert_from_ours({ours_key: tensor}, fmt) == {foreign_key: tensor}
    assert convert_to_ours({foreign_key: tensor}, fmt) == {ours_key: tensor}


def test_older_hf_layout_without_blocks_is_read():
    old = {'swiftformer.patch_embed.pe.1.weight': 1, 'swiftformer.encoder.network.2.0.norm.bias': 2}
    assert convert_to_ours(old, 'hf') == {'stem.1.weight': 1, 'stages.1.blocks.0.norm.bias': 2}


@pytest.mark.parametrize('fmt, classifier', [('official', ['norm.weight', 'head.bias', 'dist_head.weight']),
                                             ('timm', ['norm.bias', 'head.weight', 'head_dist.bias']),
                                             ('hf', ['norm.weight', 'head.weight', 'dist_head.bias'])])
def test_classifier_weights_are_dropped(fmt, classifier):
    assert convert_to_ours({k: 0 for k in classifier}, fmt) == {}
