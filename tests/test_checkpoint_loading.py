"""Every checkpoint format loads through ``init_cfg``, safely, and mismatches are errors."""
import argparse
import collections
import logging
import os
import pickle

import pytest
import torch
from mmengine.logging import MMLogger

from conftest import DATA_DIR
from swiftformer_mm import SwiftFormer
from swiftformer_mm.checkpoint import (CheckpointError, convert_from_ours, convert_to_ours,
                                       load_checkpoint_file)

GOLDEN = DATA_DIR / 'golden'
DENSE_CKPT = GOLDEN / 'tiny_dense_checkpoint.pth'
CLS_CKPT = GOLDEN / 'tiny_cls_checkpoint.pth'
TINY_ARCH = dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40])


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN / 'tiny_dense_golden.pth', weights_only=True)['cases'][0]


@pytest.fixture(scope='module')
def official_dense():
    return load_checkpoint_file(DENSE_CKPT)


def _load(path, **options):
    model = SwiftFormer(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path), **options))
    model.init_weights()
    return model.eval()


def _assert_matches_golden(model, golden):
    with torch.no_grad():
        outs = model(golden['input'])
    for out, ref in zip(outs, golden['outputs']):
        assert (out - ref).abs().max().item() < 1e-4


@pytest.fixture
def log_records():
    """Captures what the loader reports through MMEngine's current logger."""
    records = []

    class Collect(logging.Handler):

        def emit(self, record):
            records.append(record)

    logger = MMLogger.get_current_instance()
    handler = Collect()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_official_checkpoint_is_refused_by_plain_torch_load_but_loads_safely(official_dense):
    with pytest.raises(pickle.UnpicklingError):
        torch.load(DENSE_CKPT, weights_only=True)
    assert isinstance(official_dense['args'], argparse.Namespace)


@pytest.mark.parametrize('layout', ['model', 'state_dict', 'flat'])
def test_official_dense_weights_load_in_any_wrapping(tmp_path, official_dense, golden, layout):
    weights = official_dense['model']
    saved = weights if layout == 'flat' else {layout: weights}
    torch.save(saved, tmp_path / 'ckpt.pth')
    _assert_matches_golden(_load(tmp_path / 'ckpt.pth'), golden)


@pytest.mark.parametrize('fmt', ['timm', 'hf', 'swiftformer_mm'])
def test_other_implementations_weights_load(tmp_path, official_dense, golden, fmt):
    ours = convert_to_ours(official_dense['model'], 'official')
    torch.save(convert_from_ours(ours, fmt), tmp_path / f'{fmt}.pth')
    _assert_matches_golden(_load(tmp_path / f'{fmt}.pth'), golden)


def test_hf_weights_warn_about_v1_attention(tmp_path, official_dense, log_records):
    hf = convert_from_ours(convert_to_ours(official_dense['model'], 'official'), 'hf')
    torch.save(hf, tmp_path / 'hf.pth')
    _load(tmp_path / 'hf.pth')
    assert any('v1 attention' in r.getMessage() and r.levelno == logging.WARNING for r in log_records)


@pytest.mark.parametrize('wrapper', ['', 'module.'])  # module.: the state dict of a DDP-wrapped detector
def test_mmdet_checkpoint_backbone_is_taken_from_backbone_prefix(tmp_path, official_dense, golden, wrapper):
    ours = convert_to_ours(official_dense['model'], 'official')
    detector = {f'backbone.{k}': v for k, v in ours.items()}
    detector['neck.lateral_convs.0.conv.weight'] = torch.zeros(8, 16, 1, 1)
    detector = {f'{wrapper}{k}': v for k, v in detector.items()}
    torch.save({'state_dict': detector, 'meta': {'epoch': 12}}, tmp_path / 'epoch_12.pth')
    _assert_matches_golden(_load(tmp_path / 'epoch_12.pth'), golden)


def test_explicit_prefix_selects_a_submodule(tmp_path, official_dense, golden):
    wrapped = {f'teacher.{k}': v for k, v in official_dense['model'].items()}
    torch.save(wrapped, tmp_path / 'wrapped.pth')
    _assert_matches_golden(_load(tmp_path / 'wrapped.pth', prefix='teacher.'), golden)


