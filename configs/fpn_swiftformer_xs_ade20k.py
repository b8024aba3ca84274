# Semantic FPN, SwiftFormer-XS backbone, ADE20K 40k iterations (recipe in the base).
_base_ = ['./_base_/fpn_swiftformer_ade20k.py']

model = dict(
    backbone=dict(
        arch='xs', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_XS.pth')),
    neck=dict(in_channels=[48, 56, 112, 220]))
