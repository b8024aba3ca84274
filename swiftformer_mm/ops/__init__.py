"""Per-device execution of SwiftFormer's deploy form (see :mod:`swiftformer_mm.models.deploy_blocks`).

Only the CPU needs kernels of its own: :mod:`.cpu_kernels`. On CUDA the deploy
form runs plain NCHW ops (cuDNN convolutions, no chunks), which is what pays
there; :mod:`.compiled` fuses them with ``torch.compile`` and :mod:`.cuda_graphs`
replays them as CUDA graphs, one per input shape, where launches dominate
(batch 1). :mod:`.fast_inference` applies both to a whole detector or segmentor.
"""
from . import compiled, cpu_kernels, cuda_graphs, fast_inference

__all__ = ['compiled', 'cpu_kernels', 'cuda_graphs', 'fast_inference']
