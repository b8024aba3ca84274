"""Behaviour of the SwiftFormer backbone that configs and users rely on."""
import copy

import pytest
import torch
import torch.nn as nn

from swiftformer_mm import SwiftFormer

TINY = dict(depths=[1, 2, 2, 1], widths=[8, 16, 24, 32])

# the backbone with BatchNorm output norms, as detectors and segmentors build it
PAPER_PARAMS = {'xs': 3_033_792, 's': 5_642_688, 'l1': 11_288_592, 'l3': 27_469_760}


@pytest.mark.parametrize('arch', sorted(PAPER_PARAMS))
def test_parameter_counts_match_the_paper_models(arch):
    model = SwiftFormer(arch=arch)
    assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMS[arch]


@pytest.mark.parametrize('arch', ['XS', 'L1', 'l3'])
def test_arch_names_are_case_insensitive(arch):
    model = SwiftFormer(arch=arch)
    assert model.widths == SwiftFormer.arch_settings[arch.lower()]['widths']


def test_pyramid_has_strides_4_8_16_32_and_stage_widths():
    model = SwiftFormer(arch='xs').eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 224, 160))
    assert [tuple(o.shape) for o in outs] == [(1, 48, 56, 40), (1, 56, 28, 20), (1, 112, 14, 10),
                                              (1, 220, 7, 5)]


@pytest.mark.parametrize('size', [(97, 131), (33, 47), (511, 511), (95, 27)])
@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('training', [True, False])
def test_any_input_size_batch_and_mode(size, batch, training):
    model = SwiftFormer(arch=TINY).train(training)
    outs = model(torch.rand(batch, 3, *size))
    height, width = size
    for i, out in enumerate(outs):
        # each stride-2 conv with padding 1 maps n -> ceil(n / 2): two in the stem, one per stage after
        for _ in range(2 if i == 0 else 1):
            height, width = (height + 1) // 2, (width + 1) // 2
        assert tuple(out.shape) == (batch, TINY['widths'][i], height, width)
        assert torch.isfinite(out).all()


def test_out_indices_select_stages_and_accept_negatives():
    model = SwiftFormer(arch=TINY, out_indices=(1, -1)).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [16, 32]
    assert model.out_indices == (1, 3)
    assert hasattr(model, 'norm1') and hasattr(model, 'norm3') and not hasattr(model, 'norm0')


def test_out_norm_cfg_none_returns_raw_stages():
    model = SwiftFormer(arch=TINY, out_norm_cfg=None)
    assert all(isinstance(getattr(model, f'norm{i}'), nn.Identity) for i in range(4))
    assert isinstance(SwiftFormer(arch=TINY).norm2, nn.BatchNorm2d)


