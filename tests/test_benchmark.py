"""``tools/benchmark.py`` times every model of the comparison in one run and reports it.

The figures themselves are machine-dependent and belong to the benchmark's
output, not to assertions; these tests check that every model is timed, that
the ratios and deviations are computed from the measured rows, and that the
JSON, table and PNG are written.
"""
import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

BENCHMARK_ARGS = ['--arch', 'xs', '--sizes', '64x64', '--reps', '2', '--warmup', '1', '--threads', '1',
                  '--batch', '2', '--train-batch', '2', '--matmul-size', '256']
SWIFTFORMER_ROWS = {('SwiftFormer-XS', 'train form'), ('SwiftFormer-XS', 'train form, NCHW'),
                    ('SwiftFormer-XS', 'deploy')}
BASELINE_ROWS = {('ResNet-18', 'mmdet'), ('ResNet-50', 'mmdet')}
HF_ROW = ('HF SwiftFormer-XS', 'transformers')
ONNX_ROW = ('SwiftFormer-XS', 'deploy, onnxruntime', 'fp32')  # onnxruntime runs fp32 only


def load_tool(name='benchmark'):
    spec = importlib.util.spec_from_file_location(f'{name}_tool', REPO_ROOT / 'tools' / f'{name}.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def check_report(report, with_hf, dtypes=('fp32', )):
    rows = {(r['model'], r['variant'], r['dtype']): r for r in report['results']}
    expected = SWIFTFORMER_ROWS | BASELINE_ROWS | ({HF_ROW} if with_hf else set())
    assert set(rows) == {key + (dtype, ) for key in expected for dtype in dtypes} | {ONNX_ROW}
    for row in rows.values():
        assert row['size'] == [64, 64] and row['gmacs'] > 0
        assert 0 < row['latency_ms']['min'] <= row['latency_ms']['median'] <= row['latency_ms']['max']
        assert row['throughput_img_s'] > 0 and row['matmul_fraction'] > 0
        assert isinstance(row['infer_page_faults'], int) and row['infer_page_faults'] >= 0
    for dtype in dtypes:
        deploy = rows[('SwiftFormer-XS', 'deploy', dtype)]
        r50 = rows[('ResNet-50', 'mmdet', dtype)]
        assert deploy['speedup_vs_r50'] == pytest.approx(r50['latency_ms']['median'] /
                                                         deploy['latency_ms']['median'])
        if with_hf:
            hf = rows[HF_ROW + (dtype, )]
            assert deploy['speedup_vs_hf'] == pytest.approx(hf['latency_ms']['median'] /
                                                            deploy['latency_ms']['median'])
        assert 'speedup_vs_hf' not in r50 and 'speedup_vs_r50' not in r50
    onnx = rows[ONNX_ROW]
    assert onnx['infer_peak_mib'] is None and 'train_ms' not in onnx  # not measured, not trainable
    assert onnx['gmacs'] == rows[('SwiftFormer-XS', 'deploy', 'fp32')]['gmacs']
    skipped = [note for note in report['notes'] if 'skipped' in note and 'transformers' in note]
    assert bool(skipped) != with_hf
    return rows


def test_benchmark_tool_times_every_model_in_this_environment(tmp_path):
    out = tmp_path / 'bench.json'
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'benchmark.py'), *BENCHMARK_ARGS, '--out-json',
         str(out), '--out-png', str(tmp_path / 'bench.png')],
        capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    with_hf = importlib.util.find_spec('transformers') is not None
    rows = check_report(json.loads(out.read_text()), with_hf)
    assert '| 64x64 | fp32 | SwiftFormer-XS | deploy |' in result.stdout
    assert (tmp_path / 'bench.png').stat().st_size > 0
    # the trainable forms have a training step with its peak memory; the deploy form has none
    train_form = rows[('SwiftFormer-XS', 'train form', 'fp32')]
    assert train_form['train_ms']['median'] > 0 and train_form['train_peak_mib'] > 0
    assert 'train_ms' not in rows[('SwiftFormer-XS', 'deploy', 'fp32')]


def test_benchmark_tool_reports_hf_as_skipped_without_transformers(monkeypatch):
    tool = load_tool()
    monkeypatch.setitem(sys.modules, 'transformers', None)  # import transformers -> ImportError
    report = tool.main(BENCHMARK_ARGS + ['--no-train'])
    check_report(report, with_hf=False)


