# Mask R-CNN + FPN, SwiftFormer-S backbone, COCO 1x (recipe in the base).
_base_ = ['./_base_/maskrcnn_swiftformer_coco.py']

model = dict(
    backbone=dict(
        arch='s', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_S.pth')),
    neck=dict(in_channels=[48, 64, 168, 224]))
