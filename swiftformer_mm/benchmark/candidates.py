"""The models compared: this project's SwiftFormer in each form it runs in."""
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, List, Optional

import torch
import torch.nn as nn

from ..models import SwiftFormer
from ..ops.compiled import CompiledForward
from ..ops.cuda_graphs import GraphedForward
from .dense_part import DensePart, with_dense_part


@dataclass
class Candidate:
    """One model in one form, built fresh by ``build`` (in eval mode).

    Attributes:
        model (str): Model name, e.g. ``'SwiftFormer-L1'``, ``'HF SwiftFormer-L1'``.
        variant (str): Form or source, e.g. ``'deploy'``, ``'transformers'``.
        build (callable): Returns the model in eval mode, on the CPU.
        macs_key (str): Candidates that compute the same way share one MAC count.
        arch (str, optional): The SwiftFormer variant it is or is compared with;
            None for ResNet-50, which is compared with every variant.
        peer (str, optional): None for this project's rows, else ``'hf'``,
            ``'timm'`` or ``'r50'``: the key of the speed-ups over it.
        compile (bool): Run through ``torch.compile`` by the benchmark.
        compile_mode (str, optional): Its ``mode`` (None: the default one).
        cuda_graphs (bool): Replayed as CUDA graphs (:class:`~swiftformer_mm.ops.cuda_graphs.GraphedForward`,
            around :class:`~swiftformer_mm.ops.compiled.CompiledForward` in the compiled row).
        trainable (bool): Has a training step.
        onnx (bool): Exported to ONNX and run by onnxruntime (CPU, fp32 only).
        layout (str): Memory format of its weights, one of :data:`LAYOUTS`; rows are compared
            with the peers of their own layout.
    """
    model: str
    variant: str
    build: Callable[[], nn.Module]
    macs_key: str
    arch: Optional[str] = None
    peer: Optional[str] = None
    compile: bool = False
    compile_mode: Optional[str] = None
    cuda_graphs: bool = False
    trainable: bool = False
    onnx: bool = False
    layout: str = 'nchw'

    @property
    def key(self):
        return self.model, self.variant


LAYOUTS = ('nchw', 'channels-last')


def in_channels_last(candidate: Candidate) -> Candidate:
    """The row with its model's 4-d weights in the channels-last memory format (``--layouts
    channels-last``): each convolution then returns channels-last maps, from the first one on, so
    the whole network runs in that layout while its inputs stay as the data pipeline gives them."""
    build = candidate.build
    return replace(candidate, variant=f'{candidate.variant}, channels-last', layout='channels-last',
                   build=lambda: build().to(memory_format=torch.channels_last))


def eval_mode(model: nn.Module) -> nn.Module:
    """``model.eval()``, returning the model (mmdet's ResNet.train() returns None)."""
    model.eval()
    return model


def train_form(arch: str) -> nn.Module:
    """The backbone as the configs build it, in eval mode."""
    return eval_mode(SwiftFormer(arch=arch))


def deploy_form(arch: str) -> nn.Module:
    """The inference-only form: norms and layer scales folded into the convolutions."""
    return eval_mode(SwiftFormer(arch=arch)).switch_to_deploy()


def onnx_unavailable() -> Optional[str]:
    """Why the onnxruntime row cannot run here, or None when it can."""
    for module in ('onnx', 'onnxruntime'):
        try:
            __import__(module)
        except Exception as error:  # an ImportError, or a broken install
            return f'{module} does not import ({type(error).__name__}: {error})'
    try:
        from ..export.runtime import onnxruntime_forward  # noqa: F401
    except ImportError as error:  # a package that swiftformer_mm.export imports is missing
        return f'swiftformer_mm.export needs {error.name or error}, which does not import'
    return None


def swiftformer_candidates(arch: str, device_type: str, notes: List[str], with_onnx: bool = True,
                           with_compile: bool = False, with_cuda_graphs: bool = False,
                           dense: Optional[DensePart] = None) -> List[Candidate]:
    """The training form, the deploy form and, as asked, the deploy form in onnxruntime (CPU
    only), both forms through ``torch.compile`` and the deploy form as CUDA graphs (CUDA only; of
    its compiled kernels too with ``with_compile``: the fast inference mode of ``tools/test.py
    --deploy --compile --cuda-graphs``); rows that cannot run are named in ``notes``. With ``dense``,
    every row is the backbone followed by that neck (and head), inside the compiled and captured module."""
    name, key = f'SwiftFormer-{arch.upper()}', arch
    train, deploy = (lambda: train_form(arch)), (lambda: deploy_form(arch))
    if dense is not None:
        name, key = f'{name} + {dense.name}', f'{arch}+{dense.name}'
        if with_onnx and device_type == 'cpu':
            notes.append(f'{name} deploy, onnxruntime: skipped (--with-neck times the forms tools/test.py runs; '
                         'onnxruntime is not one of them)')
        with_onnx = False
        train, deploy = partial(with_dense_part, train, dense), partial(with_dense_part, deploy, dense)
    candidates = [
        Candidate(name, 'train form', train, f'{key}-train', arch, trainable=True),
        Candidate(name, 'deploy', deploy, f'{key}-deploy', arch),
    ]
    if with_onnx:
        reason = onnx_unavailable() if device_type == 'cpu' else f'timed on the CPU only; this run is on {device_type}'
        if reason:
            notes.append(f'{name} deploy, onnxruntime: skipped ({reason})')
        else:
            candidates.append(Candidate(name, 'deploy, onnxruntime', deploy,
                                        f'{key}-deploy', arch, onnx=True))
    if with_compile:
        candidates += [
            Candidate(name, 'train form+compile', train, f'{key}-train', arch,
                      compile=True, trainable=True),
            Candidate(name, 'deploy+compile', deploy, f'{key}-deploy', arch,
                      compile=True),
        ]
    if with_cuda_graphs:
        if device_type == 'cuda':
            candidates.append(Candidate(name, 'deploy, CUDA graphs', lambda: GraphedForward(deploy()),
                                        f'{key}-deploy', arch, cuda_graphs=True))
            if with_compile:
                candidates.append(Candidate(name, 'deploy+compile, CUDA graphs',
                                            lambda: GraphedForward(CompiledForward(deploy())),
                                            f'{key}-deploy', arch, cuda_graphs=True))
        else:
            notes.append(f'{name} deploy, CUDA graphs: skipped (CUDA only; this run is on {device_type})')
    return candidates
