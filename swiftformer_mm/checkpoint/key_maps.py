"""Key names of the other SwiftFormer implementations, and their maps to ours.

This project's layout (like timm's) is ``stem.{0,1,3,4}``,
``stages.{i}.downsample.{proj,norm}`` (stages 1-3), ``stages.{i}.blocks.{j}``
and the output norms ``norm{i}`` of stage ``i``. Inside the blocks:

============================  =====================  ========================  =======================
ours                          official               timm                      HF transformers
============================  =====================  ========================  =======================
``dwconv``, ``pwconv1/2``     same                   same                      ``depth_wise_conv``,
                                                                               ``point_wise_conv1/2``
``layer_scale[_1,_2]``        same                   ``layer_scale*.gamma``    same
``attn.proj``                 ``attn.Proj``          same                      same
``mlp.norm``, ``mlp.fc1/2``   ``linear.norm1``,      ``linear.norm1``,         ``linear.norm1``,
                              ``linear.fc1/2``       ``linear.fc1/2``          ``linear.fc1/2``
============================  =====================  ========================  =======================

Stage layout: the official code (and HF) keeps stages and downsamples in one
list, ``network.{2i}`` for stage ``i`` and ``network.{2i-1}`` for the
downsample in front of it; HF nests that under ``swiftformer.encoder.`` and
its stem under ``swiftformer.patch_embed.patch_embedding.`` (``.pe.`` and
stages without ``.blocks.`` in older transformers releases, read too). The
official dense model names its output norms after the list index
(``norm0/2/4/6``). Classifier weights (``norm``, ``head``, ``dist_head`` /
``head_dist``) have no counterpart in the backbone and map to ``None``.
"""
import re
from typing import Callable, Dict, Optional

FORMATS = ('swiftformer_mm', 'official', 'timm', 'hf')

# (foreign, ours) renames of whole dotted name segments inside blocks
_BLOCK_RENAMES = {
    'swiftformer_mm': [],
    'official': [('attn.Proj', 'attn.proj'), ('linear.norm1', 'mlp.norm'), ('linear', 'mlp')],
    'timm': [('layer_scale.gamma', 'layer_scale'), ('layer_scale_1.gamma', 'layer_scale_1'),
             ('layer_scale_2.gamma', 'layer_scale_2'), ('linear.norm1', 'mlp.norm'),
             ('linear', 'mlp')],
    'hf': [('depth_wise_conv', 'dwconv'), ('point_wise_conv1', 'pwconv1'),
           ('point_wise_conv2', 'pwconv2'), ('linear.norm1', 'mlp.norm'), ('linear', 'mlp')],
}
_CLASSIFIER = re.compile(r'^(norm|head|dist_head|head_dist)\.')


def _rename_segments(key: str, renames) -> str:
    dotted = f'.{key}.'
    for old, new in renames:
        dotted = dotted.replace(f'.{old}.', f'.{new}.')
    return dotted[1:-1]


def _network_to_stages(key: str) -> str:
    """``network.{2i}.X`` -> ``stages.{i}.blocks.X``; ``network.{2i-1}.X`` -> downsample of stage i."""
    match = re.match(r'network\.(\d+)\.(.*)', key)
    if match is None:
        return key
    index, rest = int(match.group(1)), match.group(2)
    if index % 2:
        return f'stages.{(index + 1) // 2}.downsample.{rest}'
    return f'stages.{index // 2}.blocks.{rest}'


def _stages_to_network(key: str) -> str:
    match = re.match(r'stages\.(\d+)\.(blocks|downsample)\.(.*)', key)
    if match is None:
        return key
    stage, part, rest = int(match.group(1)), match.group(2), match.group(3)
    return f'network.{2 * stage if part == "blocks" else 2 * stage - 1}.{rest}'


