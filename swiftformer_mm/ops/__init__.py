"""Per-device kernels of SwiftFormer's deploy form (see :mod:`swiftformer_mm.models.deploy_blocks`).

Only the CPU needs its own: :mod:`.cpu_kernels`. On CUDA the deploy form
runs plain NCHW ops (cuDNN convolutions, no chunks), which is what pays there;
:mod:`.cuda_graphs` replays them as CUDA graphs, one per input shape, where
launches dominate (batch 1).
"""
from . import cpu_kernels, cuda_graphs

__all__ = ['cpu_kernels', 'cuda_graphs']
