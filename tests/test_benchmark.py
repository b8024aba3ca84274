"""``tools/analysis_tools/benchmark.py`` and ``swiftformer_mm.benchmark``: every row, mode and output.

The figures themselves depend on the machine and belong to the benchmark's
output, not to assertions; these tests check that every model is timed in
every pass asked for, that the speed-ups are computed from the measured rows,
that missing packages skip their rows with a note, and that the JSON, table
and PNG are written. Tiny runs: XS at 64x64, two rounds.
"""
import importlib.util
import json
import os
import subprocess
import sys
import types

import pytest
import torch
import torch.nn as nn

from conftest import REPO_ROOT, tool_command, tool_env
from swiftformer_mm.benchmark import main
from swiftformer_mm.benchmark.breakdown import HEAVIEST, KINDS, _device_ms, kind_of, short_kernel_name
from swiftformer_mm.benchmark.timing import output_maps
from swiftformer_mm.benchmark.peers import TorchvisionTrunk

TINY = ['--arch', 'xs', '--sizes', '64x64', '--reps', '2', '--warmup', '1', '--threads', '1', '--batch', '2',
        '--train-batch', '2', '--matmul-size', '256']
SF = 'SwiftFormer-XS'
SF_ROWS = {(SF, 'train form'), (SF, 'deploy')}
ONNX_ROW = (SF, 'deploy, onnxruntime')
HF_ROW = ('HF SwiftFormer-XS', 'transformers')
HAVE_HF = importlib.util.find_spec('transformers') is not None  # requirements.txt installs it: its row must run
TIMM_ROW = ('timm SwiftFormer-XS', 'timm')
HAVE_TIMM = importlib.util.find_spec('timm') is not None  # not in requirements.txt: its row runs where installed
PEER_ROWS = {row for row, have in ((HF_ROW, HAVE_HF), (TIMM_ROW, HAVE_TIMM)) if have}
PEER_KEYS = {key for key, have in (('hf', HAVE_HF), ('timm', HAVE_TIMM)) if have}
OPTIONAL = ('mmcv', 'mmdet', 'mmseg', 'onnxruntime', 'onnx', 'transformers', 'timm', 'torchvision', 'matplotlib')
PASS_FIELDS = {'latency': 'latency_ms', 'throughput': 'throughput_img_s', 'train': 'train_ms'}


def by_key(report, dtype='fp32'):
    return {(r['model'], r['variant']): r for r in report['results'] if r['dtype'] == dtype}


def check_rows(report, passes=('latency', 'throughput', 'train')):
    """Every row has its passes' figures; every SwiftFormer row its speed-ups over every peer."""
    rows = report['results']
    for row in rows:
        assert row['size'] == [64, 64] and row['params_m'] > 0
        form = row['variant'].removesuffix(', channels-last')
        trainable = form not in ('deploy', 'deploy, onnxruntime', 'deploy+compile', 'timm, compiled (reduce-overhead)')
        for name, field in PASS_FIELDS.items():
            assert (field in row) == (name in passes and (name != 'train' or trainable)), (row['model'], name)
        if 'latency_ms' in row:
            lat = row['latency_ms']
            assert 0 < lat['min'] <= lat['q1'] <= lat['median'] <= lat['q3'] <= lat['max'] and lat['reps'] == 2
            assert isinstance(row['infer_page_faults'], int) and row['infer_page_faults'] >= 0
        if 'train_ms' in row:
            assert row['train_ms']['median'] > 0 and row['train_peak_mib'] > 0
    peers = {row['peer'] for row in rows if row['peer']}
    for row in rows:  # the ratios' arithmetic: test_speedups_compare_rows_measured_alike
        if row['peer'] is None:
            assert set(row['speedup']) <= peers, row['variant']
            assert all(ratio > 0 for ratios in row['speedup'].values() for ratio in ratios.values())
        else:
            assert 'speedup' not in row
    return by_key(report)


