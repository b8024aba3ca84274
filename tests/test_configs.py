"""The shipped configs: the paper's recipes as MMEngine resolves them, and one
training and one inference step of every shipped model on CPU.

``RECIPES`` is the single statement of the recipes in the repository; a change
to a base config, or to the mmdet/mmseg bases they inherit, that moves a
resolved value away from it fails ``test_config_follows_the_paper_recipe``.
"""
import copy
import functools
import importlib
import inspect
import re

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from conftest import REPO_ROOT
from swiftformer_mm import SwiftFormer
from swiftformer_mm.checkpoint import CheckpointError

CONFIG_DIR = REPO_ROOT / 'configs'
# every config a user can train, including those added later (configs/demo/)
SHIPPED = sorted(path for path in CONFIG_DIR.glob('**/*.py')
                 if '_base_' not in path.relative_to(CONFIG_DIR).parts)
ARCHS = ('xs', 's', 'l1', 'l3')
DET = 'maskrcnn_swiftformer_{}_coco.py'
SEG = 'fpn_swiftformer_{}_ade20k.py'
GPUS = 8  # the paper trains on 8 GPUs; configs state the images per GPU

# The recipes of the SwiftFormer paper's detection and segmentation
# experiments, with what the paper leaves open (weight decay, warm-up, poly
# floor, test-time resizing) taken from the EfficientFormer (detection) and
# PoolFormer/EfficientFormer (segmentation) configs it follows.
# Keys are those returned by det_recipe()/seg_recipe().
RECIPES = {
    DET: dict(
        train_loop=dict(type='EpochBasedTrainLoop', max_epochs=12),
        optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
            dict(type='MultiStepLR', milestones=[8, 11], gamma=0.1, by_epoch=True, begin=0,
                 end=12),
        ],
        total_batch=32,
        auto_scale_lr=dict(enable=False, base_batch_size=32),
        train_resize=dict(type='Resize', scale=(1333, 800), keep_ratio=True),
        train_flip=dict(type='RandomFlip', prob=0.5),
        test_resize=dict(type='Resize', scale=(1333, 800), keep_ratio=True),
        num_classes=dict(bbox_head=80, mask_head=80),
        data_roots={'data/coco/'},
        val_ann_file='data/coco/annotations/instances_val2017.json',
    ),
    SEG: dict(
        train_loop=dict(type='IterBasedTrainLoop', max_iters=40000),
        optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
        # eta_min 0 as PoolFormer/EfficientFormer's min_lr=0.0; mmseg's
        # schedule_40k.py would stop at 1e-4, half of this lr
        param_scheduler=[
            dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=40000),
        ],
        total_batch=32,
        auto_scale_lr=dict(enable=False, base_batch_size=32),
        train_resize=dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0),
                          keep_ratio=True),
        train_crop=dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
        train_flip=dict(type='RandomFlip', prob=0.5),
        batch_pad_size=(512, 512),
        eval_pipelines=[[
            'LoadImageFromFile',
            dict(type='Resize', scale=(2048, 512), keep_ratio=True),
            dict(type='ResizeToMultiple', size_divisor=32),
            dict(type='LoadAnnotations', reduce_zero_label=True),  # 0 = "other" is ignored
            'PackSegInputs',
        ]] * 2,  # val and test
        num_classes=150,
        model_pretrained=None,
        data_roots={'data/ade/ADEChallengeData2016'},
    ),
}


# -- the recipe as MMEngine resolves it ---------------------------------------

@functools.lru_cache(maxsize=None)
def _load(path):
    return Config.fromfile(str(path))


def load(path):
    """The resolved config (a private copy: tests modify it)."""
    return copy.deepcopy(_load(CONFIG_DIR / path))


def config_id(path):
    return str(path.relative_to(CONFIG_DIR))


