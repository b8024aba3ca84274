"""ONNX export of the SwiftFormer backbone and of mmseg segmentors built on it.

``tools/deployment/export_onnx.py`` is the command line (``require_onnx_packages``: its refusal
where a package is missing; ``check_onnx_file``: its check of the written file against PyTorch);
``onnxruntime_forward`` times
a backbone under onnxruntime (``tools/analysis_tools/benchmark.py``).
"""
from .backbone import backbone_exportable
from .graph import IMAGE_AXES, OPSET, Exportable, export_onnx
from .runtime import (OnnxMismatchError, OnnxPackageMissingError, check_onnx_file, create_session,
                      default_check_sizes, max_abs_differences, onnxruntime_forward, require_onnx_packages)
from .segmentor import SegmentorGraph, build_segmentor, segmentor_exportable

__all__ = [
    'Exportable', 'IMAGE_AXES', 'OPSET', 'OnnxMismatchError', 'OnnxPackageMissingError', 'SegmentorGraph',
    'backbone_exportable', 'build_segmentor', 'check_onnx_file', 'create_session', 'default_check_sizes',
    'export_onnx', 'max_abs_differences', 'onnxruntime_forward', 'require_onnx_packages', 'segmentor_exportable'
]
