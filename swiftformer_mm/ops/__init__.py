"""Per-device kernels of SwiftFormer's deploy form (see :mod:`swiftformer_mm.models.deploy_blocks`).

Only the CPU needs its own: :mod:`.cpu_kernels`. On CUDA the deploy form
runs plain NCHW ops (cuDNN convolutions, no chunks), which is what pays there.
"""
from . import cpu_kernels

__all__ = ['cpu_kernels']