def plain(value):
    """ConfigDicts/lists as plain dicts/lists, without the ``_scope_`` tags MMEngine adds."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def transform(pipeline, name):
    [step] = [step for step in pipeline if step['type'] == name]
    return {k: v for k, v in plain(step).items() if k != 'backend_args'}


def common_recipe(cfg):
    loop = plain(cfg.train_cfg)
    return dict(
        train_loop={k: v for k, v in loop.items() if k in ('type', 'max_epochs', 'max_iters')},
        optimizer=plain(cfg.optim_wrapper.optimizer),
        param_scheduler=plain(cfg.param_scheduler),
        total_batch=cfg.train_dataloader.batch_size * GPUS,
        auto_scale_lr=plain(cfg.auto_scale_lr),
        data_roots={cfg[f'{split}_dataloader'].dataset.data_root
                    for split in ('train', 'val', 'test')},
    )


def det_recipe(cfg):
    train = cfg.train_dataloader.dataset.pipeline
    return dict(
        common_recipe(cfg),
        train_resize=transform(train, 'Resize'),
        train_flip=transform(train, 'RandomFlip'),
        test_resize=transform(cfg.test_dataloader.dataset.pipeline, 'Resize'),
        num_classes=dict(bbox_head=cfg.model.roi_head.bbox_head.num_classes,
                         mask_head=cfg.model.roi_head.mask_head.num_classes),
        val_ann_file=cfg.val_evaluator.ann_file,
    )


def seg_recipe(cfg):
    train = cfg.train_dataloader.dataset.pipeline

    def steps(pipeline):  # arguments only where the recipe sets them
        return [plain(step) if len(step) > 1 else step['type'] for step in pipeline]

    return dict(
        common_recipe(cfg),
        train_resize=transform(train, 'RandomResize'),
        train_crop=transform(train, 'RandomCrop'),
        train_flip=transform(train, 'RandomFlip'),
        batch_pad_size=cfg.model.data_preprocessor.size,
        eval_pipelines=[steps(cfg[f'{split}_dataloader'].dataset.pipeline)
                        for split in ('val', 'test')],
        num_classes=cfg.model.decode_head.num_classes,
        model_pretrained=cfg.model.pretrained,
    )


# -- one training and one inference step on CPU (test_mm_integration.py too) --

# Random weights score all classes alike: detection tests keep every score,
# so that the box and mask heads run at test time, but only a few boxes.
MAX_DETECTIONS = 4
KEEP_A_FEW = dict(score_thr=0.0, max_per_img=MAX_DETECTIONS)


def build_model(cfg):
    """The model on CPU as the runner builds it outside a distributed launch,
    before ``init_weights()``."""
    init_default_scope(cfg.default_scope)
    registry = importlib.import_module(f'{cfg.default_scope}.registry').MODELS
    return revert_sync_batchnorm(registry.build(cfg.model))


def det_batch(num_classes, shapes=((64, 96), (48, 80))):
    """Two images of different sizes with 1 and 2 random boxes and masks."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(
        batch_size=len(shapes), image_shapes=[(3, h, w) for h, w in shapes],
        num_items=[1, 2], num_classes=num_classes, with_mask=True)


def seg_batch(num_classes, shape=(64, 96), batch_size=2):
    """Random images and label maps, with some pixels ignored (255)."""
    from mmseg.structures import SegDataSample
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, *shape), dtype=torch.uint8))
        labels = torch.randint(0, num_classes, (1, *shape))
        labels[:, :4] = 255
        sample = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
        sample.gt_sem_seg = PixelData(data=labels)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_step(model, cfg, batch):
    """One training step: losses, backward, and the config's optimizer step."""
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    data = model.data_preprocessor(batch, training=True)
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert log_vars and all(torch.isfinite(torch.tensor(v)) for v in log_vars.values()), log_vars
    optim_wrapper.backward(loss)
    grads = {name: param.grad for name, param in model.backbone.named_parameters()
             if param.requires_grad}
    assert all(grad is not None for grad in grads.values()), 'backbone weights outside the graph'
    grad_norm = torch.stack([grad.norm() for grad in grads.values()]).norm()
    assert torch.isfinite(grad_norm) and grad_norm > 0
    optim_wrapper.step()


def check_backbone(model, cfg):
    arch = cfg.model.backbone.arch
    expected = SwiftFormer.arch_settings[arch] if isinstance(arch, str) else arch
    assert isinstance(model.backbone, SwiftFormer)
    assert model.backbone.depths == list(expected['depths'])
    assert model.backbone.widths == list(expected['widths'])


def predict_and_check(model, cfg, batch):
    """One inference step; predictions come back at each image's own size."""
    model.eval()
    with torch.no_grad():
        predictions = model.test_step(batch)
    assert len(predictions) == len(batch['inputs'])
    for image, prediction in zip(batch['inputs'], predictions):
        image_size = tuple(image.shape[1:])
        if cfg.default_scope == 'mmdet':
            instances = prediction.pred_instances
            assert 0 < len(instances) <= MAX_DETECTIONS
            assert instances.bboxes.shape == (len(instances), 4)
            assert instances.labels.max() < num_classes_of(cfg)
            if 'mask_head' in cfg.model.get('roi_head', {}):
                assert instances.masks.shape == (len(instances), *image_size)
        else:
            assert prediction.pred_sem_seg.data.shape == (1, *image_size)
            assert prediction.seg_logits.data.shape == (num_classes_of(cfg), *image_size)
            assert prediction.pred_sem_seg.data.max() < num_classes_of(cfg)


def num_classes_of(cfg):
    model = cfg.model
    if cfg.default_scope == 'mmseg':
        return model.decode_head.num_classes
    head = model.roi_head.bbox_head if 'roi_head' in model else model.bbox_head
    return (head[0] if isinstance(head, list) else head).num_classes