def test_classifier_keys_are_dropped_quietly_and_missing_norms_reported(log_records):
    model = _load(CLS_CKPT)  # an ImageNet checkpoint has no dense output norms
    messages = [r.getMessage() for r in log_records if 'tensors from' in r.getMessage()]
    assert len(messages) == 1
    assert 'missing in checkpoint (left as initialised): norm0, norm1, norm2, norm3' in messages[0]
    assert 'head' not in messages[0] and 'unexpected' not in messages[0]
    assert torch.all(model.norm0.weight == 1)


def test_complete_load_reports_all_keys_matched(log_records):
    _load(DENSE_CKPT)
    assert any('all keys matched' in r.getMessage() for r in log_records)


def test_checkpoint_of_another_variant_is_an_error_naming_key_and_shapes():
    model = SwiftFormer(arch='xs', init_cfg=dict(type='Pretrained', checkpoint=str(DENSE_CKPT)))
    with pytest.raises(CheckpointError, match=r'stem\.0\.weight has shape \(8, 3, 3, 3\) in the '
                       r'checkpoint but \(24, 3, 3, 3\) in the model.*another SwiftFormer variant'):
        model.init_weights()


def test_ema_requested_but_absent_is_an_error(tmp_path, official_dense):
    torch.save({'model': official_dense['model']}, tmp_path / 'no_ema.pth')
    with pytest.raises(CheckpointError, match='no "model_ema"'):
        _load(tmp_path / 'no_ema.pth', use_ema=True)


def test_missing_pretrained_file_says_what_to_do(tmp_path):
    with pytest.raises(CheckpointError, match=r"weights not found: '.*nope.pth'.*README.*"
                       r"model.backbone.init_cfg=None"):
        _load(tmp_path / 'nope.pth')


