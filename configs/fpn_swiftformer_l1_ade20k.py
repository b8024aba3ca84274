# Semantic FPN, SwiftFormer-L1 backbone, ADE20K 40k iterations (recipe in the base).
_base_ = ['./_base_/fpn_swiftformer_ade20k.py']

model = dict(
    backbone=dict(
        arch='l1', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_L1.pth')),
    neck=dict(in_channels=[48, 96, 192, 384]))