def test_with_cp_gives_same_outputs_and_gradients():
    x = torch.rand(2, 3, 67, 45)
    plain = SwiftFormer(arch=TINY, drop_path_rate=0.0).train()
    checkpointed = SwiftFormer(arch=TINY, with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    outs_plain, outs_cp = plain(x), checkpointed(x)
    sum(o.square().sum() for o in outs_plain).backward()
    sum(o.square().sum() for o in outs_cp).backward()
    for a, b in zip(outs_plain, outs_cp):
        torch.testing.assert_close(a, b)
    grads_cp = dict(checkpointed.named_parameters())
    for name, param in plain.named_parameters():
        torch.testing.assert_close(param.grad, grads_cp[name].grad, msg=name)


LAYERS = (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.GELU, nn.ReLU)


@pytest.mark.parametrize('training', [True, False])
def test_every_layer_of_the_training_form_is_called_as_a_module(training):
    # forward hooks, FLOP counters, quantisation and export see a layer only when it is called
    model = SwiftFormer(arch='xs').train(training)
    layers = {name: m for name, m in model.named_modules() if isinstance(m, LAYERS)}
    called = set()
    for name, module in layers.items():
        module.register_forward_hook(lambda m, args, out, name=name: called.add(name))
    model(torch.rand(2, 3, 64, 96))
    assert len(layers) > 100 and called == set(layers)


def conv_input_layouts(model):
    """Hooks every ``nn.Conv2d`` of ``model``; returns the list that each call appends its input's
    memory layout to: ``'channels_last'``, ``'nchw'`` or ``'other'``. A map of one pixel is
    contiguous in both layouts and counts as ``'nchw'``: the inputs below keep every map larger."""
    layouts = []

    def record(module, args):
        x = args[0]
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            layouts.append('channels_last')
        else:
            layouts.append('nchw' if x.is_contiguous() else 'other')

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_pre_hook(record)
    return layouts


@pytest.mark.parametrize('training', [True, False], ids=['train', 'eval'])
def test_on_a_cpu_the_training_form_computes_in_channels_last_and_returns_nchw(training):
    model = SwiftFormer(arch=TINY).train(training)
    layouts = conv_input_layouts(model)
    x = torch.rand(2, 3, 67, 45)
    before = x.clone()
    with torch.set_grad_enabled(training):
        outs = model(x)
    assert len(layouts) > 10 and set(layouts) == {'channels_last'}  # every conv, in both modes
    assert all(out.is_contiguous() for out in outs)  # NCHW, as necks expect
    assert torch.equal(x, before)


def test_a_training_step_in_channels_last_gives_the_nchw_outputs_gradients_and_statistics():
    model = SwiftFormer(arch=dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40])).train()
    reference = copy.deepcopy(model)
    layouts, reference_layouts = conv_input_layouts(model), conv_input_layouts(reference)
    x = torch.rand(2, 3, 96, 72)
    outputs = model(x)
    # the reference: SwiftFormer.forward's loop over the same layers, every map kept NCHW
    x_nchw = reference.stem(x)
    reference_outputs = []
    for i, stage in enumerate(reference.stages):
        x_nchw = stage(x_nchw)
        reference_outputs.append(getattr(reference, f'norm{i}')(x_nchw))
    assert set(layouts) == {'channels_last'} and set(reference_layouts) == {'nchw'}
    weights = [torch.randn_like(out) for out in outputs]  # a loss that weighs every value
    for network, outs in ((model, outputs), (reference, reference_outputs)):
        sum((out * w).sum() for out, w in zip(outs, weights)).backward()

    for out, ref in zip(outputs, reference_outputs):
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    # a bias right before a training-mode BN has a true gradient of 0, computed as rounding noise:
    # compare every gradient at the scale of the largest
    scale = max(param.grad.abs().max().item() for param in reference.parameters())
    grads = dict(model.named_parameters())
    for name, param in reference.named_parameters():
        torch.testing.assert_close(grads[name].grad, param.grad, rtol=1e-4, atol=1e-5 * scale, msg=name)
    buffers = dict(model.named_buffers())
    for name, buffer in reference.named_buffers():
        torch.testing.assert_close(buffers[name], buffer, rtol=1e-4, atol=1e-6, msg=name)


def _frozen_names(model):
    return {name for name, p in model.named_parameters() if not p.requires_grad}


@pytest.mark.parametrize('frozen_stages', [0, 1, 2, 4])
def test_frozen_stages_stop_gradients_and_keep_norms_in_eval(frozen_stages):
    model = SwiftFormer(arch=TINY, frozen_stages=frozen_stages)
    model.train()
    frozen_prefixes = ('stem.', ) + tuple(f'stages.{i}.' for i in range(frozen_stages)) + tuple(
        f'norm{i}.' for i in range(frozen_stages))
    for name, param in model.named_parameters():
        assert param.requires_grad != name.startswith(frozen_prefixes), name
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            assert module.training != (name + '.').startswith(frozen_prefixes), name
    # frozen running statistics do not move during a training forward
    before = model.stem[1].running_mean.clone()
    model(torch.rand(2, 3, 32, 32))
    torch.testing.assert_close(model.stem[1].running_mean, before)


