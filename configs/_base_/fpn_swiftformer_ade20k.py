# Semantic FPN with a SwiftFormer backbone on ADE20K, 40k iterations: the
# recipe of the SwiftFormer paper (arXiv 2303.15446), which follows
# the PoolFormer/EfficientFormer segmentation configs. Shared by the variant
# files ../fpn_swiftformer_{xs,s,l1,l3}_ade20k.py, which restate the backbone
# arch, its ImageNet checkpoint and the neck's in_channels; the values below
# are those of L1. tests/test_configs.py checks the resolved recipe.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
custom_imports = dict(imports=['swiftformer_mm'], allow_failed_imports=False)

# Training crops of 512x512 as in mmseg's ade20k.py; the data preprocessor
# pads smaller crops to this size so that a batch stacks.
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # fpn_r50.py asks for 'open-mmlab://resnet50_v1c' here, which would be
    # downloaded and handed to the backbone; SwiftFormer loads its own weights.
    pretrained=None,
    backbone=dict(
        _delete_=True,  # drop ResNetV1c's depth, dilations, style, ...
        type='SwiftFormer',
        arch='l1',
        out_indices=(0, 1, 2, 3),
        # official ImageNet-1k weights, read as released (flat or under 'model')
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/SwiftFormer_L1.pth')),
    neck=dict(in_channels=[48, 96, 192, 384]),  # the arch's stage widths
    decode_head=dict(num_classes=150))

# AdamW instead of mmseg's SGD (the top-level `optimizer` is replaced too, so
# that a dumped config shows no stale SGD).
optimizer = dict(_delete_=True, type='AdamW', lr=2e-4, weight_decay=1e-4)
optim_wrapper = dict(optimizer=optimizer)
# Poly decay (power 0.9) per iteration over the 40k iterations down to 0, as
# PoolFormer/EfficientFormer did (min_lr=0.0). schedule_40k.py's eta_min=1e-4
# was chosen for SGD at lr 0.01; with lr 2e-4 it would stop the decay at half
# the initial lr.
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000, by_epoch=False)
]

# The paper's total batch of 32 images is 8 GPUs x 4 images per GPU.
train_dataloader = dict(batch_size=4)
# lr=2e-4 belongs to that total batch of 32. Training with another total batch,
# pass --auto-scale-lr to tools/train.py (mmdet's convention; mmseg's own
# train.py lacks it) to scale the lr by (GPUs x batch_size) / 32.
auto_scale_lr = dict(enable=False, base_batch_size=32)

# Test time: keep-ratio resize towards 2048x512 (mmseg's default), then resize
# both sides up to multiples of 32 so that the stride-32 stage of the backbone
# sees whole pixels, as the PoolFormer/EfficientFormer configs did. The ground
# truth is loaded afterwards, so it keeps the original size for evaluation.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
# the dataloaders hold copies of the inherited pipeline; replace them
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