def test_speedups_compare_rows_measured_alike():
    from swiftformer_mm.benchmark.ratios import add_ratios

    def row(peer, arch='xs', size=(64, 64), layout='nchw', latency=None, img_s=None, train=None):
        figures = dict(latency_ms=latency and {'median': latency}, throughput_img_s=img_s,
                       train_ms=train and {'median': train})
        return dict(peer=peer, arch=arch, size=list(size), dtype='fp32', layout=layout,
                    **{k: v for k, v in figures.items() if v is not None})

    train_form, deploy = row(None, latency=5.0, img_s=40.0, train=20.0), row(None, latency=4.0, img_s=50.0)
    rows = [train_form, deploy,
            row('hf', latency=10.0, img_s=20.0, train=30.0),  # twice as slow to infer, 1.5x to train
            row('r50', arch=None, latency=4.0, img_s=80.0),  # compared with every arch; no training step
            row('timm', size=(32, 32), latency=1.0),  # another input size
            row('timm+compile', arch='s', latency=1.0),  # another arch
            row('timm', layout='channels-last', latency=1.0)]  # another layout
    add_ratios(rows)
    assert train_form['speedup'] == {'hf': {'latency': 2.0, 'throughput': 2.0, 'train': 1.5},
                                     'r50': {'latency': 0.8, 'throughput': 0.5}}
    assert deploy['speedup'] == {'hf': {'latency': 2.5, 'throughput': 2.5},
                                 'r50': {'latency': 1.0, 'throughput': 0.625}}
    assert all('speedup' not in r for r in rows[2:])


def test_tool_times_every_row_and_writes_json_and_png(tmp_path):
    out, png = tmp_path / 'bench.json', tmp_path / 'bench.png'
    env = tool_env({'PYTHONPATH': os.pathsep.join([str(REPO_ROOT), os.environ.get('PYTHONPATH', '')])})
    result = subprocess.run(tool_command('analysis_tools/benchmark.py', *TINY, '--out-json', out, '--out-png', png),
                            capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = check_rows(report)
    assert set(rows) == SF_ROWS | {ONNX_ROW, ('ResNet-50', 'mmdet')} | PEER_ROWS
    assert set(rows[(SF, 'deploy')]['speedup']) == {'r50'} | PEER_KEYS
    for row in rows.values():  # MACs counted: once per way of computing
        assert row['gmacs'] > 0 and row['matmul_fraction'] > 0
    assert rows[ONNX_ROW]['gmacs'] == rows[(SF, 'deploy')]['gmacs']
    assert rows[ONNX_ROW]['infer_peak_mib'] is None  # onnxruntime allocates outside torch
    assert png.stat().st_size > 0
    assert any(note.startswith('timm SwiftFormer-XS: skipped') for note in report['notes']) != HAVE_TIMM
    # its 'nchw' rows are the weights' layout: on a CPU the training form computes in channels-last
    assert any(note.startswith("this project's training form computes in channels-last") for note in report['notes'])
    machine = report['machine']
    assert machine['threads'] == 1 and machine['timer'] == 'time.perf_counter'
    assert set(machine['precision']) == {'cuda_matmul_allow_tf32', 'cudnn_allow_tf32', 'float32_matmul_precision',
                                         'cudnn_benchmark'}
    assert '--arch xs --sizes 64x64' in report['command'] and 'precision: cuda_matmul_allow_tf32=' in result.stdout
    assert '| 64x64 | fp32 | SwiftFormer-XS | deploy |' in result.stdout


def test_imports_with_torch_mmengine_numpy_only():
    code = (f'import sys; sys.modules.update(dict.fromkeys({OPTIONAL!r})); import swiftformer_mm.benchmark; '
            "print(sorted(m for m in sys.modules if m.startswith('swiftformer_mm.')))")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=REPO_ROOT,
                            env=tool_env({'PYTHONPATH': str(REPO_ROOT)}))
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = result.stdout
    assert 'swiftformer_mm.benchmark.cli' in loaded and 'swiftformer_mm.cli' not in loaded
    assert 'swiftformer_mm.export' not in loaded  # imported only for the onnxruntime row


def block(monkeypatch, *names):
    """Importing any of the packages ``names`` now raises ImportError, their submodules included
    (an earlier test may have imported ``mmdet.models``, which Python would reuse)."""
    for name in names:
        for loaded in [key for key in sys.modules if key == name or key.startswith(name + '.')] + [name]:
            monkeypatch.setitem(sys.modules, loaded, None)


