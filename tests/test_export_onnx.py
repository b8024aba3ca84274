"""ONNX graphs of the backbone and of a Semantic FPN segmentor compute what PyTorch computes.

onnxruntime runs every exported graph at sizes other than the traced one (H
and W are dynamic) and is compared with PyTorch, and for the backbone with
the official golden outputs, within 1e-4.
"""
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import DATA_DIR, REPO_ROOT, run_tool, tool_env
from swiftformer_mm import SwiftFormer
from swiftformer_mm.export import (OnnxMismatchError, OnnxPackageMissingError, SegmentorGraph,
                                   backbone_exportable, check_onnx_file, create_session, default_check_sizes,
                                   export_onnx, max_abs_differences, require_onnx_packages)

TOLERANCE = 1e-4
TINY_CHECKPOINT = DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth'
TINY_ARCH = dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40])
SEG_CONFIG = """
_base_ = [{demo!r}]
widths = [16, 24, 32, 40]
model = dict(
    backbone=dict(arch=dict(_delete_=True, depths=[2, 2, 3, 2], widths=widths)),
    neck=dict(in_channels=widths, out_channels=16),
    decode_head=dict(in_channels=[16] * 4, channels=16))
"""


def run_export(*args, check=True):
    return run_tool('deployment/export_onnx.py', *args, check=check)


def printed_differences(stdout):
    """{'HxW': largest difference} from the tool's 'onnxruntime vs PyTorch at HxW' lines."""
    found = {}
    for size, rest in re.findall(r'^onnxruntime vs PyTorch at (\d+x\d+): max abs difference (.+)$',
                                 stdout, re.MULTILINE):
        found[size] = max(float(v) for v in re.findall(r' ([0-9.]+e[-+]\d+)', ' ' + rest))
    return found


def dynamic_image_axes(path, name):
    graph = onnx.load(str(path)).graph
    value = next(v for v in list(graph.input) + list(graph.output) if v.name == name)
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


@pytest.mark.parametrize('deploy', [False, True], ids=['train_form', 'deploy'])
def test_backbone_graph_reproduces_the_official_outputs_at_every_golden_size(tmp_path, deploy):
    golden = torch.load(DATA_DIR / 'golden' / 'tiny_dense_golden.pth', weights_only=True)
    exportable = backbone_exportable(TINY_ARCH, str(TINY_CHECKPOINT), deploy=deploy)
    path = tmp_path / 'tiny.onnx'
    export_onnx(exportable, str(path), (96, 64))  # a size none of the cases has
    assert dynamic_image_axes(path, 'input') == ['batch', 3, 'height', 'width']
    session = create_session(str(path), threads=1)
    sizes = set()
    for case in golden['cases']:
        outputs = session.run(None, {'input': case['input'].numpy()})
        sizes.add(tuple(case['input'].shape))
        for got, want in zip(outputs, case['outputs'], strict=True):
            assert got.shape == tuple(want.shape)
            assert np.abs(got - want.numpy()).max() < TOLERANCE
    assert len(sizes) == 2  # batch 2 at 64x64 and batch 1 at 72x104


def _randomised_xs_checkpoint(path):
    """XS weights with BN statistics and layer scales away from their initial values."""
    torch.manual_seed(0)
    model = SwiftFormer(arch='xs')
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if 'running_var' in name or 'layer_scale' in name:
                value.uniform_(0.3, 1.5)
            elif 'running_mean' in name or name.endswith('norm.bias'):
                value.uniform_(-0.3, 0.3)
    torch.save({'state_dict': model.state_dict()}, path)


