"""Whether a checkpoint's weights fit a whole detector or segmentor, said in one line.

MMEngine loads ``load_from`` and the inferencers' weights with
``strict=False``: a checkpoint of another task, variant or head logs a table of
warnings and the run goes on with randomly initialised layers (a Semantic FPN
checkpoint evaluated as a Mask R-CNN scored 0.000 mAP and exit status 0).
:func:`check_fit` tells what does not fit and its likely cause;
:func:`load_whole_model` is the strict load that evaluation, drawing and
export use.
"""
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch.nn as nn
from mmengine.logging import print_log

from .loading import select_state_dict, shape_mismatches, weights_form, without_ddp_prefix
from .safe_load import CheckpointError, load_checkpoint_file

SHOWN = 2  # keys named per kind of mismatch


@dataclass
class Fit:
    """The keys of a checkpoint against those of a model."""
    missing: List[str] = field(default_factory=list)  # in the model only: left as initialised
    unexpected: List[str] = field(default_factory=list)  # in the checkpoint only: ignored
    reshaped: List[Tuple[str, tuple, tuple]] = field(default_factory=list)  # key, checkpoint, model

    @property
    def exact(self) -> bool:
        return not (self.missing or self.unexpected or self.reshaped)

    def summary(self) -> str:
        parts = []
        if self.reshaped:
            shown = ', '.join(f'{key} {tuple(ours)} in the checkpoint vs {tuple(model)} in the model'
                              for key, ours, model in self.reshaped[:SHOWN])
            parts.append(f'{len(self.reshaped)} of another shape ({shown}{_more(self.reshaped)})')
        if self.missing:
            parts.append(f'{len(self.missing)} missing from the checkpoint '
                         f'({", ".join(self.missing[:SHOWN])}{_more(self.missing)})')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} not in the model '
                         f'({", ".join(self.unexpected[:SHOWN])}{_more(self.unexpected)})')
        return '; '.join(parts)


def _more(keys: list) -> str:
    return ', ...' if len(keys) > SHOWN else ''


def model_weights(checkpoint: dict) -> Dict[str, object]:
    """The state dict of a checkpoint file's dict, without DDP's ``module.`` prefix."""
    return without_ddp_prefix(select_state_dict(checkpoint))


def compare(own: dict, weights: dict) -> Fit:
    """``weights`` against the model's state dict ``own``."""
    return Fit(missing=[key for key in own if key not in weights],
               unexpected=[key for key in weights if key not in own],
               reshaped=shape_mismatches(own, weights))


def likely_cause(fit: Fit, model_keys, weight_keys) -> str:
    """What a mismatch usually means, judged by the top-level modules the keys belong to."""
    model_keys, weight_keys = list(model_keys), list(weight_keys)
    form, model_form = weights_form(weight_keys), weights_form(model_keys)
    if form and model_form and form != model_form:
        return (f'SwiftFormer weights in the {form} form for a model built in the {model_form} form '
                '(tools/test.py --deploy folds a training-form checkpoint after loading)')
    ours, theirs = _tops(model_keys), _tops(weight_keys)
    if ours != theirs:
        return (f'a checkpoint of another task or model (it holds {", ".join(sorted(theirs))}; '
                f'the model has {", ".join(sorted(ours))})')
    touched = _tops([key for key, _, _ in fit.reshaped] + fit.missing + fit.unexpected)
    if 'backbone' in touched:
        return 'a checkpoint of another backbone or SwiftFormer variant (model.backbone.arch)'
    if 'neck' in touched:
        return 'a checkpoint of another neck (its in_channels or out_channels)'
    return 'a checkpoint of heads with another num_classes or other head settings'


def _tops(keys) -> set:
    return {key.split('.', 1)[0] for key in keys}


def check_fit(model: nn.Module, weights: dict, source: str, strict: bool = True) -> Fit:
    """Compares ``weights`` with ``model``'s own.

    Raises:
        CheckpointError: with ``strict``, when anything does not fit: one
            line naming the first keys of each kind and the likely cause.
            Without ``strict`` the same line is logged as a warning (what
            fine-tuning with ``load_from`` skips) and loading may go on.
    """
    own = model.state_dict()
    fit = compare(own, weights)
    if fit.exact:
        return fit
    cause = likely_cause(fit, own.keys(), weights.keys())
    if strict:
        raise CheckpointError(f'{source} does not fit the model; likely {cause}. Use the checkpoint trained '
                              f'with this config, or the config it was trained with. Keys: {fit.summary()}')
    print_log(f'{source} does not fit the model; likely {cause}. These weights are NOT loaded: {fit.summary()}',
              logger='current', level=logging.WARNING)
    return fit


def load_whole_model(model: nn.Module, path: str) -> dict:
    """Loads every tensor of the checkpoint file ``path`` into ``model``, or raises
    :class:`CheckpointError` (see :func:`check_fit`). Returns the file's dict (its ``meta``)."""
    checkpoint = load_checkpoint_file(path)
    weights = model_weights(checkpoint)
    check_fit(model, weights, path)
    model.load_state_dict(weights, strict=True)
    return checkpoint
