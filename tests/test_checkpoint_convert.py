"""``swiftformer_mm.checkpoint.convert``: the clean files ``convert_checkpoint.py`` writes."""
import pytest
import torch

from conftest import DATA_DIR
from swiftformer_mm import SwiftFormer
from swiftformer_mm.checkpoint import CheckpointError, convert_checkpoint, detect_format, save_clean_checkpoint

OFFICIAL = DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth'
TINY_ARCH = dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40])


def loaded_backbone(path):
    model = SwiftFormer(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    return model.state_dict()


@pytest.mark.parametrize('key_format', ['timm', 'hf', 'official'])
def test_a_file_in_another_implementations_names_loads_the_same_weights(tmp_path, key_format):
    ours, theirs = tmp_path / 'ours.pth', tmp_path / f'{key_format}.pth'
    convert_checkpoint(str(OFFICIAL), str(ours))
    written = convert_checkpoint(str(OFFICIAL), str(theirs), key_format=key_format)
    on_disk = torch.load(theirs, weights_only=True)
    assert detect_format(on_disk['state_dict']) == key_format
    assert on_disk['meta'] == written['meta'] == dict(source=OFFICIAL.name, source_format='official', ema=False,
                                                      key_format=key_format)
    expected = loaded_backbone(ours)
    for key, value in loaded_backbone(theirs).items():
        assert torch.equal(value, expected[key]), key


def test_a_view_is_written_without_the_storage_it_views(tmp_path):
    big = torch.randn(1000, 1000)
    state_dict = {'stem.0.weight': big[:2, :3].t(), 'stem.0.bias': big[5, :2]}  # 8 of a million floats
    path = tmp_path / 'small.pth'
    save_clean_checkpoint(state_dict, str(path))
    on_disk = torch.load(path, weights_only=True)['state_dict']
    assert path.stat().st_size < 10_000
    for key, value in state_dict.items():
        assert on_disk[key].is_contiguous() and torch.equal(on_disk[key], value)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_a_source_without_a_backbone_leaves_dst_as_it_was(tmp_path):
    src, dst = tmp_path / 'classifier.pth', tmp_path / 'keep.pth'
    torch.save({'state_dict': {'fc.weight': torch.zeros(2, 2)}}, src)
    dst.write_bytes(b'earlier file')
    with pytest.raises(CheckpointError, match='no SwiftFormer weights found'):
        convert_checkpoint(str(src), str(dst))
    assert dst.read_bytes() == b'earlier file'