def test_runs_with_torch_mmengine_numpy_only(monkeypatch, tmp_path, capsys):
    block(monkeypatch, *OPTIONAL, 'swiftformer_mm.cli')
    report = main(TINY + ['--passes', 'latency', '--no-macs', '--out-png', str(tmp_path / 'b.png')])
    rows = check_rows(report, passes=('latency', ))
    assert set(rows) == SF_ROWS
    notes = report['notes']
    for skipped in ('HF SwiftFormer-XS', 'timm SwiftFormer-XS', 'ResNet-50', 'deploy, onnxruntime'):
        assert sum(f'{skipped}: skipped' in note for note in notes) == 1, skipped
    resnet = next(note for note in notes if note.startswith('ResNet-50'))
    assert 'mmdet' in resnet and 'torchvision' in resnet
    assert any('matplotlib' in note for note in notes) and not (tmp_path / 'b.png').exists()
    # --no-macs: no count, and '-' in the table's GMACs and matmul-rate columns
    assert all(r['gmacs'] is None and r['matmul_fraction'] is None for r in rows.values())
    assert '| 64x64 | fp32 | SwiftFormer-XS | deploy | - | ' in capsys.readouterr().out


class FourMaps(nn.Module):
    """Stands in for timm's and torchvision's models: four maps of strides 4 to 32."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c_in, 8, 3, stride=4 if i == 0 else 2, padding=1)
                                   for i, c_in in enumerate((3, 8, 8, 8)))

    def forward(self, x):
        outs = []
        for conv in self.convs:
            x = conv(x)
            outs.append(x)
        return outs


def fake_timm(monkeypatch) -> list:
    """Installs a ``timm`` whose models are :class:`FourMaps`; returns its create_model calls."""
    calls = []
    timm = types.ModuleType('timm')

    def create_model(name, **kwargs):
        calls.append((name, kwargs))
        return FourMaps()

    timm.create_model = create_model
    monkeypatch.setitem(sys.modules, 'timm', timm)
    return calls


def test_timm_and_torchvision_peers_are_wired(monkeypatch):

    class FakeResNet(nn.Module):  # torchvision's attribute names
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1, self.relu = nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1, self.layer2, self.layer3, self.layer4 = (nn.Conv2d(8, 8, 3, s, 1) for s in (1, 2, 2, 2))
            self.fc = nn.Linear(8, 10)  # not part of the trunk

    torchvision = types.ModuleType('torchvision')
    torchvision.models = types.ModuleType('torchvision.models')
    torchvision.models.resnet50 = FakeResNet
    block(monkeypatch, 'torchvision', 'mmdet', 'transformers', 'onnxruntime')
    calls = fake_timm(monkeypatch)
    for name, module in (('torchvision', torchvision), ('torchvision.models', torchvision.models)):
        monkeypatch.setitem(sys.modules, name, module)
    report = main(TINY + ['--no-macs'])
    rows = check_rows(report)
    assert set(rows) == SF_ROWS | {TIMM_ROW, ('ResNet-50', 'torchvision')}
    assert calls and all(c == ('swiftformer_xs', dict(pretrained=False, features_only=True)) for c in calls)
    for key in SF_ROWS:
        assert set(rows[key]['speedup']) == {'timm', 'r50'}
    assert set(rows[(SF, 'train form')]['speedup']['r50']) == {'latency', 'throughput', 'train'}
    trunk_params = sum(p.numel() for name, p in FakeResNet().named_parameters() if not name.startswith('fc'))
    assert rows[('ResNet-50', 'torchvision')]['params_m'] == pytest.approx(trunk_params / 1e6)
    maps = TorchvisionTrunk(FakeResNet())(torch.rand(1, 3, 64, 64))
    assert [m.shape[-1] for m in maps] == [16, 8, 4, 2]  # strides 4 to 32


def test_autocast_rows_measure_their_deviation_and_fp16_is_skipped_on_cpu():
    report = main(TINY + ['--no-peers', '--no-macs', '--passes', 'latency', '--dtypes', 'fp32', 'fp16', 'bf16'])
    assert {r['dtype'] for r in report['results']} == {'fp32', 'bf16'}
    assert 'fp16 skipped: autocast to fp16 is for CUDA' in report['notes']
    for row in report['results']:
        if row['dtype'] == 'fp32':
            assert 'max_rel_dev' not in row
        elif row['variant'] != 'deploy, onnxruntime':
            # bf16 keeps 8 bits of mantissa: visibly different from fp32, yet close to it
            assert 1e-5 < row['max_rel_dev'] < 0.1, row['variant']
    assert ONNX_ROW not in by_key(report, 'bf16')  # onnxruntime runs fp32 only


def test_cuda_graph_row_is_wired_and_skipped_with_a_note_off_cuda():
    from swiftformer_mm.benchmark.candidates import in_channels_last, swiftformer_candidates
    from swiftformer_mm.benchmark.measure import measure
    from swiftformer_mm.benchmark.report import markdown_table
    from swiftformer_mm.ops.compiled import CompiledForward
    from swiftformer_mm.ops.cuda_graphs import GraphedForward
    report = main(TINY + ['--cuda-graphs', '--no-peers', '--passes', 'latency', '--no-macs'])
    assert f'{SF} deploy, CUDA graphs: skipped (CUDA only; this run is on cpu)' in report['notes']
    assert (SF, 'deploy, CUDA graphs') not in check_rows(report, passes=('latency', ))
    # the row a CUDA run gets: the deploy form inside GraphedForward, its first calls (captures) timed
    notes = []
    [graphed] = [c for c in swiftformer_candidates('xs', 'cuda', notes, with_onnx=False, with_cuda_graphs=True)
                 if c.cuda_graphs]
    assert isinstance(graphed.build(), GraphedForward) and graphed.build().module.deploy and not notes
    [row] = measure([graphed], (64, 64), torch.device('cpu'), 'fp32', ['latency'], 2, 2, 2, 1)
    assert row['variant'] == 'deploy, CUDA graphs' and row['compile_s'] > 0 and row['latency_ms']['median'] > 0
    assert 'deploy, CUDA graphs (capture ' in markdown_table([row])
    # with --compile too: the fast inference mode of tools/test.py, the graphs of the compiled kernels
    rows = swiftformer_candidates('xs', 'cuda', notes, with_onnx=False, with_compile=True, with_cuda_graphs=True)
    [fast] = [c for c in rows if c.variant == 'deploy+compile, CUDA graphs']
    built = fast.build()
    assert isinstance(built, GraphedForward) and isinstance(built.module, CompiledForward)
    assert built.module.module.deploy and not fast.compile  # compiled by CompiledForward, not again
    row = dict(row, variant=fast.variant)
    assert 'deploy+compile, CUDA graphs (compile+capture ' in markdown_table([row])
    row = dict(row, variant=in_channels_last(fast).variant)  # the layout's suffix keeps the label
    assert 'deploy+compile, CUDA graphs, channels-last (compile+capture ' in markdown_table([row])


def test_compile_times_the_compiled_forms_and_reports_compile_times(monkeypatch, capsys):
    compiled, settings = [], []

    def record_compile(model, **kwargs):  # a real compile takes minutes; the wiring is tested
        compiled.append(model)
        settings.append((torch._dynamo.config.recompile_limit, torch._dynamo.config.fail_on_recompile_limit_hit))
        return model

    monkeypatch.setattr(torch, 'compile', record_compile)
    block(monkeypatch, 'onnxruntime')
    report = main(TINY + ['--compile', '--no-peers'])
    # rows of several forms, shapes, dtypes and passes compile one forward: not limited to dynamo's
    # default of 8 recompilations, and a row past the limit stops the run instead of running eagerly
    assert set(settings) == {(64, True)}
    assert (torch._dynamo.config.recompile_limit, torch._dynamo.config.fail_on_recompile_limit_hit) == (8, False)
    rows = check_rows(report)
    train_form, deploy = rows[(SF, 'train form+compile')], rows[(SF, 'deploy+compile')]
    assert train_form['compile_s'] > 0 and train_form['train_compile_s'] > 0
    assert deploy['compile_s'] > 0 and 'train_compile_s' not in deploy
    assert train_form['gmacs'] == rows[(SF, 'train form')]['gmacs'] != deploy['gmacs']
    # compiled: the training form for inference, a second one for its training step, the deploy form
    assert [m.training for m in compiled] == [False, True, False]
    params = [sum(p.numel() for p in m.parameters()) for m in compiled]
    assert params[0] == params[1] > params[2]  # the deploy form's norms are folded away
    assert 'train form+compile (compile ' in capsys.readouterr().out


def test_compile_also_times_timm_in_its_best_compiled_form(monkeypatch):
    modes = []

    def record_compile(model, **kwargs):
        modes.append((type(model).__name__, kwargs.get('mode')))
        return model

    monkeypatch.setattr(torch, 'compile', record_compile)
    block(monkeypatch, 'transformers', 'onnxruntime', 'mmdet', 'torchvision')
    fake_timm(monkeypatch)
    rows = check_rows(main(TINY + ['--compile', '--passes', 'latency', 'train']), passes=('latency', 'train'))
    compiled_timm = rows[('timm SwiftFormer-XS', 'timm, compiled (reduce-overhead)')]
    assert ('FourMaps', 'reduce-overhead') in modes and 'train_ms' not in compiled_timm  # inference only
    for key in ((SF, 'deploy'), (SF, 'deploy+compile')):
        assert set(rows[key]['speedup']) == {'timm', 'timm+compile'}


def test_breakdown_sorts_the_time_of_every_pass_into_kinds(monkeypatch):
    assert [kind_of(op) for op in ('aten::addmm', 'aten::bmm', 'aten::convolution_backward',
                                   'aten::mkldnn_convolution', 'aten::gelu_backward',
                                   'aten::native_batch_norm', 'aten::add_')] == [
        'matrix products', 'matrix products', 'convolutions', 'convolutions', 'GELU', 'batch norm', 'other']
    block(monkeypatch, 'transformers', 'timm')  # SwiftFormer's rows only
    report = main(['--mode', 'breakdown', '--profiled-reps', '2', '--passes', 'latency', 'train'] + TINY)
    results = {(r['model'], r['variant'], r['pass']): r for r in report['results']}
    assert set(results) == {(SF, 'train form', 'forward b1'), (SF, 'deploy', 'forward b1'),
                            (SF, 'train form', 'training step b2')}
    for key, result in results.items():
        assert set(result['ms']) == set(KINDS) and result['profiled_reps'] == 2
        assert result['profiled_ms'] == pytest.approx(sum(result['ms'].values()))
        assert result['timed_ms']['median'] > 0
        # the attention's linear layers are matrix products in both forms
        assert result['ms']['matrix products'] > 0 and result['product_gmacs_per_s'] > 0, key
        # the heaviest ATen ops, heaviest first, each within the profiled total
        names, ms = zip(*result['heaviest'])
        assert len(names) == HEAVIEST and list(ms) == sorted(ms, reverse=True)
        assert all(name.startswith('aten::') for name in names) and sum(ms) <= result['profiled_ms'] + 1e-6
    forward, step = results[(SF, 'train form', 'forward b1')], results[(SF, 'train form', 'training step b2')]
    # backward adds two products per forward product, on twice the images
    assert step['ms']['matrix products'] > forward['ms']['matrix products']
    assert forward['ms']['GELU'] > 0 and step['ms']['GELU'] > forward['ms']['GELU']


def test_breakdown_puts_gpu_kernels_under_the_aten_op_that_launched_them():
    def event(name, parent=None, kernels=()):
        return types.SimpleNamespace(name=name, cpu_parent=parent,
                                     kernels=[types.SimpleNamespace(name=k, duration=d) for k, d in kernels])

    gemm = 'void cutlass::Kernel<cutlass_80_tensorop_s1688gemm_64x64_32x6_tn_align4>(T1::Params)'
    linear = event('aten::linear')
    addmm = event('aten::addmm', linear, [(gemm, 300.0)])
    launch = event('cudaLaunchKernel', addmm, [(gemm, 200.0)])  # a runtime event under the op
    depthwise = ('void at::native::(anonymous namespace)::conv_depthwise2d_grad_weight_kernel<float, float, int>'
                 '(at::GenericPackedTensorAccessor<float const, 4ul>, int, int)')
    conv = event('aten::_conv_depthwise2d', event('aten::conv2d'), [(depthwise, 1000.0)])
    orphan = event('autograd::engine::evaluate_function: X', None, [('elementwise_kernel', 50.0)])  # no ATen op
    profile = types.SimpleNamespace(events=lambda: [linear, addmm, launch, conv, orphan])
    by_kind, by_kernel = _device_ms(profile)
    assert by_kind == {'matrix products': 0.5, 'convolutions': 1.0, 'GELU': 0.0, 'batch norm': 0.0, 'other': 0.05}
    assert by_kernel == {'cutlass::Kernel<cutlass_80_tensorop_s1688gemm_64x64_32x6_tn_align4>': 0.5,
                         'conv_depthwise2d_grad_weight_kernel<float, float, int>': 1.0, 'elementwise_kernel': 0.05}
    assert short_kernel_name('void k<' + 'x' * 200 + '>(int)') == 'k<' + 'x' * 97 + '~'


def test_cold_heap_times_batch_1_latency_next_to_the_peers(monkeypatch):
    block(monkeypatch, 'mmdet')  # keeps the run short: no ResNet-50
    report = main(['--mode', 'cold-heap'] + TINY)
    rows = check_rows(report, passes=('latency', ))
    assert set(rows) == SF_ROWS | PEER_ROWS
    assert all('gmacs' not in r for r in rows.values())  # no trace: it would warm the heap
    assert set(rows[(SF, 'deploy')]['speedup']) == PEER_KEYS


def test_an_existing_output_file_is_refused_before_any_timing(tmp_path, monkeypatch, capsys):
    from swiftformer_mm.benchmark import cli
    earlier = tmp_path / 'earlier.json'
    earlier.write_text('{"results": "of an earlier run"}')
    timed = []
    monkeypatch.setattr(cli, '_table', lambda *args: timed.append(args) or [])
    for flag in ('--out-json', '--out-png'):
        with pytest.raises(SystemExit) as exit_info:
            main(TINY + [flag, str(earlier)])
        assert exit_info.value.code == 2 and not timed
        assert f'{flag} {earlier} already exists; pass --overwrite' in capsys.readouterr().err
    assert earlier.read_text() == '{"results": "of an earlier run"}'
    main(TINY + ['--out-json', str(earlier), '--overwrite'])  # asked for: replaced, whole
    assert len(timed) == 1 and json.loads(earlier.read_text())['settings']['overwrite'] is True


@pytest.mark.parametrize('args, message', [
    (['--mode', 'cold-heap', '--device', 'cuda'], 'cold-heap measures the CPU'),
    (['--mode', 'cold-heap', '--sizes', '64x64', '32x32'], 'one size per process'),
    (['--mode', 'cold-heap', '--passes', 'train'], 'batch-1 latency only'),
    (['--mode', 'breakdown', '--compile'], '--compile is for --mode table'),
    (['--sizes', '64'], 'HEIGHTxWIDTH'),
    (['--reps', '0'], '--reps must be positive'),
])
def test_refuses_what_a_mode_cannot_do(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_sizes_are_height_by_width():
    from swiftformer_mm.utils import parse_size
    assert parse_size('800x1216') == (800, 1216) and parse_size('64X32') == (64, 32)


def odd_sized_maps(channels):
    """Backbone-like maps of a 65x97 input: the coarser maps are not exactly half the finer ones."""
    return [torch.randn(1, c, (65 + 2**i) // 2**(i + 2), (97 + 2**i) // 2**(i + 2)) for i, c in enumerate(channels)]


def test_plain_fpn_computes_what_mmdets_fpn_does():
    from mmdet.models.necks import FPN
    from swiftformer_mm.benchmark.dense_part import PlainFPN
    torch.manual_seed(0)
    channels = (16, 24, 32, 40)
    theirs, ours = FPN(list(channels), 32, num_outs=5).eval(), PlainFPN(channels, 32).eval()
    for name in ('lateral_convs', 'fpn_convs'):
        for their_conv, our_conv in zip(getattr(theirs, name), getattr(ours, name)):
            our_conv.load_state_dict(their_conv.conv.state_dict())
    maps = odd_sized_maps(channels)
    with torch.no_grad():
        expected, got = theirs(maps), ours(maps)
    assert len(got) == len(expected) == 5
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_plain_semantic_fpn_computes_what_mmsegs_fpn_and_head_do(monkeypatch):
    from mmengine.registry import DefaultScope
    from swiftformer_mm.benchmark.dense_part import PlainFPN, PlainFPNHead, dense_part
    torch.manual_seed(0)
    channels = (16, 24, 32, 40)
    notes = []
    with DefaultScope.overwrite_default_scope('mmengine'):  # as an earlier test or a Runner may leave it
        theirs = dense_part('semantic-fpn', notes).build(channels).eval()
    assert notes[0].startswith("neck and head: mmseg's FPN and FPNHead")
    block(monkeypatch, 'mmseg')
    notes = []
    ours = dense_part('semantic-fpn', notes).build(channels).eval()
    assert notes[0].startswith('neck and head: PlainFPN and PlainFPNHead (mmseg does not import')
    assert isinstance(ours[0], PlainFPN) and isinstance(ours[1], PlainFPNHead)
    for module in theirs.modules():  # eval-mode BatchNorms that are not the identity
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5), module.running_var.uniform_(0.5, 2)
    # the same tensors in the same order, under other names (mmseg: ConvModule's conv/bn, and the
    # classifier conv_seg, made first by its base class)
    their_tensors = [v for _, v in sorted(theirs.state_dict().items(), key=lambda item: '.conv_seg.' in item[0])]
    our_state = ours.state_dict()
    assert [v.shape for v in their_tensors] == [v.shape for v in our_state.values()]
    ours.load_state_dict(dict(zip(our_state, their_tensors)))
    maps = odd_sized_maps(channels)
    with torch.no_grad():
        expected, got = theirs(maps), ours(maps)
    assert got.shape == expected.shape == (1, 150, 16, 24)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_the_semantic_fpn_rows_build_the_ade20k_configs_neck_and_head():
    """The benchmark's Semantic FPN is the one the L1 ADE20K config builds (the same tensors)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from swiftformer_mm.benchmark.dense_part import dense_part
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'fpn_swiftformer_l1_ade20k.py'))
    cfg.model.decode_head.norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN's tensors, in one process
    configured = nn.Sequential(MODELS.build(cfg.model.neck), MODELS.build(cfg.model.decode_head))
    benchmarked = dense_part('semantic-fpn', []).build(cfg.model.neck.in_channels)
    assert {k: v.shape for k, v in benchmarked.state_dict().items()} == {
        k: v.shape for k, v in configured.state_dict().items()}
    assert benchmarked[1].dropout.p == configured[1].dropout.p and not benchmarked[1].align_corners