def test_bf16_rows_measure_their_deviation_from_fp32(monkeypatch):
    tool = load_tool()
    monkeypatch.setitem(sys.modules, 'transformers', None)
    report = tool.main(BENCHMARK_ARGS + ['--no-train', '--dtypes', 'fp32', 'bf16'])
    rows = check_report(report, with_hf=False, dtypes=('fp32', 'bf16'))
    for (model, variant, dtype), row in rows.items():
        if dtype == 'fp32':
            assert 'max_rel_dev' not in row
        else:
            # bf16 keeps 8 bits of mantissa: visibly different from fp32, yet close to it
            assert 1e-5 < row['max_rel_dev'] < 0.1, (model, variant)


def test_cold_heap_benchmark_times_this_backbone_next_to_hf():
    results = load_tool('benchmark_cold_heap').main(
        ['--arch', 'xs', '--size', '64x64', '--reps', '2', '--warmup', '1', '--threads', '1'])
    with_hf = importlib.util.find_spec('transformers') is not None
    expected = {('SwiftFormer-XS', 'train form'), ('SwiftFormer-XS', 'train form, NCHW'),
                ('SwiftFormer-XS', 'deploy')} | ({HF_ROW} if with_hf else set())
    assert set(results) == expected
    for row in results.values():
        assert 0 < row['min'] <= row['median'] <= row['max'] and row['page_faults'] >= 0
        if with_hf:
            hf = results[HF_ROW]['median']
            assert row['speedup_vs_hf'] == pytest.approx(hf / row['median'])


def test_compile_flag_times_the_compiled_training_step_and_reports_compile_times(monkeypatch, capsys):
    tool = load_tool()
    compiled = []

    def record_compile(model, **kwargs):  # a real compile takes minutes; the tool's wiring is tested
        compiled.append(model)
        return model

    monkeypatch.setattr(tool.torch, 'compile', record_compile)
    report = tool.main(BENCHMARK_ARGS + ['--compile', '--no-baselines'])
    rows = {(r['model'], r['variant']): r for r in report['results']}
    train_form = rows[('SwiftFormer-XS', 'train form+compile')]
    deploy = rows[('SwiftFormer-XS', 'deploy+compile')]
    assert train_form['compile_s'] > 0 and train_form['train_compile_s'] > 0
    assert train_form['train_ms']['median'] > 0
    assert train_form['gmacs'] == rows[('SwiftFormer-XS', 'train form')]['gmacs']
    assert deploy['compile_s'] > 0 and 'train_ms' not in deploy and 'train_compile_s' not in deploy
    # compiled: the training form for inference, a second one for its training step, the deploy form
    assert [m.training for m in compiled] == [False, True, False]
    assert compiled[2].deployed and not compiled[0].deployed
    assert 'train form+compile (compile ' in capsys.readouterr().out


def test_breakdown_sorts_the_ops_of_every_pass_into_kinds_and_rates_the_matrix_products():
    tool = load_tool('benchmark_breakdown')
    assert [tool.kind_of(op) for op in ('aten::addmm', 'aten::bmm', 'aten::convolution_backward',
                                         'aten::mkldnn_convolution', 'aten::gelu_backward',
                                         'aten::native_batch_norm', 'aten::add_')] == [
        'matrix products', 'matrix products', 'convolutions', 'convolutions', 'GELU', 'batch norm', 'other']
    results = tool.main(['--arch', 'xs', '--size', '64x64', '--reps', '2', '--warmup', '1', '--threads', '1',
                         '--profiled-reps', '2', '--matmul-size', '256', '--batch', '2'])
    with_hf = importlib.util.find_spec('transformers') is not None
    models = ['SwiftFormer-XS train form', 'SwiftFormer-XS deploy'] + (['HF SwiftFormer-XS transformers']
                                                                       if with_hf else [])
    trainable = [m for m in models if 'deploy' not in m]
    assert set(results) == ({(m, 'forward b1') for m in models}
                            | {(m, 'training step b2') for m in trainable})
    for (model, pass_name), result in results.items():
        assert set(result['ms']) == set(tool.KINDS) and result['profiled_reps'] == 2
        assert result['profiled_ms'] == pytest.approx(sum(result['ms'].values()))
        assert result['timed_ms']['median'] > 0
        # every model computes its attention's linear layers as matrix products
        assert result['ms']['matrix products'] > 0 and result['product_gmacs_per_s'] > 0, (model, pass_name)
    for model in trainable:  # backward adds two products per forward product, on twice the images
        forward, step = results[(model, 'forward b1')], results[(model, 'training step b2')]
        assert step['ms']['matrix products'] > forward['ms']['matrix products']
        assert forward['ms']['GELU'] > 0 and step['ms']['GELU'] > forward['ms']['GELU']