def _official_layout_to_ours(key: str) -> str:
    key = re.sub(r'^patch_embed\.', 'stem.', key)
    key = re.sub(r'^norm([0246])\.', lambda m: f'norm{int(m.group(1)) // 2}.', key)
    return _network_to_stages(key)


def _ours_layout_to_official(key: str) -> str:
    key = re.sub(r'^stem\.', 'patch_embed.', key)
    key = re.sub(r'^norm([0-3])\.', lambda m: f'norm{2 * int(m.group(1))}.', key)
    return _stages_to_network(key)


def _hf_layout_to_ours(key: str) -> str:
    key = re.sub(r'^swiftformer\.', '', key)
    key = re.sub(r'^patch_embed\.(patch_embedding|pe)\.', 'stem.', key)
    key = re.sub(r'^encoder\.network\.(\d*[02468])\.(?!blocks\.)', r'encoder.network.\1.blocks.', key)
    key = re.sub(r'^encoder\.network\.(\d+)\.blocks\.', r'network.\1.', key)
    return _network_to_stages(re.sub(r'^encoder\.', '', key))


def _ours_layout_to_hf(key: str) -> str:
    key = re.sub(r'^stem\.', 'patch_embed.patch_embedding.', key)
    key = _stages_to_network(key)
    match = re.match(r'network\.(\d+)\.(.*)', key)
    if match is not None:
        index, rest = int(match.group(1)), match.group(2)
        key = f'encoder.network.{index}.{"blocks." if index % 2 == 0 else ""}{rest}'
    return f'swiftformer.{key}'


_LAYOUT_TO_OURS: Dict[str, Callable[[str], str]] = {
    'swiftformer_mm': lambda key: key,
    'official': _official_layout_to_ours,
    'timm': lambda key: key,
    'hf': _hf_layout_to_ours,
}
_LAYOUT_FROM_OURS: Dict[str, Callable[[str], str]] = {
    'swiftformer_mm': lambda key: key,
    'official': _ours_layout_to_official,
    'timm': lambda key: key,
    'hf': _ours_layout_to_hf,
}


def key_to_ours(key: str, fmt: str) -> Optional[str]:
    """Our name for ``key`` of format ``fmt``; ``None`` for classifier weights."""
    key = _LAYOUT_TO_OURS[fmt](key)
    if _CLASSIFIER.match(key):
        return None
    return _rename_segments(key, _BLOCK_RENAMES[fmt])


def key_from_ours(key: str, fmt: str) -> str:
    """The name that format ``fmt`` gives to our ``key``."""
    renames = [(ours, foreign) for foreign, ours in _BLOCK_RENAMES[fmt]]
    return _LAYOUT_FROM_OURS[fmt](_rename_segments(key, renames))


def detect_format(keys) -> Optional[str]:
    """Which implementation wrote a state dict with these keys (``None``: not a SwiftFormer)."""
    keys = list(keys)
    if any(k.startswith(('swiftformer.', 'encoder.network.', 'patch_embed.patch_embedding.',
                         'patch_embed.pe.')) for k in keys):
        return 'hf'
    if any(k.startswith(('network.', 'patch_embed.')) for k in keys):
        return 'official'
    if any(k.startswith(('stages.', 'stem.')) for k in keys):
        timm_only = any(k.endswith('.gamma') or '.linear.' in k or k.startswith('head_dist.')
                        for k in keys)
        return 'timm' if timm_only else 'swiftformer_mm'
    return None


def convert_to_ours(state_dict: dict, fmt: str) -> dict:
    """Renames a whole state dict of format ``fmt`` to ours, dropping classifier weights."""
    converted = {}
    for key, value in state_dict.items():
        new_key = key_to_ours(key, fmt)
        if new_key is not None:
            converted[new_key] = value
    return converted


def convert_from_ours(state_dict: dict, fmt: str) -> dict:
    """Renames our state dict to format ``fmt``."""
    return {key_from_ours(key, fmt): value for key, value in state_dict.items()}
