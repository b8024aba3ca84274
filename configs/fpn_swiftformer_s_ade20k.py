# Semantic FPN, SwiftFormer-S backbone, ADE20K 40k iterations (recipe in the base).
_base_ = ['./_base_/fpn_swiftformer_ade20k.py']

model = dict(
    backbone=dict(
        arch='s', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_S.pth')),
    neck=dict(in_channels=[48, 64, 168, 224]))