def test_backbone_tool_writes_a_dynamic_graph_and_checks_it_at_two_sizes(tmp_path):
    checkpoint, out = tmp_path / 'xs.pth', tmp_path / 'onnx' / 'xs.onnx'
    _randomised_xs_checkpoint(checkpoint)
    result = run_export('backbone', '--arch', 'XS', '--checkpoint', checkpoint, '--out', out,
                        '--size', '128x96', '--check-size', '160x224', '97x131', '--deploy')
    assert f'written: {out}' in result.stdout
    differences = printed_differences(result.stdout)
    assert set(differences) == {'160x224', '97x131'}
    assert max(differences.values()) < TOLERANCE
    for i in range(4):
        assert dynamic_image_axes(out, f'stage{i}') == ['batch', SwiftFormer.arch_settings['xs'][
            'widths'][i], f'stage{i}_height', f'stage{i}_width']

    # an existing file is never replaced without --overwrite
    before = out.read_bytes()
    refused = run_export('backbone', '--arch', 'xs', '--out', out, check=False)
    assert refused.returncode != 0 and 'already exists; pass --overwrite' in refused.stderr
    assert out.read_bytes() == before


@pytest.mark.parametrize('size', [(128, 96), (512, 512), (64, 32), (32, 64), (1, 1)])
def test_default_check_sizes_are_the_traced_size_and_another_aspect_ratio(size):
    sizes = default_check_sizes(size)
    assert sizes[0] == size and len(sizes) == 2
    height, width = sizes[1]
    assert height > size[0] and width > size[1] and height * size[1] != width * size[0]


def test_check_onnx_file_passes_a_faithful_graph_and_refuses_a_stale_one(tmp_path, capsys):
    exportable = backbone_exportable(TINY_ARCH, str(TINY_CHECKPOINT))
    path = tmp_path / 'tiny.onnx'
    export_onnx(exportable, str(path), (64, 64))
    assert check_onnx_file(exportable, str(path), [], TOLERANCE) == {}
    found = check_onnx_file(exportable, str(path), [(64, 96), (97, 33)], TOLERANCE)
    assert set(found) == {(64, 96), (97, 33)}
    assert all(set(d) == {'stage0', 'stage1', 'stage2', 'stage3'} and max(d.values()) < TOLERANCE
               for d in found.values())
    assert printed_differences(capsys.readouterr().out).keys() == {'64x96', '97x33'}

    with torch.no_grad():  # the PyTorch model moves on; the file holds the old weights
        exportable.model.stem[0].weight.mul_(1.5)
    before = path.read_bytes()
    with pytest.raises(OnnxMismatchError, match=rf'^onnxruntime differs from PyTorch by \S+ > 0.0001; '
                       rf'{path} is kept for inspection$'):
        check_onnx_file(exportable, str(path), [(64, 96)], TOLERANCE)
    assert path.read_bytes() == before


@pytest.mark.parametrize('args, message', [
    (['backbone', '--arch', 'l2'], "unknown SwiftFormer arch 'l2'; valid names are"),
    (['backbone', '--arch', 'l1', '--checkpoint', 'nowhere.pth'], "checkpoint not found: 'nowhere.pth' (resolved: "),
    (['segmentor', 'nowhere.py', 'nowhere.pth'], 'config not found: nowhere.py'),
    (['segmentor', 'configs/maskrcnn_swiftformer_xs_coco.py', str(TINY_CHECKPOINT)],
     'is a detection config; only mmseg segmentors are exported'),
])
def test_export_errors_name_the_problem(tmp_path, args, message):
    result = run_export(*args, '--out', tmp_path / 'x.onnx', check=False)
    assert result.returncode == 1 and message in result.stderr, result.stderr[-2000:]
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'x.onnx').exists()


def test_export_without_onnxruntime_is_refused_before_writing_unless_the_check_is_skipped(tmp_path):
    out = tmp_path / 'xs.onnx'
    tool = REPO_ROOT / 'tools' / 'deployment' / 'export_onnx.py'

    def export(*check):  # the tool in a Python where onnxruntime does not import
        argv = [str(tool), 'backbone', '--arch', 'xs', '--out', str(out), '--size', '64x64', *check]
        code = (f"import runpy, sys; sys.modules['onnxruntime'] = None; sys.argv = {argv!r}; "
                f"runpy.run_path({str(tool)!r}, run_name='__main__')")
        return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=REPO_ROOT,
                              env=tool_env())

    refused = export()
    assert refused.returncode == 1 and refused.stdout == '', refused.stderr[-3000:]
    assert refused.stderr == ('error: onnxruntime not installed; install the onnx extra (pip install -e .[onnx]), '
                              'or pass --check-size with no sizes to skip the check\n')
    assert not out.exists()
    skipped = export('--check-size')
    assert skipped.returncode == 0 and f'written: {out}' in skipped.stdout, skipped.stderr[-3000:]
    assert 'onnxruntime vs PyTorch' not in skipped.stdout and out.exists()


