# Mask R-CNN + FPN with a SwiftFormer backbone on COCO, 1x schedule: the recipe
# of the SwiftFormer paper (arXiv 2303.15446), which follows the
# EfficientFormer detection configs. Shared by the variant files
# ../maskrcnn_swiftformer_{xs,s,l1,l3}_coco.py, which restate the backbone
# arch, its ImageNet checkpoint and the neck's in_channels; the values below
# are those of L1. tests/test_configs.py checks the resolved recipe.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['swiftformer_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,  # drop ResNet's depth, style, frozen_stages, ...
        type='SwiftFormer',
        arch='l1',
        out_indices=(0, 1, 2, 3),
        # official ImageNet-1k weights, read as released (flat or under 'model')
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/SwiftFormer_L1.pth')),
    neck=dict(in_channels=[48, 96, 192, 384]))  # the arch's stage widths

# Inherited unchanged from mmdet's bases, as the paper does: 1333x800
# keep-ratio resize and horizontal flip with probability 0.5 for training;
# 12 epochs with the lr divided by 10 after epochs 8 and 11, after a linear
# warm-up over the first 500 iterations from 0.001x the lr.

# AdamW instead of mmdet's SGD; _delete_ drops SGD's momentum.
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-4, weight_decay=1e-4))

# The paper's total batch of 32 images is 8 GPUs x 4 images per GPU.
train_dataloader = dict(batch_size=4)
# lr=2e-4 belongs to that total batch of 32. Training with another total batch,
# pass --auto-scale-lr to tools/train.py (mmdet's convention) to scale the lr
# by (GPUs x batch_size) / 32.
auto_scale_lr = dict(enable=False, base_batch_size=32)
