# Mask R-CNN + FPN, SwiftFormer-L1 backbone, COCO 1x (recipe in the base).
_base_ = ['./_base_/maskrcnn_swiftformer_coco.py']

model = dict(
    backbone=dict(
        arch='l1', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_L1.pth')),
    neck=dict(in_channels=[48, 96, 192, 384]))