@pytest.mark.parametrize('blocked, check, message', [
    (['onnx'], False, 'onnx not installed; install the onnx extra (pip install -e .[onnx])'),
    (['onnx', 'onnxruntime'], True, 'onnx and onnxruntime not installed; install the onnx extra '
     '(pip install -e .[onnx])'),
    (['onnxruntime'], False, None),
])
def test_require_onnx_packages_names_what_is_missing(monkeypatch, blocked, check, message):
    for name in blocked:
        monkeypatch.setitem(sys.modules, name, None)
    if message is None:
        require_onnx_packages(check, 'pass --check-size with no sizes')
        return
    with pytest.raises(OnnxPackageMissingError) as error:
        require_onnx_packages(check, 'pass --check-size with no sizes')
    assert str(error.value) == message  # the check cannot be skipped away while onnx is missing


@pytest.fixture(scope='module')
def segmentor(tmp_path_factory):
    """A tiny Semantic FPN config of the seg demo and a checkpoint of it with random weights."""
    from mmseg.registry import MODELS
    folder = tmp_path_factory.mktemp('segmentor')
    config = folder / 'fpn_tiny.py'
    config.write_text(SEG_CONFIG.format(demo=str(REPO_ROOT / 'configs/demo/fpn_swiftformer_xs_shapes.py')))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if 'running_var' in name:
                value.uniform_(0.5, 2.0)
            elif 'running_mean' in name:
                value.uniform_(-0.3, 0.3)
    checkpoint = folder / 'fpn_tiny.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    return config, checkpoint, model.eval()


def test_segmentor_graph_gives_mmseg_predictions(segmentor, tmp_path):
    """The graph's logits are those of mmseg's own test step on the same BGR image."""
    from mmseg.structures import SegDataSample
    config, checkpoint, model = segmentor
    out = tmp_path / 'fpn.onnx'
    result = run_export('segmentor', config, checkpoint, '--out', out, '--size', '64x64',
                        '--check-size', '96x128', '128x64')
    assert max(printed_differences(result.stdout).values()) < TOLERANCE
    assert dynamic_image_axes(out, 'image') == ['batch', 3, 'height', 'width']
    axes = dynamic_image_axes(out, 'seg_logits')
    assert [axes[0], axes[2], axes[3]] == ['batch', 'height', 'width']

    session = create_session(str(out), threads=1)
    image = torch.randint(0, 256, (3, 96, 160), dtype=torch.uint8)  # BGR, as LoadImageFromFile gives
    sample = SegDataSample(metainfo=dict(img_shape=(96, 160), ori_shape=(96, 160)))
    with torch.no_grad():
        expected = model.test_step(dict(inputs=[image], data_samples=[sample]))[0]
    logits = session.run(None, {'image': image[None].float().numpy()})[0][0]
    assert logits.shape == (4, 96, 160)  # the demo's 4 classes at the image's size
    assert np.abs(logits - expected.seg_logits.data.numpy()).max() < TOLERANCE
    assert np.array_equal(logits.argmax(0), expected.pred_sem_seg.data[0].numpy())


def test_deployed_segmentor_graph_matches_pytorch_on_a_batch(segmentor, tmp_path):
    from swiftformer_mm.export import segmentor_exportable
    config, checkpoint, _ = segmentor
    exportable = segmentor_exportable(str(config), str(checkpoint), deploy=True)
    assert isinstance(exportable.model, SegmentorGraph)
    assert exportable.model.segmentor.backbone.deploy
    path = tmp_path / 'fpn_deploy.onnx'
    export_onnx(exportable, str(path), (64, 96))
    differences = max_abs_differences(exportable, create_session(str(path), threads=1), (96, 64),
                                      batch=2)
    assert max(differences.values()) < TOLERANCE
