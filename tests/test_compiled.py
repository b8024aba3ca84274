"""``swiftformer_mm.ops.compiled`` and ``ops.fast_inference`` on a CPU.

``torch.compile`` runs on any device, so here the compiled path runs for real (Inductor's C++
backend, about a minute for the first compilation on the 2-core machine); the shape bookkeeping
is checked with the compiled function replaced by a recorder. CUDA graphs of compiled code are
checked in tests/test_cuda.py.
"""
import functools

import pytest
import torch
import torch._dynamo

from conftest import REPO_ROOT, run_shapes
from swiftformer_mm.ops.compiled import CompiledForward
from swiftformer_mm.ops.fast_inference import FeaturesThenHead, fast_inference


def test_the_compiled_deploy_form_equals_eager_and_compiles_once_per_shape(deploy_backbone):
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = CompiledForward(deploy_backbone)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        first, second, expected = compiled(x), compiled(x), deploy_backbone(x)
    for got in (first, second):
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert torch._dynamo.utils.counters['stats']['unique_graphs'] == 1
    assert len(compiled.budget.keys) == 1
    assert compiled.state_dict().keys() == {f'module.{k}' for k in deploy_backbone.state_dict()}


@pytest.fixture
def recorded(deploy_backbone):
    """A CompiledForward of at most two shapes whose "compiled" function runs the module and
    records the shapes it was called with."""
    calls = []
    compiled = CompiledForward(deploy_backbone, max_shapes=2)

    def run(x):
        calls.append(tuple(x.shape))
        return deploy_backbone(x)
    compiled.compiled = run
    return compiled, calls


def test_at_most_max_shapes_compiled_then_eager_with_one_log_line(deploy_backbone, recorded):
    compiled, calls = recorded
    shapes = [(1, 3, 64, 96), (1, 3, 96, 64), (1, 3, 64, 96), (2, 3, 64, 96), (1, 3, 32, 32)]
    messages = run_shapes(compiled, deploy_backbone, shapes)
    assert calls == [(1, 3, 64, 96), (1, 3, 96, 64), (1, 3, 64, 96)]  # new shapes beyond two: eager
    warnings = [message for message in messages if 'run eagerly' in message]
    assert len(warnings) == 1 and '2 input shapes compiled; shape (2, 3, 64, 96)' in warnings[0]


def test_autograd_runs_the_module_itself(recorded):
    compiled, calls = recorded
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    sum(o.mean() for o in compiled(x)).backward()
    assert x.grad is not None and not calls and not compiled.budget.keys


def test_each_instance_has_its_own_budget_of_compilations(monkeypatch):
    """Dynamo counts its recompile limit per code object: two models compiled in one process
    (two ``init_model(compile=True)``) must not share it, or the second runs eagerly unsaid."""
    monkeypatch.setattr(torch, 'compile', functools.partial(torch.compile, backend='eager'))  # no Inductor: fast
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    with torch._dynamo.config.patch(recompile_limit=2), torch.no_grad():
        for model in [CompiledForward(torch.nn.Conv2d(3, 4, 1), max_shapes=2) for _ in range(2)]:
            for side in (8, 9):
                model(torch.randn(1, 3, side, side))
    assert torch._dynamo.utils.counters['stats']['unique_graphs'] == 4


def test_max_shapes_within_dynamos_recompile_limit(deploy_backbone):
    limit = torch._dynamo.config.recompile_limit
    for bad in (0, limit + 1):
        with pytest.raises(ValueError, match='max_shapes must be between 1 and'):
            CompiledForward(deploy_backbone, max_shapes=bad)


def test_fast_inference_compile_backbone_and_neck_as_one_module_on_a_cpu(deploy_backbone):
    model = torch.nn.Module()
    neck = torch.nn.Conv2d(40, 8, 1)
    model.backbone, model.neck = deploy_backbone, neck
    assert not fast_inference(model)  # nothing asked: nothing changed
    assert fast_inference(model, compile=True, cuda_graphs=True)  # no graphs off CUDA; compiled
    assert isinstance(model.backbone, CompiledForward) and isinstance(model.neck, torch.nn.Identity)
    features = model.backbone.module
    assert list(features) == [deploy_backbone, neck]


