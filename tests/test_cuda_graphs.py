"""``swiftformer_mm.ops.cuda_graphs``: what of the CUDA-graph mode a CPU can check.

The graphs themselves need a GPU (tests/test_cuda.py captures and replays them); here the
dispatch (eager off CUDA or under autograd), the per-shape bookkeeping and its bound are
checked with the capture step replaced by one that runs the module eagerly into the buffers.
"""

import pytest
import torch

from conftest import SMALL_ARCH, run_shapes
from swiftformer_mm import SwiftFormer
from swiftformer_mm.ops import cuda_graphs
from swiftformer_mm.ops.cuda_graphs import GraphedForward


def test_off_cuda_it_is_the_module_itself(deploy_backbone):
    graphed = GraphedForward(deploy_backbone)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for got, expected in zip(graphed(x), deploy_backbone(x)):
            assert torch.equal(got, expected)
    assert not graphed.graphs  # nothing captured on a CPU


@pytest.fixture
def replayed(monkeypatch):
    """Every tensor counts as a CUDA one; "capturing" runs the module, "replaying" reruns it
    into the same buffers. Returns the shapes captured."""
    captured = []

    def capture(module, sample):
        captured.append(tuple(sample.shape))
        static_input = sample.clone()
        static_output = module(static_input)

        def replay():
            for buffer, value in zip(static_output, module(static_input)):
                buffer.copy_(value)
        return static_input, static_output, replay

    monkeypatch.setattr(cuda_graphs, 'applies', lambda x: not torch.is_grad_enabled())
    monkeypatch.setattr(cuda_graphs, 'capture', capture)
    return captured


def test_one_graph_per_shape_at_most_max_shapes_then_eager_with_one_log_line(deploy_backbone, replayed):
    graphed = GraphedForward(deploy_backbone, max_shapes=2)
    shapes = [(1, 3, 64, 96), (1, 3, 96, 64), (1, 3, 64, 96), (2, 3, 64, 96), (1, 3, 32, 32)]
    messages = run_shapes(graphed, deploy_backbone, shapes)
    assert replayed == [(1, 3, 64, 96), (1, 3, 96, 64)]  # the repeated shape was replayed, not captured
    assert len(graphed.graphs) == 2
    warnings = [message for message in messages if 'run eagerly' in message]
    assert len(warnings) == 1 and '2 input shapes captured; shape (2, 3, 64, 96)' in warnings[0]


def test_outputs_are_copies_of_the_graphs_buffers(deploy_backbone, replayed):
    x = torch.randn(1, 3, 64, 64)
    graphed = GraphedForward(deploy_backbone)
    with torch.no_grad():
        first, second = graphed(x), graphed(x)  # one graph, replayed twice
    assert len(graphed.graphs) == 1
    assert not any(a.data_ptr() == b.data_ptr() for a, b in zip(first, second))
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_autograd_runs_eagerly(deploy_backbone, replayed):
    train_form = SwiftFormer(arch=SMALL_ARCH).eval()
    graphed = GraphedForward(train_form)
    outputs = graphed(torch.randn(1, 3, 32, 32))
    sum(o.mean() for o in outputs).backward()
    assert not graphed.graphs and not replayed
    with pytest.raises(ValueError, match='max_shapes must be at least 1'):
        GraphedForward(deploy_backbone, max_shapes=0)


def test_fast_inference_leave_a_model_off_cuda_without_graphs(deploy_backbone):
    from swiftformer_mm.ops.fast_inference import fast_inference
    model = torch.nn.Module()
    model.backbone, model.neck = deploy_backbone, torch.nn.Conv2d(40, 8, 1)
    assert not fast_inference(model, cuda_graphs=True)
    assert model.backbone is deploy_backbone and isinstance(model.neck, torch.nn.Conv2d)
