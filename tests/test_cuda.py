"""The backbone on a CUDA GPU: exact in both forms, sane under autocast, trainable with AMP.

Skipped where CUDA is absent (CI has none); run it on a GPU machine with
``python -m pytest tests/test_cuda.py``. It needs only torch and mmengine.

Exactness is checked with TF32 off: PyTorch's default lets cuDNN
convolutions use TF32 (10 mantissa bits), which moves the golden outputs by
up to ~5e-2; with full fp32 they match the official outputs to 1e-4.
"""
import copy

import pytest
import torch
import torch.nn as nn

from conftest import golden_error, golden_model
from swiftformer_mm import SwiftFormer
from swiftformer_mm.ops import cpu_kernels

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

TOLERANCE = 1e-4
# largest deviation from fp32 under autocast, relative to the largest fp32 output value:
# fp16 keeps 11 significant bits, bf16 8; a few dozen layers deep, both stay far inside these
AUTOCAST_TOLERANCE = {torch.float16: 1e-2, torch.bfloat16: 5e-2}


@pytest.fixture
def full_fp32():
    """TF32 off for cuDNN and for matrix products, restored afterwards."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize('deploy', [False, True], ids=['train_form', 'deploy'])
@pytest.mark.parametrize('case', ['tiny_cls', 'tiny_dense', 'xs_dense'])
def test_golden_outputs_on_cuda(case, deploy, full_fp32, monkeypatch):
    model, golden, _ = golden_model(case)
    model = model.cuda()
    if deploy:
        model.switch_to_deploy()
    kernel_calls = []
    monkeypatch.setattr(cpu_kernels, 'residual_mlp', lambda *args: kernel_calls.append(args))
    key = 'outputs' if golden['meta']['mode'] == 'dense' else 'stages'
    for sample in golden['cases']:
        with torch.no_grad():
            outputs = model(sample['input'].cuda())
        assert all(out.is_cuda for out in outputs)
        assert golden_error(outputs, sample[key]) < TOLERANCE
    assert not kernel_calls  # on CUDA the deploy form runs its plain NCHW ops


@pytest.fixture(scope='module')
def xs_forms():
    model, _, _ = golden_model('xs_dense')
    model = model.cuda()
    return model, copy.deepcopy(model).switch_to_deploy()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16], ids=['fp16', 'bf16'])
@pytest.mark.parametrize('deploy', [False, True], ids=['train_form', 'deploy'])
def test_autocast_outputs_are_finite_and_close_to_fp32(xs_forms, deploy, dtype, full_fp32):
    model = xs_forms[deploy]
    x = torch.rand(2, 3, 224, 320, device='cuda')
    with torch.no_grad():
        reference = model(x)
        with torch.autocast('cuda', dtype=dtype):
            outputs = model(x)
    for out, ref in zip(outputs, reference):
        assert torch.isfinite(out).all()
        relative = ((out.float() - ref).abs().max() / ref.abs().max()).item()
        assert 1e-6 < relative < AUTOCAST_TOLERANCE[dtype]  # rounded, not fp32 and not garbage


def test_with_cp_gives_the_same_gradients_on_cuda(full_fp32):
    torch.manual_seed(0)
    arch = dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40])
    plain = SwiftFormer(arch=arch).cuda().train()
    checkpointed = SwiftFormer(arch=arch, with_cp=True).cuda().train()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 96, 64, device='cuda')
    weights = [torch.randn(shape, device='cuda') for shape in
               [(2, 16, 24, 16), (2, 24, 12, 8), (2, 32, 6, 4), (2, 40, 3, 2)]]
    for model in (plain, checkpointed):
        sum((out * w).sum() for out, w in zip(model(x), weights)).backward()
    # a bias right before a training-mode BN (stem.0.bias, the dwconv biases) has a true gradient
    # of 0, computed as rounding noise that cuDNN's algorithms vary from run to run (a fixed
    # atol of 1e-4 failed once on stem.0.bias); compare every gradient at the scale of the largest
    scale = max(param.grad.abs().max().item() for param in plain.parameters())
    grads = dict(checkpointed.named_parameters())
    for name, param in plain.named_parameters():
        torch.testing.assert_close(param.grad, grads[name].grad, rtol=1e-4, atol=1e-5 * scale, msg=name)


def test_amp_training_steps_stay_finite_with_batchnorm_in_fp32():
    torch.manual_seed(0)
    model = SwiftFormer(arch='xs', drop_path_rate=0.1).cuda().train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=1e-4)
    scaler = torch.amp.GradScaler('cuda')
    for _ in range(4):
        x = torch.randn(4, 3, 128, 160, device='cuda')
        with torch.autocast('cuda', dtype=torch.float16):
            outputs = model(x)
            loss = sum(out.float().square().mean() for out in outputs)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        assert torch.isfinite(loss)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:  # parameters and running statistics are kept in fp32, and finite
        for tensor in (norm.weight, norm.bias, norm.running_mean, norm.running_var):
            assert tensor.dtype == torch.float32 and torch.isfinite(tensor).all()
    assert all(torch.isfinite(p).all() for p in model.parameters())


# --- the fast inference mode (swiftformer_mm.ops: compiled, cuda_graphs, fast_inference) -----


@pytest.mark.parametrize('compile', [False, True], ids=['eager_kernels', 'compiled'])
@pytest.mark.parametrize('case', ['tiny_dense', 'xs_dense'])
def test_cuda_graphs_reproduce_the_golden_outputs_and_eager(case, compile, full_fp32):
    """The graphs replay the deploy form's own kernels, or with ``compile`` Inductor's."""
    from swiftformer_mm.ops.compiled import CompiledForward
    from swiftformer_mm.ops.cuda_graphs import GraphedForward
    torch._dynamo.reset()
    model, golden, _ = golden_model(case)
    model = model.cuda().switch_to_deploy()
    shapes = len({tuple(s['input'].shape) for s in golden['cases']})
    graphed = GraphedForward(CompiledForward(model, shapes) if compile else model, max_shapes=shapes)
    for sample in golden['cases']:
        x = sample['input'].cuda()
        with torch.no_grad():
            replayed, eager = graphed(x), model(x)
        assert golden_error(replayed, sample['outputs']) < TOLERANCE
        # the eager kernels replay bit for bit; Inductor's may sum in another order
        assert max((a - b).abs().max().item() for a, b in zip(replayed, eager)) < (TOLERANCE if compile else 1e-5)
    assert len(graphed.graphs) == len({tuple(s['input'].shape) for s in golden['cases']})


def test_cuda_graphs_beyond_the_bound_run_eagerly_and_replays_see_new_inputs(xs_forms):
    from swiftformer_mm.ops.cuda_graphs import GraphedForward
    _, deploy = xs_forms
    graphed = GraphedForward(deploy, max_shapes=2)
    with torch.no_grad():
        for shape in [(1, 3, 224, 224), (1, 3, 256, 320), (1, 3, 224, 224), (2, 3, 224, 224)]:
            x = torch.randn(shape, device='cuda')
            for got, expected in zip(graphed(x), deploy(x)):
                torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
        with torch.autocast('cuda', dtype=torch.float16):  # another key: its own graph would be a third
            x = torch.randn(1, 3, 224, 224, device='cuda')
            for got, expected in zip(graphed(x), deploy(x)):
                torch.testing.assert_close(got.float(), expected.float(), rtol=1e-2, atol=1e-2)
    assert len(graphed.graphs) == 2


def test_a_graph_captured_under_autocast_makes_its_own_weight_casts(xs_forms):
    """Autocast caches weight casts within a region and frees them at its end; a graph that read
    the cache would replay on freed memory, reused by the next allocations."""
    from swiftformer_mm.ops.cuda_graphs import GraphedForward
    _, deploy = xs_forms
    graphed = GraphedForward(deploy)
    x = torch.randn(1, 3, 224, 224, device='cuda')
    with torch.no_grad():
        with torch.autocast('cuda', dtype=torch.float16):
            graphed(x)  # captured here
        torch.cuda.empty_cache()
        clutter = [torch.full((1 << 20, ), 1e4, device='cuda') for _ in range(64)]  # reuses freed blocks
        with torch.autocast('cuda', dtype=torch.float16):
            replayed, eager = graphed(x), deploy(x)
    del clutter
    assert len(graphed.graphs) == 1
    for got, want in zip(replayed, eager):
        torch.testing.assert_close(got.float(), want.float(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize('compile', [False, True], ids=['eager_kernels', 'compiled'])
def test_fast_inference_run_backbone_and_neck_as_one_graph(xs_forms, compile, full_fp32):
    # full fp32: with PyTorch's default TF32 convolutions, eager and Inductor's kernels round
    # differently (3.3e-3 apart on an H200, 2026-12-04)
    from swiftformer_mm.ops.compiled import CompiledForward
    from swiftformer_mm.ops.cuda_graphs import GraphedForward
    from swiftformer_mm.ops.fast_inference import fast_inference
    torch._dynamo.reset()  # compilations of Sequential.forward in other tests count towards the limit

    class Neck(nn.Module):  # one 1x1 convolution per map, as an FPN's lateral convolutions
        def __init__(self, widths):
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv2d(w, 8, 1) for w in widths)

        def forward(self, maps):
            return tuple(conv(m) for conv, m in zip(self.convs, maps))

    class Detector(nn.Module):
        def __init__(self, backbone):
            super().__init__()
            self.backbone, self.neck = backbone, Neck(backbone.widths)

        def extract_feat(self, x):  # as mmdet's and mmseg's
            return self.neck(self.backbone(x))

    _, deploy = xs_forms
    model = Detector(copy.deepcopy(deploy)).cuda().eval()
    x = torch.randn(1, 3, 224, 320, device='cuda')
    with torch.no_grad():
        expected = model.extract_feat(x)
        assert fast_inference(model, compile=compile, cuda_graphs=True)
        assert isinstance(model.backbone, GraphedForward) and isinstance(model.neck, nn.Identity)
        assert isinstance(model.backbone.module, CompiledForward) == compile
        for _ in range(2):
            for got, want in zip(model.extract_feat(x), expected):
                torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert len(model.backbone.graphs) == 1
