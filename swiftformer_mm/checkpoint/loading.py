"""Loads any SwiftFormer checkpoint into :class:`~swiftformer_mm.SwiftFormer`.

Accepted: official ImageNet checkpoints (flat, under ``model``, or
``model_ema`` when asked) and dense-mode state dicts, timm and HF
transformers state dicts, MMEngine checkpoints (``state_dict``) of a detector
or segmentor holding the backbone under ``backbone.``, and this project's own.
"""
import logging
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import print_log

from .key_maps import convert_to_ours, detect_format
from .safe_load import CheckpointError, load_checkpoint_file, require_checkpoint

HF_WARNING = ('these HF transformers weights were trained with the v1 attention (softmax over a '
              'size-1 axis), not the v2 attention of the paper that this backbone computes; '
              'expect outputs and accuracy to differ from the paper until fine-tuned')


def select_state_dict(checkpoint: dict, use_ema: bool = False) -> dict:
    """The model weights inside a checkpoint file's top-level dict."""
    if use_ema:
        if 'model_ema' not in checkpoint:
            raise CheckpointError('use_ema=True but the checkpoint has no "model_ema" entry '
                                  f'(top-level keys: {sorted(checkpoint)[:10]})')
        return checkpoint['model_ema']
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def without_ddp_prefix(state_dict: dict) -> dict:
    """``state_dict`` without DDP's ``module.`` prefix, when every key has it."""
    if state_dict and all(key.startswith('module.') for key in state_dict):
        return {key[len('module.'):]: value for key, value in state_dict.items()}
    return state_dict


def shape_mismatches(own: dict, weights: dict) -> List[Tuple[str, tuple, tuple]]:
    """(key, shape in ``weights``, shape in ``own``) of every tensor of both state dicts whose
    shapes differ."""
    return [(key, tuple(value.shape), tuple(own[key].shape)) for key, value in weights.items()
            if key in own and hasattr(value, 'shape') and tuple(value.shape) != tuple(own[key].shape)]


def backbone_state_dict(state_dict: dict, prefix: Optional[str] = None) -> Tuple[dict, str]:
    """Returns the backbone weights in our key names, and the format they came in.

    Args:
        state_dict (dict): Model weights (see :func:`select_state_dict`).
        prefix (str, optional): Keep only keys under this prefix (e.g.
            ``'backbone.'``) and strip it. Without it, ``module.`` (DDP) is
            stripped and ``backbone.`` is used when nothing else matches.
    """
    if prefix is None:
        state_dict = without_ddp_prefix(state_dict)
    if prefix is None and detect_format(state_dict) is None:
        prefix = 'backbone.'
    selected = state_dict
    if prefix:
        selected = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    fmt = detect_format(selected)
    if fmt is None:
        sample = ', '.join(list(state_dict)[:5]) or 'none'
        raise CheckpointError('no SwiftFormer weights found in the checkpoint (first keys: '
                              f'{sample}); expected official, timm, HF transformers, mmdet/mmseg '
                              '(under "backbone.") or swiftformer_mm keys')
    return convert_to_ours(selected, fmt), fmt


def _module_names(keys) -> str:
    """Compresses parameter names to their module names for a one-line report."""
    modules = []
    for key in sorted(keys):
        module = key.rsplit('.', 1)[0]
        if module not in modules:
            modules.append(module)
    return ', '.join(modules)


def weights_form(keys) -> Optional[str]:
    """``'deploy'`` or ``'training'``: which form of SwiftFormer the weight names are of
    (``None`` when they hold no attention to tell by)."""
    keys = list(keys)
    if any('.attn.qk_weight' in key for key in keys):
        return 'deploy'
    if any('.attn.to_query.' in key for key in keys):
        return 'training'
    return None


def check_form(model: nn.Module, keys, source: str) -> None:
    """Raises :class:`CheckpointError` when the weights are of the other form than ``model``'s."""
    form = weights_form(keys)
    model_form = 'deploy' if getattr(model, 'deploy', False) else 'training'
    if form is None or form == model_form:
        return
    if form == 'training':
        fix = ('build the backbone with deploy=False, load the weights, then switch with '
               'switch_to_deploy() (tools/test.py and tools/visualize.py do it with --deploy)')
    else:
        fix = ('build the backbone with deploy=True (e.g. --cfg-options model.backbone.deploy=True); '
               'a deploy-form model runs inference only')
    raise CheckpointError(f'{source} holds SwiftFormer weights in the {form} form, but the model is '
                          f'built in the {model_form} form: {fix}')


def load_backbone_weights(model: nn.Module, state_dict: dict, source: str, strict: bool = False) -> None:
    """``load_state_dict`` that refuses shape mismatches and reports missing/unexpected keys.

    Raises:
        CheckpointError: the weights are of the other form (training or
            deploy) than the model, or a tensor's shape differs from the
            model's, which means the checkpoint is of another variant; with
            ``strict`` (export), also when a backbone weight is missing.
    """
    check_form(model, state_dict, source)
    own = model.state_dict()
    mismatched = shape_mismatches(own, state_dict)
    if mismatched:
        key, theirs, ours = mismatched[0]
        raise CheckpointError(
            f'{source} does not fit this model: {key} has shape {theirs} in the checkpoint but {ours} in '
            'the model. Is it a checkpoint of another SwiftFormer variant? Set the backbone arch to the '
            'one the checkpoint was trained as.')
    if strict:
        missing = [key for key in own if key not in state_dict]
        if missing:
            raise CheckpointError(f'{source} lacks {len(missing)} of the backbone\'s weights '
                                  f'({_module_names(missing[:3])}, ...): not a whole SwiftFormer checkpoint')
    result = model.load_state_dict(state_dict, strict=False)
    report = []
    if result.missing_keys:
        report.append(f'missing in checkpoint (left as initialised): {_module_names(result.missing_keys)}')
    if result.unexpected_keys:
        report.append(f'unexpected in checkpoint (ignored): {_module_names(result.unexpected_keys)}')
    summary = '; '.join(report) or 'all keys matched'
    print_log(f'loaded {len(state_dict)} tensors from {source}: {summary}', logger='current',
              level=logging.WARNING if report else logging.INFO)


def check_pretrained_exists(checkpoint: str) -> None:
    """Raises :class:`CheckpointError` saying what to do when the backbone's weights are missing."""
    require_checkpoint(checkpoint, 'SwiftFormer pretrained weights', advice=(
        '. Put the official ImageNet checkpoint there (README, "Pretrained weights"), point '
        'model.backbone.init_cfg.checkpoint at your copy, or train from scratch with --cfg-options '
        'model.backbone.init_cfg=None'))


def load_pretrained(model: nn.Module, checkpoint: str, use_ema: bool = False,
                    prefix: Optional[str] = None, map_location: Optional[str] = None,
                    strict: bool = False) -> None:
    """Loads a checkpoint file into the backbone ``model`` (``init_cfg`` of type ``Pretrained``).

    ``map_location`` is accepted for compatibility with MMEngine's
    ``PretrainedInit``; weights are always read onto the CPU and copied into
    the model's own device. ``strict``: see :func:`load_backbone_weights`.
    """
    check_pretrained_exists(checkpoint)
    raw = load_checkpoint_file(checkpoint)
    state_dict, fmt = backbone_state_dict(select_state_dict(raw, use_ema), prefix)
    if fmt == 'hf':
        print_log(f'{checkpoint}: {HF_WARNING}', logger='current', level=logging.WARNING)
    load_backbone_weights(model, state_dict, source=checkpoint, strict=strict)
