# Semantic FPN, SwiftFormer-L3 backbone, ADE20K 40k iterations (recipe in the base).
_base_ = ['./_base_/fpn_swiftformer_ade20k.py']

model = dict(
    backbone=dict(
        arch='l3', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_L3.pth')),
    neck=dict(in_channels=[64, 128, 320, 512]))
