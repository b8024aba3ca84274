"""The SwiftFormer backbone, registered in MMEngine's root ``MODELS``.

Shaker et al., "SwiftFormer: Efficient Additive Attention for
Transformer-based Real-time Mobile Vision Applications", ICCV 2023,
https://arxiv.org/abs/2303.15446. The computation follows the official
implementation (v2 attention) and reproduces its outputs; see
``tests/test_golden.py``.
"""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmengine.registry import MODELS

from ..ops import cpu_kernels
from .blocks import Stage, Stem
from .deploy_blocks import FusedStage, FusedStem
from .norm import build_norm
from .reparam import fold_stage, fold_stem


# Devices on which the training form computes in channels-last memory: those where it was
# measured faster so, in one run, forward and backward (docs/benchmark.md, 2026-12-07: the CPU).
# On CUDA the gains so far come from two separate runs (`.dev_scripts/gpu_checks.sh table_cl`
# measures both layouts in one); on MPS, BatchNorm's backward in channels-last gave wrong
# gradients in some torch releases (pytorch/pytorch#175189).
CHANNELS_LAST_DEVICES = ('cpu', )


@MODELS.register_module()
class SwiftFormer(BaseModule):
    """SwiftFormer backbone returning a feature pyramid of strides 4, 8, 16, 32.

    Args:
        arch (str | dict): ``'xs'``, ``'s'``, ``'l1'`` or ``'l3'`` (any case),
            or ``dict(depths=[...], widths=[...])`` with four entries each.
            Defaults to ``'l1'``.
        out_indices (Sequence[int] | int): Stages whose outputs are returned,
            0-3; negative indices count from the last stage.
            Defaults to ``(0, 1, 2, 3)``.
        out_norm_cfg (dict, optional): Norm applied to each returned map, as
            the official dense-prediction model does (``norm0/2/4/6`` there).
            ``None`` returns the raw stage outputs. Defaults to ``dict(type='BN')``.
        norm_cfg (dict): Norm used inside the network. Defaults to ``dict(type='BN')``.
        frozen_stages (int): Freeze the stem and stages ``0..frozen_stages-1``
            (with their downsample layers and output norms): no gradients, and
            their norms stay in eval mode. -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
            Defaults to False.
        with_cp (bool): Activation checkpointing per block. Defaults to False.
        drop_path_rate (float): Stochastic depth rate of the deepest block;
            it grows linearly with the block index as in the official code.
            Defaults to 0.
        layer_scale_init_value (float): Initial value of the layer scales of
            the attention and MLP branches. Defaults to 1e-5.
        deploy (bool): Build the deploy form directly (the inference form
            that :meth:`switch_to_deploy` makes), so that a deploy-form state
            dict loads with ``strict=True`` and a deploy-form checkpoint
            loads from a config. Defaults to False.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)``
            loads official, timm, HF transformers, mmdet/mmseg or this
            project's checkpoints; add ``use_ema=True`` for the official EMA
            weights and ``prefix='...'`` to take a sub-module's weights.
            Defaults to None.

    Memory layout: on the devices of :data:`CHANNELS_LAST_DEVICES` (the CPU)
    the training form computes in channels-last memory (NHWC), in training
    and in eval mode, since its convolutions run faster there in that layout;
    elsewhere in NCHW. The deploy form chooses per device on its own. The
    maps returned are NCHW-contiguous in every case, as mmdet's and mmseg's
    necks and heads expect; the layout changes no result beyond float rounding.

    Example:
        >>> import torch
        >>> from swiftformer_mm import SwiftFormer
        >>> model = SwiftFormer(arch='xs').eval()
        >>> for feat in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(feat.shape))
        (1, 48, 56, 56)
        (1, 56, 28, 28)
        (1, 112, 14, 14)
        (1, 220, 7, 7)
    """

    arch_settings = {
        'xs': dict(depths=[3, 3, 6, 4], widths=[48, 56, 112, 220]),
        's': dict(depths=[3, 3, 9, 6], widths=[48, 64, 168, 224]),
        'l1': dict(depths=[4, 3, 10, 5], widths=[48, 96, 192, 384]),
        'l3': dict(depths=[4, 4, 12, 6], widths=[64, 128, 320, 512]),
    }
    mlp_ratio = 4.0

    def __init__(self,
                 arch: Union[str, dict] = 'l1',
                 out_indices: Union[Sequence[int], int] = (0, 1, 2, 3),
                 out_norm_cfg: Union[dict, None] = dict(type='BN'),
                 norm_cfg: dict = dict(type='BN'),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 drop_path_rate: float = 0.0,
                 layer_scale_init_value: float = 1e-5,
                 deploy: bool = False,
                 init_cfg: Union[dict, None] = None):
        super().__init__(init_cfg=init_cfg)
        self.depths, self.widths = self.parse_arch(arch)
        num_stages = len(self.depths)
        self.out_indices = self.parse_out_indices(out_indices, num_stages)
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in [-1, {num_stages}], got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.deploy = deploy

        self.stages = nn.ModuleList()
        if deploy:
            self.stem = FusedStem(self.widths[0])
            for i, (depth, width) in enumerate(zip(self.depths, self.widths)):
                self.stages.append(
                    FusedStage(self.widths[max(i - 1, 0)], width, depth, downsample=i > 0,
                               hidden_dim=int(width * self.mlp_ratio)))
        else:
            self.stem = Stem(self.widths[0], norm_cfg)
            total_blocks = sum(self.depths)
            for i, (depth, width) in enumerate(zip(self.depths, self.widths)):
                # the official rate of block j is rate * (global index of j) / (blocks - 1);
                # only the last block of a stage (its SwiftFormer encoder) uses it
                last_block = sum(self.depths[:i + 1]) - 1
                self.stages.append(
                    Stage(
                        in_channels=self.widths[max(i - 1, 0)],
                        dim=width,
                        depth=depth,
                        downsample=i > 0,
                        drop_path_rate=drop_path_rate * last_block / max(total_blocks - 1, 1),
                        mlp_ratio=self.mlp_ratio,
                        norm_cfg=norm_cfg,
                        layer_scale_init_value=layer_scale_init_value,
                        with_cp=with_cp))
        for i in self.out_indices:
            norm = nn.Identity() if out_norm_cfg is None else build_norm(out_norm_cfg, self.widths[i])
            self.add_module(f'norm{i}', norm)
        self._freeze_stages()
        if deploy:
            self.eval()

    @classmethod
    def parse_arch(cls, arch: Union[str, dict]) -> Tuple[List[int], List[int]]:
        """The ``(depths, widths)`` of the four stages of ``arch`` (a name or a dict).

        Raises:
            ValueError: an unknown name or a malformed dict, saying what is valid.
        """
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_settings:
                raise ValueError(f'unknown SwiftFormer arch {arch!r}; valid names are '
                                 f'{sorted(cls.arch_settings)}, or pass '
                                 'dict(depths=[...], widths=[...])')
            arch = cls.arch_settings[key]
        if not isinstance(arch, dict) or set(arch) != {'depths', 'widths'}:
            raise ValueError('a custom SwiftFormer arch must be dict(depths=[...], widths=[...]), '
                             f'got {arch!r}')
        depths, widths = list(arch['depths']), list(arch['widths'])
        if len(depths) != 4 or len(widths) != 4:
            raise ValueError(f'arch needs 4 depths and 4 widths, got {depths} and {widths}')
        if min(depths) < 1 or min(widths) < 2:
            raise ValueError(f'arch depths must be >= 1 and widths >= 2, got {depths} and {widths}')
        return depths, widths

    @classmethod
    def output_channels(cls, arch: Union[str, dict] = 'l1',
                        out_indices: Union[Sequence[int], int] = (0, 1, 2, 3)) -> List[int]:
        """The channels of the feature maps a backbone of ``arch`` returns (what a neck's
        ``in_channels`` must be), without building it."""
        depths, widths = cls.parse_arch(arch)
        return [widths[i] for i in cls.parse_out_indices(out_indices, len(depths))]

    @staticmethod
    def parse_out_indices(out_indices: Union[Sequence[int], int], num_stages: int) -> Tuple[int, ...]:
        """``out_indices`` as non-negative stage indices; ``ValueError`` when out of range or repeated."""
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        parsed = []
        for index in out_indices:
            if not -num_stages <= index < num_stages:
                raise ValueError(f'out_indices entries must be in [-{num_stages}, {num_stages - 1}], '
                                 f'got {index}')
            parsed.append(index % num_stages)
        if len(set(parsed)) != len(parsed):
            raise ValueError(f'out_indices has duplicates: {tuple(out_indices)}')
        return tuple(parsed)

    def forward(self, x: torch.Tensor) -> tuple:
        if self.deploy:
            if cpu_kernels.applies(x):
                x = cpu_kernels.to_channels_last(x)  # the deploy form's CPU kernels compute in NHWC
        elif x.device.type in CHANNELS_LAST_DEVICES:
            x = x.contiguous(memory_format=torch.channels_last)  # see "Memory layout" above
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(x).contiguous())  # NCHW, as necks expect
        return tuple(outs)

    def _frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.stem]
        for i in range(self.frozen_stages):
            modules.append(self.stages[i])
            if i in self.out_indices:
                modules.append(getattr(self, f'norm{i}'))
        return modules

    def _freeze_stages(self):
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def switch_to_deploy(self) -> 'SwiftFormer':
        """Folds every BatchNorm inside the stages, every layer scale and the
        attention's linear maps into convolutions, in place; returns ``self``.

        The outputs stay the same up to float rounding (below 1e-4, see
        ``tests/test_deploy.py``), with fewer layers and parameters (see
        :mod:`.deploy_blocks`; on a CPU the deploy form also runs its own
        kernels). The output norms (``norm0..3``) stay as they are. Only a
        model in eval mode can be switched (a ``RuntimeError`` otherwise:
        the folded statistics are the running ones), and the deploy form
        cannot be trained: ``train()`` raises, ``eval()`` works. ``with_cp``
        is dropped (checkpointing only matters for a backward pass). Switch
        after loading weights: the deploy form has other parameter names;
        its state dict loads into ``SwiftFormer(..., deploy=True)``.
        Calling it again does nothing.
        """
        if self.deploy:
            return self
        training = [name or 'the backbone' for name, m in self.named_modules() if m.training]
        if training:
            raise RuntimeError('switch_to_deploy() folds the BatchNorm running statistics and needs '
                               f'the model in eval mode; call .eval() first ({training[0]} is in '
                               'training mode)')
        self.stem = fold_stem(self.stem)
        self.stages = nn.ModuleList(fold_stage(stage) for stage in self.stages)
        self.deploy = True
        self._freeze_stages()
        return self.eval()  # the fused layers are new modules, built in training mode

    def train(self, mode: bool = True):
        if mode and getattr(self, 'deploy', False):
            raise RuntimeError('this SwiftFormer is in its deploy form (deploy=True or '
                               'switch_to_deploy()), which cannot be trained: build it with '
                               'deploy=False and load the training-form weights to train')
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def init_weights(self):
        """Loads the ``Pretrained`` checkpoint of ``init_cfg``, or initialises from scratch.

        From scratch follows the official code: truncated-normal (std 0.02)
        linear weights with zero bias; convolutions keep PyTorch's default.
        """
        if self.init_cfg is not None and self.init_cfg.get('type') == 'Pretrained':
            from ..checkpoint import load_pretrained
            options = {k: v for k, v in self.init_cfg.items() if k != 'type'}
            load_pretrained(self, **options)
        else:
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    trunc_normal_(module.weight, std=0.02)
                    nn.init.zeros_(module.bias)
            super().init_weights()
        self._is_init = True