def test_missing_file_is_named_by_the_generic_loader(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint not found: '.*nope.pth' \(resolved"):
        load_checkpoint_file(tmp_path / 'nope.pth')


def test_truncated_file_is_a_clear_error(tmp_path):
    data = DENSE_CKPT.read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        _load(tmp_path / 'cut.pth')


def test_unrelated_weights_are_an_error(tmp_path):
    torch.save({'state_dict': {'conv1.weight': torch.zeros(1)}}, tmp_path / 'resnet.pth')
    with pytest.raises(CheckpointError, match='no SwiftFormer weights found.*conv1.weight'):
        _load(tmp_path / 'resnet.pth')


class _RunsCode:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_pickle_that_would_run_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / 'code_ran'
    torch.save({'model': {}, 'payload': _RunsCode(marker)}, tmp_path / 'evil.pth')
    with pytest.raises(CheckpointError, match='refused to load.*allow-list'):
        load_checkpoint_file(tmp_path / 'evil.pth')
    assert not marker.exists()


def _tiny_runner_checkpoint(work_dir):
    """Trains a toy model for one epoch with MMEngine's runner and returns its checkpoint."""
    import torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, x, mode='loss'):
            return {'loss': self.linear(x).square().mean()}

    class Points(torch.utils.data.Dataset):
        metainfo = dict(classes=('a', 'b'))

        def __len__(self):
            return 4

        def __getitem__(self, index):
            return dict(x=torch.rand(2))

    runner = Runner(
        model=Toy(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=Points(), batch_size=2, sampler=dict(type='DefaultSampler'),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[dict(type='MultiStepLR', milestones=[1], by_epoch=True)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)))
    runner.train()
    return work_dir / 'epoch_1.pth'


def test_runner_checkpoints_load_through_mmengine_with_weights_only(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    path = _tiny_runner_checkpoint(tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # what mmengine alone runs into under torch>=2.6
    checkpoint = _load_checkpoint(str(path), map_location='cpu')
    assert {'state_dict', 'optimizer', 'message_hub', 'meta'} <= set(checkpoint)
    assert checkpoint['message_hub']['log_scalars']['train/loss'].mean() > 0


def test_getattr_in_a_checkpoint_is_limited_to_history_buffer_methods(tmp_path):

    class ReachesFurther:
        """Unpickles as ``getattr(Counter, 'fromkeys')``: an allowed class, a forbidden lookup."""

        def __reduce__(self):
            return (getattr, (collections.Counter, 'fromkeys'))

    torch.save({'state_dict': {}, 'x': ReachesFurther()}, tmp_path / 'getattr.pth')
    with pytest.raises(CheckpointError, match='refused to load'):
        load_checkpoint_file(tmp_path / 'getattr.pth')


# --- whole-model fit (swiftformer_mm.checkpoint.fit) ------------------------------------------


class _Detector(torch.nn.Module):
    """Stands for a whole model: a tiny SwiftFormer under ``backbone.`` and a head."""

    def __init__(self, deploy=False, classes=3):
        super().__init__()
        self.backbone = SwiftFormer(arch=TINY_ARCH, deploy=deploy)
        self.roi_head = torch.nn.Linear(40, classes)


def _weights_with_backbone(arch):
    model = _Detector()
    model.backbone = SwiftFormer(arch=arch)
    return model.state_dict()


def test_whole_model_fit_names_the_likely_cause_of_each_kind_of_mismatch():
    from swiftformer_mm.checkpoint.fit import check_fit
    model = _Detector()
    check_fit(model, model.state_dict(), 'same.pth')  # fits: no error
    backbone = {key: value for key, value in model.state_dict().items() if key.startswith('backbone.')}
    cases = {
        'a checkpoint of another task or model': {**backbone, 'decode_head.conv_seg.weight': torch.zeros(4, 16, 1, 1)},
        'a checkpoint of another backbone or SwiftFormer variant': _weights_with_backbone(
            dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 48])),
        'a checkpoint of heads with another num_classes': _Detector(classes=5).state_dict(),
        'SwiftFormer weights in the deploy form for a model built in the training form':
            _Detector(deploy=True).state_dict(),
    }
    for cause, weights in cases.items():
        with pytest.raises(CheckpointError, match=f'other.pth does not fit the model; likely {cause}'):
            check_fit(model, weights, 'other.pth')


def test_whole_model_fit_warns_instead_when_not_strict_and_the_hook_is_strict_on_resume(log_records):
    from types import SimpleNamespace

    from swiftformer_mm.checkpoint.fit import check_fit
    from swiftformer_mm.engine import CheckpointFitHook
    model, weights = _Detector(), _Detector(classes=5).state_dict()
    fit = check_fit(model, weights, 'x.pth', strict=False)
    assert [key for key, _, _ in fit.reshaped] == ['roi_head.weight', 'roi_head.bias']
    assert any('x.pth does not fit the model' in r.getMessage() and r.levelno == logging.WARNING
               for r in log_records)
    checkpoint = {'state_dict': {f'module.{k}': v for k, v in weights.items()}}  # saved from DDP
    fine_tuning = SimpleNamespace(model=model, _resume=False, _load_from='x.pth')
    CheckpointFitHook(strict=False).after_load_checkpoint(fine_tuning, checkpoint)  # warns only
    with pytest.raises(CheckpointError, match='x.pth does not fit the model'):
        CheckpointFitHook(strict=False).after_load_checkpoint(SimpleNamespace(**{**vars(fine_tuning),
                                                                                 '_resume': True}), checkpoint)


@pytest.mark.parametrize('content, kind', [(b'\x89PNG\r\n\x1a\n....', 'a PNG image'),
                                           (b'\xff\xd8\xff\xe0JFIF', 'a JPEG image'),
                                           (b'model = dict(type="x")\n', 'text'), (b'', 'an empty file')])
def test_a_file_that_is_no_checkpoint_at_all_says_what_it_holds(tmp_path, content, kind):
    path = tmp_path / 'weights.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=f'is not a PyTorch checkpoint: it holds {kind}. Pass the .pth'):
        load_checkpoint_file(path)
