# Demo: Semantic FPN with SwiftFormer-XS trained from scratch on the synthetic
# "shapes" data of tools/misc/make_demo_data.py (ADE20K-style folders), sized to
# train in minutes on a 2-core CPU. Not a paper recipe (see
# ../fpn_swiftformer_*_ade20k.py): the neck and head are narrower, there are
# no pretrained weights (nothing can be downloaded on such machines), and the
# schedule is short.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['swiftformer_mm'], allow_failed_imports=False)

# label PNGs hold 1=background, 2..4=shapes; reduce_zero_label maps them to 0..3
classes = ('background', 'circle', 'triangle', 'square')
# drawing colours unlike the shapes' own red, green and blue fills, so the class map stands out
palette = [(40, 40, 40), (255, 210, 0), (230, 0, 230), (0, 220, 220)]
data_root = 'data/shapes/ade/'
width = 128  # channels of the neck and head (256 and 128 in the paper configs)

model = dict(
    pretrained=None,
    data_preprocessor=dict(size_divisor=32),
    backbone=dict(
        _delete_=True, type='SwiftFormer', arch='xs', out_indices=(0, 1, 2, 3), init_cfg=None),
    neck=dict(in_channels=[48, 56, 112, 220], out_channels=width),
    decode_head=dict(in_channels=[width] * 4, channels=width, num_classes=len(classes)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True,
    metainfo=dict(classes=classes, palette=palette))
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        **dataset,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **dataset,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

max_iters = 400
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=200)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=200, max_keep_ckpts=2,
                    save_best='mIoU', rule='greater'))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