@pytest.mark.parametrize('kind, name, shapes, library_note, plain_note, plain', [
    ('maskrcnn', 'FPN', [(256, 16, 16), (256, 8, 8), (256, 4, 4), (256, 2, 2), (256, 1, 1)],
     "neck: mmdet's FPN (256 channels, 5 levels), as in the Mask R-CNN configs",
     'neck: PlainFPN (mmdet does not import', ['PlainFPN']),
    ('semantic-fpn', 'Semantic FPN', [(150, 16, 16)],
     "neck and head: mmseg's FPN and FPNHead (256 and 128 channels, 150 classes), as in the ADE20K configs",
     'neck and head: PlainFPN and PlainFPNHead (mmseg does not import', ['PlainFPN', 'PlainFPNHead']),
])
def test_with_neck_rows_run_the_backbone_and_what_follows_it_as_one_module(monkeypatch, kind, name, shapes,
                                                                            library_note, plain_note, plain):
    from swiftformer_mm.benchmark.candidates import swiftformer_candidates
    from swiftformer_mm.benchmark.dense_part import dense_part
    from swiftformer_mm.ops.compiled import CompiledForward
    from swiftformer_mm.ops.cuda_graphs import GraphedForward
    flag = ['--with-neck'] if kind == 'maskrcnn' else ['--with-neck', kind]  # maskrcnn: the flag's default
    report = main(TINY + flag + ['--no-peers', '--passes', 'latency', 'train', '--no-macs'])
    assert set(check_rows(report, passes=('latency', 'train'))) == {(f'{SF} + {name}', 'train form'),
                                                                     (f'{SF} + {name}', 'deploy')}
    assert library_note in report['notes']
    assert (f'{SF} + {name} deploy, onnxruntime: skipped (--with-neck times the forms tools/test.py runs; '
            'onnxruntime is not one of them)') in report['notes']
    # on a GPU, the fast inference mode's row compiles and captures the backbone and what follows it together;
    # the GPU machine has no mmcv: the same computation in plain torch
    block(monkeypatch, 'mmdet', 'mmseg')
    notes = []
    rows = swiftformer_candidates('xs', 'cuda', [], with_onnx=False, with_compile=True, with_cuda_graphs=True,
                                  dense=dense_part(kind, notes))
    assert notes[0].startswith(plain_note)
    [fast] = [c for c in rows if c.variant == 'deploy+compile, CUDA graphs']
    built = fast.build()
    assert isinstance(built, GraphedForward) and isinstance(built.module, CompiledForward)
    backbone, following = built.module.module
    assert backbone.deploy
    assert [type(m).__name__ for m in (following if kind == 'semantic-fpn' else [following])] == plain
    outputs = built(torch.rand(1, 3, 64, 64))  # under autograd: eager (a compile takes a minute on a CPU)
    assert [m.shape[1:] for m in output_maps(outputs)] == shapes


