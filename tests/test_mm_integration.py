"""SwiftFormer as the backbone of mmdet's and mmseg's own configs.

A user swaps the backbone of any installed mmdet/mmseg config the same way the
configs of this project do: ``custom_imports``, the backbone replaced with
``_delete_=True``, and the neck (or head) given the stage widths. Each case
here writes such a config on top of an unchanged installed one, then runs one
training and one inference step on CPU.
"""
import pytest
from mmengine.config import Config

from swiftformer_mm import SwiftFormer
from test_configs import (KEEP_A_FEW, build_model, check_backbone, make_batch, predict_and_check,
                          shrink_for_cpu, train_step)

ARCH = 'xs'
WIDTHS = SwiftFormer.arch_settings[ARCH]['widths']
BACKBONE = dict(_delete_=True, type='SwiftFormer', arch=ARCH, out_indices=(0, 1, 2, 3))

CASES = [
    pytest.param(
        'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
        dict(
            # RetinaNet's pyramid starts at stride 8 (P3): return the stages of
            # strides 8-32 only, as mmdet's Swin/PVT RetinaNet configs do
            backbone=dict(BACKBONE, out_indices=(1, 2, 3)),
            neck=dict(in_channels=WIDTHS[1:], start_level=0),
            test_cfg=KEEP_A_FEW),
        id='mmdet-retinanet'),
    pytest.param(
        'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
        dict(backbone=BACKBONE, neck=dict(in_channels=WIDTHS),
             test_cfg=dict(rcnn=KEEP_A_FEW)),
        id='mmdet-cascade-mask-rcnn'),
    pytest.param(
        'mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py',
        dict(
            pretrained=None,  # the base would download ResNet-50 weights
            backbone=BACKBONE,
            decode_head=dict(in_channels=WIDTHS),
            # the auxiliary FCN head reads the stride-16 stage, as on ResNet
            auxiliary_head=dict(in_channels=WIDTHS[2], in_index=2)),
        id='mmseg-upernet'),
]


@pytest.mark.parametrize('base, model', CASES)
@pytest.mark.usefixtures('one_thread')
def test_swiftformer_in_an_installed_config_trains_and_predicts(base, model, tmp_path):
    config = tmp_path / 'config.py'
    config.write_text(f'_base_ = [{base!r}]\n'
                      "custom_imports = dict(imports=['swiftformer_mm'], "
                      'allow_failed_imports=False)\n'
                      f'model = {model!r}\n')
    cfg = Config.fromfile(str(config))
    shrink_for_cpu(cfg)
    model = build_model(cfg)
    model.init_weights()
    check_backbone(model, cfg)
    train_step(model, cfg, make_batch(cfg))
    predict_and_check(model, cfg, make_batch(cfg))
