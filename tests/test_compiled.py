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

from conftest import run_shapes
from swiftformer_mm.ops.compiled import CompiledForward
from swiftformer_mm.ops.fast_inference import fast_features


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


def test_fast_features_compile_backbone_and_neck_as_one_module_on_a_cpu(deploy_backbone):
    model = torch.nn.Module()
    neck = torch.nn.Conv2d(40, 8, 1)
    model.backbone, model.neck = deploy_backbone, neck
    assert not fast_features(model)  # nothing asked: nothing changed
    assert fast_features(model, compile=True, cuda_graphs=True)  # no graphs off CUDA; compiled
    assert isinstance(model.backbone, CompiledForward) and isinstance(model.neck, torch.nn.Identity)
    features = model.backbone.module
    assert list(features) == [deploy_backbone, neck]
