# Mask R-CNN + FPN, SwiftFormer-XS backbone, COCO 1x (recipe in the base).
_base_ = ['./_base_/maskrcnn_swiftformer_coco.py']

model = dict(
    backbone=dict(
        arch='xs', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_XS.pth')),
    neck=dict(in_channels=[48, 56, 112, 220]))
