"""The backbone computes exactly what the official SwiftFormer (v2) computes.

Reference outputs come from the official implementation with randomised
weights, BN statistics and layer scales (see ``tests/data/golden`` and
``../shared/golden/README.md``). Checkpoints load through ``init_cfg``
exactly as a user's config would.

Every fp32 way of running the backbone is checked: the training form with
and without autograd recording; the deploy form of ``switch_to_deploy()``
with its CPU kernels (no autograd) and with its plain NCHW ops (the path
CUDA takes; autograd recording makes a CPU take it too); and a model built
with ``deploy=True`` that loads the deploy-form state dict strictly.
"""
import pytest
import torch
import torch.nn.functional as F

from conftest import golden_error, golden_model
from swiftformer_mm import SwiftFormer
from swiftformer_mm.checkpoint import load_checkpoint_file

TOLERANCE = 1e-4
# mode -> (deploy form, autograd)
MODES = {
    'train_form': (False, False),
    'train_form_autograd': (False, True),
    'deploy_cpu_kernels': (True, False),
    'deploy_plain_ops': (True, True),
    'deploy_built_directly': (True, False),
}


def _load_case(case, mode='train_form', **init_options):
    model, golden, checkpoint_path = golden_model(case, **init_options)
    if MODES[mode][0]:
        model.switch_to_deploy()
    if mode == 'deploy_built_directly':
        built = SwiftFormer(arch=dict(depths=model.depths, widths=model.widths),
                            out_norm_cfg=dict(type='BN') if golden['meta']['mode'] == 'dense' else None,
                            deploy=True)
        built.load_state_dict(model.state_dict(), strict=True)
        model = built
    return model, golden, checkpoint_path


def _run(model, x, mode):
    with torch.set_grad_enabled(MODES[mode][1]):
        return [out.detach() for out in model(x)]


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('case', ['tiny_dense', 'xs_dense'])
def test_dense_outputs_match_official(case, mode):
    model, golden, _ = _load_case(case, mode)
    for sample in golden['cases']:
        assert golden_error(_run(model, sample['input'], mode), sample['outputs']) < TOLERANCE


@pytest.mark.parametrize('mode', MODES)
def test_classification_stages_and_logits_match_official(mode):
    model, golden, checkpoint_path = _load_case('tiny_cls', mode)
    head = load_checkpoint_file(checkpoint_path)['model']
    for sample in golden['cases']:
        stages = _run(model, sample['input'], mode)
        assert golden_error(stages, sample['stages']) < TOLERANCE
        # the official classifier on top of our last stage gives the official logits
        pooled = F.batch_norm(stages[-1], head['norm.running_mean'], head['norm.running_var'],
                              head['norm.weight'], head['norm.bias']).mean(dim=(2, 3))
        logits = (F.linear(pooled, head['head.weight'], head['head.bias']) +
                  F.linear(pooled, head['dist_head.weight'], head['dist_head.bias'])) / 2
        assert (logits - sample['logits']).abs().max().item() < TOLERANCE


def test_ema_weights_are_used_only_when_asked():
    model, golden, _ = _load_case('tiny_dense')
    ema_model, _, _ = _load_case('tiny_dense', use_ema=True)
    sample = golden['cases'][0]
    with torch.no_grad():
        assert golden_error(model(sample['input']), sample['outputs']) < TOLERANCE
        # model_ema holds slightly different weights, so its outputs differ
        assert golden_error(ema_model(sample['input']), sample['outputs']) > TOLERANCE