def test_channels_last_runs_every_row_in_that_layout():
    from swiftformer_mm.benchmark.candidates import in_channels_last, swiftformer_candidates
    report = main(TINY + ['--layouts', 'channels-last', '--no-peers', '--passes', 'latency', 'train', '--no-macs'])
    # onnxruntime's row left out
    assert set(check_rows(report, passes=('latency', 'train'))) == {(m, f'{v}, channels-last') for m, v in SF_ROWS}
    assert {r['layout'] for r in report['results']} == {'channels-last'}
    assert f'{SF} deploy, onnxruntime, channels-last: skipped (onnxruntime takes no layout)' in report['notes']
    for candidate in swiftformer_candidates('xs', 'cpu', [], with_onnx=False):
        model = in_channels_last(candidate).build()
        assert model.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
        stage_outputs = []
        for stage in model.stages:
            stage.register_forward_hook(lambda module, inputs, output: stage_outputs.append(output))
        with torch.no_grad():  # NCHW input, as a data pipeline gives it: the stages compute channels-last
            model(torch.rand(2, 3, 64, 64))
        assert len(stage_outputs) == 4, candidate.variant
        assert all(m.is_contiguous(memory_format=torch.channels_last) and not m.is_contiguous() for m in stage_outputs)


def test_both_layouts_in_one_run_each_compared_with_the_peers_of_its_layout(monkeypatch):
    from swiftformer_mm.benchmark import ratios
    block(monkeypatch, 'transformers', 'timm')  # ResNet-50 stays: one peer per layout
    report = main(TINY + ['--layouts', 'nchw', 'channels-last', '--passes', 'latency', '--no-macs'])
    rows = check_rows(report, passes=('latency',))  # speed-ups recomputed within each layout
    r50 = [key for key in rows if rows[key]['peer'] == 'r50']
    assert sorted(rows[key]['layout'] for key in r50) == ['channels-last', 'nchw']
    assert {(SF, 'deploy'), (SF, 'deploy, channels-last'), ONNX_ROW} <= set(rows)
    # a row whose layout's peer is missing gets no speed-up over the other layout's
    nchw_only = [dict(r) for r in report['results'] if r['layout'] == 'nchw' or not r['peer']]
    ratios.add_ratios(nchw_only)
    assert all(not r['speedup'] for r in nchw_only if r['layout'] == 'channels-last')