@pytest.fixture
def segmentor():
    """The demo Semantic FPN (SwiftFormer-XS, FPN neck, FPN head), random weights, deploy form."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from swiftformer_mm import switch_to_deploy
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(str(REPO_ROOT / 'configs' / 'demo' / 'fpn_swiftformer_xs_shapes.py')).model)
    return switch_to_deploy(model.eval())


def _seg_samples(n, shape):
    from mmseg.structures import SegDataSample
    return [SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape)) for _ in range(n)]


def _same_predictions(got, expected):
    for a, b in zip(got, expected):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data, rtol=1e-5, atol=1e-5)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


def test_fast_inference_takes_a_segmentors_decode_head_into_the_compiled_part(segmentor, monkeypatch):
    """For an mmseg EncoderDecoder the decode head's layers run in the compiled module too; its
    ``predict`` then only resizes the logits, and the segmentor predicts what it did before."""
    monkeypatch.setattr(torch, 'compile', functools.partial(torch.compile, backend='eager'))  # no Inductor: fast
    torch._dynamo.reset()
    keys = segmentor.state_dict().keys()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        expected = segmentor.predict(x, _seg_samples(2, (64, 96)))
        segmentor.decode_head.train()  # the mode puts it in eval mode: BatchNorm and dropout as in inference
        assert fast_inference(segmentor, compile=True)
        assert not segmentor.decode_head.training
        got = segmentor.predict(x, _seg_samples(2, (64, 96)))
    assert isinstance(segmentor.backbone, CompiledForward) and isinstance(segmentor.neck, torch.nn.Identity)
    assert isinstance(segmentor.backbone.module, FeaturesThenHead)
    assert len(segmentor.backbone.budget.keys) == 1
    logits = torch.randn(1, 4, 8, 8)
    assert segmentor.decode_head(logits) is logits  # the head's layers ran in the compiled module
    _same_predictions(got, expected)
    # each weight once: the head stays registered under the segmentor alone
    renamed = {k.replace('backbone.module.features.0.', 'backbone.').replace('backbone.module.features.1.', 'neck.')
               for k in segmentor.state_dict()}
    assert renamed == set(keys)
    with pytest.raises(ValueError, match='already runs in the fast inference mode: its backbone is a CompiledForward'):
        fast_inference(segmentor, compile=True)  # a second call would run the head's layers on the logits


def test_a_decode_head_that_predicts_its_own_way_stays_eager(segmentor, monkeypatch):
    """A head with a ``predict`` of its own (MaskFormer's, Mask2Former's read the data samples too)
    is left out of the fast part: backbone and neck only."""
    monkeypatch.setattr(torch, 'compile', functools.partial(torch.compile, backend='eager'))
    torch._dynamo.reset()
    head_class = type(segmentor.decode_head)
    segmentor.decode_head.__class__ = type('OwnPredictHead', (head_class, ), {
        'predict': lambda self, inputs, metas, cfg: head_class.predict(self, inputs, metas, cfg)})
    x = torch.randn(1, 3, 64, 96)
    backbone, neck = segmentor.backbone, segmentor.neck
    with torch.no_grad():
        expected = segmentor.predict(x, _seg_samples(1, (64, 96)))
        assert fast_inference(segmentor, compile=True)
        got = segmentor.predict(x, _seg_samples(1, (64, 96)))
    assert list(segmentor.backbone.module) == [backbone, neck]
    assert not isinstance(segmentor.backbone.module, FeaturesThenHead)
    assert 'forward' not in vars(segmentor.decode_head)  # its own forward, not the pass-through
    _same_predictions(got, expected)
