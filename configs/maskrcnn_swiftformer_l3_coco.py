# Mask R-CNN + FPN, SwiftFormer-L3 backbone, COCO 1x (recipe in the base).
_base_ = ['./_base_/maskrcnn_swiftformer_coco.py']

model = dict(
    backbone=dict(
        arch='l3', init_cfg=dict(checkpoint='checkpoints/SwiftFormer_L3.pth')),
    neck=dict(in_channels=[64, 128, 320, 512]))