def make_batch(cfg):
    if cfg.default_scope == 'mmdet':
        return det_batch(num_classes_of(cfg))
    assert cfg.default_scope == 'mmseg', 'a config for neither mmdet nor mmseg'
    return seg_batch(num_classes_of(cfg))


def shrink_for_cpu(cfg):
    """Test-only settings: no checkpoint, and less work where it would only
    slow the test down (padding to 512x512 crops for segmentation, 512
    sampled RoIs per image for the box heads of two-stage detectors)."""
    cfg.model.backbone.init_cfg = None
    if cfg.default_scope == 'mmseg':
        cfg.model.data_preprocessor.update(size=None, size_divisor=32)
    rcnn = (cfg.model.get('train_cfg') or {}).get('rcnn')
    for stage in rcnn if isinstance(rcnn, list) else [rcnn] if rcnn else []:
        stage.sampler.num = 64


# -- tests ----------------------------------------------------------------------

@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('task', [DET, SEG], ids=['maskrcnn-coco', 'fpn-ade20k'])
def test_config_follows_the_paper_recipe(task, arch):
    cfg = load(task.format(arch))
    resolved = det_recipe(cfg) if task == DET else seg_recipe(cfg)
    assert resolved == RECIPES[task]
    if task == SEG:  # nothing else holds mmseg's SGD any more
        assert plain(cfg.optimizer) == RECIPES[SEG]['optimizer']


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('task', [DET, SEG], ids=['maskrcnn-coco', 'fpn-ade20k'])
def test_variant_sets_its_arch_widths_and_checkpoint(task, arch):
    model = load(task.format(arch)).model
    backbone = plain(model.backbone)
    assert backbone == dict(
        type='SwiftFormer',
        arch=arch,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=f'checkpoints/SwiftFormer_{arch.upper()}.pth'))
    assert model.neck.in_channels == SwiftFormer.arch_settings[arch]['widths']


@pytest.mark.parametrize('path', SHIPPED, ids=config_id)
def test_backbone_takes_only_swiftformer_arguments(path):
    """No ResNet argument (depth, num_stages, style, ...) leaked from the inherited bases."""
    backbone = load(path).model.backbone
    arguments = set(inspect.signature(SwiftFormer).parameters)
    assert backbone.type == 'SwiftFormer'
    assert set(backbone) - {'type'} <= arguments, set(backbone) - {'type'} - arguments


@pytest.mark.parametrize('path', SHIPPED, ids=config_id)
@pytest.mark.usefixtures('one_thread')
def test_config_builds_trains_and_predicts_on_cpu(path):
    cfg = load(path)
    shrink_for_cpu(cfg)
    if cfg.default_scope == 'mmdet':
        cfg.model.test_cfg.rcnn.update(KEEP_A_FEW)
    model = build_model(cfg)
    model.init_weights()
    check_backbone(model, cfg)
    train_step(model, cfg, make_batch(cfg))
    predict_and_check(model, cfg, make_batch(cfg))


def test_segmentation_test_pipeline_resizes_to_512_and_multiples_of_32(tmp_path):
    """Images reach the model with the short side ~512 and both sides divisible
    by 32; the ground truth keeps the original size for evaluation."""
    cfg = load(SEG.format('xs'))
    init_default_scope('mmseg')
    import mmseg.datasets  # noqa: F401  (registers the transforms)
    image = np.random.RandomState(0).randint(0, 256, (97, 131, 3), dtype=np.uint8)
    labels = np.random.RandomState(1).randint(0, 151, (97, 131), dtype=np.uint8)
    mmcv.imwrite(image, str(tmp_path / 'image.jpg'))
    mmcv.imwrite(labels, str(tmp_path / 'labels.png'))
    packed = Compose(cfg.test_dataloader.dataset.pipeline)(
        dict(img_path=str(tmp_path / 'image.jpg'), seg_map_path=str(tmp_path / 'labels.png'),
             reduce_zero_label=True, seg_fields=[]))
    height, width = packed['inputs'].shape[1:]
    # keep-ratio resize: 97x131 -> 512x691, then up to multiples of 32
    assert (height, width) == (512, 704)
    assert packed['data_samples'].img_shape == (512, 704)
    assert packed['data_samples'].gt_sem_seg.data.shape == (1, 97, 131)


def test_missing_pretrained_checkpoint_is_named_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the path is relative to where training is started
    model = build_model(load(DET.format('xs')))  # building reads no weights yet
    # Runner.train() calls init_weights() before the first iteration
    with pytest.raises(CheckpointError, match=re.escape(
            "pretrained weights not found: 'checkpoints/SwiftFormer_XS.pth'")) as error:
        model.init_weights()
    # where to put the weights, and how to train from scratch instead
    assert str(tmp_path / 'checkpoints' / 'SwiftFormer_XS.pth') in str(error.value)
    assert '--cfg-options model.backbone.init_cfg=None' in str(error.value)