def test_frozen_stages_include_the_downsample_in_front_of_the_stage():
    model = SwiftFormer(arch=TINY, frozen_stages=2)
    assert not model.stages[1].downsample.proj.weight.requires_grad
    assert model.stages[2].downsample.proj.weight.requires_grad


def test_norm_eval_keeps_every_batchnorm_in_eval_mode():
    model = SwiftFormer(arch=TINY, norm_eval=True)
    model.train()
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    assert model.training and model.stem[0].training
    # gradients still flow: norm_eval freezes statistics, not weights
    assert all(p.requires_grad for p in model.parameters())


def test_drop_path_is_applied_only_in_training_and_grows_with_depth():
    model = SwiftFormer(arch=TINY, drop_path_rate=0.3, layer_scale_init_value=1.0)
    rates = [stage.blocks[-1].drop_path.rate for stage in model.stages]
    assert rates == sorted(rates) and rates[-1] == pytest.approx(0.3)
    # the official rate of block j is 0.3 * j / (blocks - 1); stage 0's encoder is block 0
    assert rates[0] == 0.0 and rates[1] == pytest.approx(0.3 * 2 / 5)
    # in training, whole samples of a branch are dropped and the kept ones scaled by 1 / (1 - rate)
    drop = model.stages[-1].blocks[-1].drop_path.train()
    torch.manual_seed(0)
    per_sample = drop(torch.ones(64, 2, 3, 3)).flatten(1)
    kept = per_sample[:, :1] > 0
    assert torch.equal(per_sample, kept.float().expand_as(per_sample) / 0.7) and 0 < kept.sum() < 64
    # so the network's training-mode output depends on the random draw, its eval-mode output does not
    x = torch.rand(4, 3, 32, 32)

    def forward(seed):
        torch.manual_seed(seed)
        return model(x)

    model.train()
    assert torch.equal(forward(1)[-1], forward(1)[-1]) and not torch.equal(forward(1)[-1], forward(2)[-1])
    model.eval()
    assert torch.equal(forward(1)[-1], forward(2)[-1])


def test_layer_scale_init_value_sets_attention_and_mlp_scales():
    model = SwiftFormer(arch=TINY, layer_scale_init_value=0.5)
    encoder = model.stages[1].blocks[-1]
    assert torch.all(encoder.layer_scale_1 == 0.5) and torch.all(encoder.layer_scale_2 == 0.5)
    assert torch.all(model.stages[1].blocks[0].layer_scale == 1.0)


def test_unknown_arch_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown SwiftFormer arch 'l2'.*\['l1', 'l3', 's', 'xs'\]"):
        SwiftFormer(arch='l2')


@pytest.mark.parametrize('arch', [dict(depths=[1, 1, 1], widths=[8, 8, 8]),
                                  dict(depths=[1, 1, 1, 1]), dict(depths=[1, 1, 1, 1],
                                                                  widths=[8, 8, 8, 8], heads=2)])
def test_malformed_custom_arch_is_rejected(arch):
    with pytest.raises(ValueError, match='arch'):
        SwiftFormer(arch=arch)


@pytest.mark.parametrize('out_indices', [(4, ), (-5, ), (0, 0)])
def test_bad_out_indices_are_rejected(out_indices):
    with pytest.raises(ValueError, match='out_indices'):
        SwiftFormer(arch=TINY, out_indices=out_indices)


def test_unsupported_norm_type_is_named():
    with pytest.raises(ValueError, match="norm type 'LN'"):
        SwiftFormer(arch=TINY, norm_cfg=dict(type='LN'))


def test_syncbn_norm_cfg_builds_sync_batchnorm():
    model = SwiftFormer(arch=TINY, norm_cfg=dict(type='SyncBN'))
    assert isinstance(model.stem[1], nn.SyncBatchNorm)
    assert isinstance(model.stages[2].blocks[0].norm, nn.SyncBatchNorm)


def test_init_from_scratch_follows_official_linear_init():
    model = SwiftFormer(arch='xs')
    model.init_weights()
    attn = model.stages[3].blocks[-1].attn
    assert attn.to_query.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.all(attn.to_query.bias == 0)
