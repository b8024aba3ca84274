"""The deploy form computes what the training form computes, with fewer layers.

``SwiftFormer.switch_to_deploy()`` folds BatchNorms, layer scales and the
attention's linear maps into convolutions; ``swiftformer_mm.switch_to_deploy``
does it for every SwiftFormer inside a detector or segmentor, and
``SwiftFormer(deploy=True)`` builds the deploy form directly. On a CPU the
deploy form runs its own kernels (``swiftformer_mm.ops.cpu_kernels``) unless
autograd, autocast or a trace needs the plain ops; both paths are checked.
"""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT
from swiftformer_mm import SwiftFormer, switch_to_deploy
from swiftformer_mm.checkpoint import CheckpointError, load_pretrained
from swiftformer_mm.ops import cpu_kernels

TOLERANCE = 1e-4
TINY = dict(depths=[1, 2, 2, 1], widths=[8, 16, 24, 32])


pytestmark = pytest.mark.usefixtures('one_thread')


def randomise_statistics(model: nn.Module) -> nn.Module:
    """BN statistics, BN affines and layer scales away from their initial values,
    so that folding them is not a no-op."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
        for name, param in model.named_parameters():
            if 'layer_scale' in name:
                param.uniform_(0.2, 1.0)
    return model


def max_difference(outputs, expected):
    assert len(outputs) == len(expected)
    for out, ref in zip(outputs, expected):
        assert out.shape == ref.shape
    return max((out - ref).abs().max().item() for out, ref in zip(outputs, expected))


@pytest.fixture(scope='module')
def xs_pair():
    """The XS training form with random statistics, and its deploy form."""
    torch.manual_seed(0)
    model = randomise_statistics(SwiftFormer(arch='xs')).eval()
    return model, copy.deepcopy(model).switch_to_deploy()


@pytest.fixture
def kernel_calls(monkeypatch):
    """Counts the calls of the CPU kernels, which still run."""
    calls = []
    for name in ('residual_mlp', 'additive_attention'):
        kernel = getattr(cpu_kernels, name)
        monkeypatch.setattr(cpu_kernels, name,
                            lambda *args, kernel=kernel, name=name: calls.append(name) or kernel(*args))
    return calls


# path -> (autograd recording, pixels per chunk of the CPU MLP kernel: None keeps the default)
PATHS = {'cpu_kernels': (False, None), 'cpu_kernels_small_chunks': (False, 256), 'plain_ops': (True, None)}


@pytest.mark.parametrize('size', [(224, 224), (97, 131)])
@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('path', PATHS)
def test_deploy_form_matches_training_form(xs_pair, size, batch, path, kernel_calls, monkeypatch):
    autograd, chunk_pixels = PATHS[path]
    if chunk_pixels:  # chunks end inside rows and images
        monkeypatch.setattr(cpu_kernels, 'HIDDEN_VALUES_PER_CHUNK', 1)
    model, deployed = xs_pair
    x = torch.rand(batch, 3, *size)
    before = x.clone()
    with torch.no_grad():
        expected = model(x)
    with torch.set_grad_enabled(autograd):
        outputs = deployed(x)
    assert max_difference([out.detach() for out in outputs], expected) < TOLERANCE
    assert all(out.is_contiguous() for out in outputs)
    assert torch.equal(x, before)  # in-place work stays inside the model
    # XS: 12 conv encoders, and 4 SwiftFormer encoders of a local representation, an attention, an MLP
    assert len(kernel_calls) == (0 if autograd else 24)


def test_inference_forms_take_their_own_path_only_where_ops_are_only_run():
    from swiftformer_mm.ops.inference_only import ops_only_run
    during_trace = []

    def traced(x):
        during_trace.append(ops_only_run())
        return x * 2

    with torch.no_grad():
        assert ops_only_run()
        torch.jit.trace(traced, torch.ones(2), check_trace=False)
    assert during_trace == [False]  # a trace records the ops
    assert not ops_only_run()  # so does autograd


def test_cpu_kernels_step_aside_where_the_plain_ops_are_needed():
    x = torch.rand(1, 8, 4, 4)
    with torch.no_grad():
        assert cpu_kernels.applies(x)
        assert not cpu_kernels.applies(x.to('meta'))  # any other device: the plain NCHW ops
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert not cpu_kernels.applies(x)
    assert not cpu_kernels.applies(x)  # autograd recording


def test_deploy_form_traces_to_its_plain_ops(xs_pair, kernel_calls):
    _, deployed = xs_pair
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        traced = torch.jit.trace(deployed, (x, ), check_trace=False)
        assert not kernel_calls  # the chunked loop would be frozen into the trace
        other = torch.rand(2, 3, 96, 64)
        assert max_difference(traced(other), deployed(other)) < TOLERANCE


def test_deploy_form_built_directly_loads_the_switched_state_dict_strictly(xs_pair):
    _, deployed = xs_pair
    built = SwiftFormer(arch='xs', deploy=True)
    assert built.deploy and not built.training
    assert built.state_dict().keys() == deployed.state_dict().keys()
    built.load_state_dict(deployed.state_dict(), strict=True)
    x = torch.rand(1, 3, 97, 131)
    with torch.no_grad():
        assert max_difference(built(x), deployed(x)) == 0
    with pytest.raises(RuntimeError, match='cannot be trained'):
        built.train()


def test_deploy_form_weights_load_from_a_checkpoint_file_and_the_wrong_form_is_named(xs_pair, tmp_path):
    model, deployed = xs_pair
    path = tmp_path / 'xs_deploy.pth'
    torch.save({'state_dict': deployed.state_dict()}, path)
    built = SwiftFormer(arch='xs', deploy=True,
                        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    built.init_weights()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert max_difference(built.eval()(x), deployed(x)) == 0
    with pytest.raises(CheckpointError, match='in the deploy form.*deploy=True'):
        load_pretrained(SwiftFormer(arch='xs'), str(path))
    training_path = tmp_path / 'xs_train.pth'
    torch.save({'state_dict': model.state_dict()}, training_path)
    with pytest.raises(CheckpointError, match='in the training form.*switch_to_deploy'):
        load_pretrained(SwiftFormer(arch='xs', deploy=True), str(training_path))


def test_deploy_form_keeps_only_the_output_norms_and_has_fewer_modules_and_parameters(xs_pair):
    model, deployed = xs_pair
    norms = {name for name, m in deployed.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert norms == {'norm0', 'norm1', 'norm2', 'norm3'}
    assert not any(name.startswith(('stem', 'stages')) and 'layer_scale' in name
                   for name, _ in deployed.named_parameters())
    assert len(list(deployed.modules())) < len(list(model.modules()))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(deployed) < count(model)


def test_switching_needs_eval_mode_and_the_result_cannot_be_trained():
    model = SwiftFormer(arch=TINY)
    with pytest.raises(RuntimeError, match='eval mode'):
        model.switch_to_deploy()
    model.eval().switch_to_deploy()
    with pytest.raises(RuntimeError, match='cannot be trained'):
        model.train()
    assert model.eval() is model and model.deploy
    # switching again changes nothing
    before = model.state_dict()
    model.switch_to_deploy()
    assert model.state_dict().keys() == before.keys()


def test_with_cp_and_frozen_stages_models_switch_too():
    torch.manual_seed(0)
    model = randomise_statistics(SwiftFormer(arch=TINY, with_cp=True, frozen_stages=2)).eval()
    x = torch.rand(2, 3, 45, 61)
    with torch.no_grad():
        expected = model(x)
        outputs = model.switch_to_deploy()(x)
    assert max_difference(outputs, expected) < TOLERANCE
    # frozen stages stay frozen; checkpointing (a backward-pass matter) is gone
    assert not any(p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert not any(hasattr(stage, 'with_cp') for stage in model.stages)


def test_switch_to_deploy_needs_a_swiftformer_inside():
    with pytest.raises(ValueError, match='contains no SwiftFormer'):
        switch_to_deploy(nn.Sequential(nn.Conv2d(3, 8, 3)))


def _predictions(detector, batch):
    with torch.no_grad():
        return detector.test_step(batch)


def test_a_whole_detector_switches_and_predicts_the_same():
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    cfg = Config.fromfile(REPO_ROOT / 'configs' / 'demo' / 'maskrcnn_swiftformer_xs_shapes.py')
    init_default_scope('mmdet')
    torch.manual_seed(0)
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    randomise_statistics(detector.backbone)
    detector.eval()
    batch = demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 128), (3, 80, 112)], num_items=[1, 2],
                           num_classes=3, with_mask=True)
    expected = _predictions(detector, batch)
    assert switch_to_deploy(detector) is detector and detector.backbone.deploy
    for got, ref in zip(_predictions(detector, batch), expected):
        got, ref = got.pred_instances, ref.pred_instances
        assert len(got) == len(ref) > 0
        assert torch.equal(got.labels, ref.labels)
        for key in ('bboxes', 'scores'):
            assert (got[key] - ref[key]).abs().max() < TOLERANCE, key
        assert (got.masks != ref.masks).float().mean() < 1e-3  # binarised: a pixel may flip


@pytest.mark.parametrize('deploy', [False, True], ids=['train_form', 'deploy'])
def test_bf16_autocast_stays_close_to_fp32(xs_pair, deploy):
    model = xs_pair[deploy]
    x = torch.rand(1, 3, 97, 131)
    with torch.no_grad():
        reference = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            outputs = model(x)
    for out, ref in zip(outputs, reference):
        relative = ((out.float() - ref).abs().max() / ref.abs().max()).item()
        assert 1e-5 < relative < 0.05  # bf16 rounding, not fp32 and not garbage
