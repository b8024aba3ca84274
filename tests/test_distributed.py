"""Two processes through PyTorch's launcher train what one process with their total batch trains.

``tools/dist_train.sh CONFIG 2`` (torchrun, gloo on CPU) trains a tiny
Semantic FPN with 2 images per process; ``tools/train.py`` trains the same
config with 4 images in one process. Both draw the same images each
iteration (a seeded ``InfiniteSampler``: rank r takes every second index of
the same shuffled stream), and DDP averages the two processes' gradients,
which equals the gradient of the mean loss over all 4 images when nothing
in the network mixes images. BatchNorm in training mode does: on CPU every
process normalises over its own 2 images (SyncBN needs GPUs), which no
single process reproduces. So in this config the backbone's BatchNorms use
their running statistics (``norm_eval=True``), the decode head has no norm,
and random flips, dropout and drop path are off. What is left to differ is the order
of float sums (gradients all-reduced, batch of 4 vs 2 + 2).
"""
import atexit
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from conftest import free_port, run_tool, tool_env, write_shapes_seg_config
from swiftformer_mm.cli import distributed, load_run_config

ITERS = 4
# largest difference, after 4 AdamW steps at lr 1e-3, between a weight of the two-process run
# and the same weight of the one-process run; float rounding alone, measured at 1.2e-7
TOLERANCE = 1e-5
CONFIG = """
_base_ = [{demo!r}]
custom_imports = dict(imports=['swiftformer_mm', 'dist_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='SaveRankWeightsHook')]
data_root = {root!r}
widths = [16, 24, 32, 40]
model = dict(
    backbone=dict(arch=dict(_delete_=True, depths=[1, 1, 2, 1], widths=widths), norm_eval=True,
                  drop_path_rate=0.0),
    neck=dict(in_channels=widths, out_channels=16),
    decode_head=dict(in_channels=[16] * 4, channels=16, norm_cfg=None, dropout_ratio=0.0))
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **loader, sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    dataset=dict(data_root=data_root, pipeline=[
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')]))
val_dataloader = dict(**loader, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters={iters}, val_interval={iters})
default_hooks = dict(checkpoint=dict(interval={iters}), logger=dict(interval=1))
param_scheduler = None  # a constant lr of 1e-3 (the demo's warm-up would barely move the weights)
randomness = dict(seed=0, deterministic=True)
"""


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return write_shapes_seg_config(tmp_path_factory.mktemp('shapes'), 'seg_dist.py', CONFIG, 12, 3, ITERS)


@pytest.fixture(scope='module')
def runs(config, tmp_path_factory):
    """The two-process run (batch 2 each) and the one-process run (batch 4)."""
    two = tmp_path_factory.mktemp('two_processes')
    result = run_tool('dist_train.sh', config, 2, '--work-dir', two, '--cfg-options', 'train_dataloader.batch_size=2')
    assert 'Distributed training: True' in result.stdout + result.stderr
    one = tmp_path_factory.mktemp('one_process')
    run_tool('train.py', config, '--work-dir', one, '--cfg-options', 'train_dataloader.batch_size=4')
    return two, one


def largest_difference(a, b):
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())


def test_ranks_end_with_identical_weights(runs):
    two, _ = runs
    rank0 = torch.load(two / 'weights_rank0.pth', weights_only=True)
    rank1 = torch.load(two / 'weights_rank1.pth', weights_only=True)
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # bit for bit
    saved = torch.load(two / f'iter_{ITERS}.pth', weights_only=False)['state_dict']
    assert largest_difference(rank0, saved) == 0  # rank 0's checkpoint holds these weights


def test_two_processes_train_what_one_process_with_their_total_batch_trains(runs):
    two, one = runs
    rank0 = torch.load(two / 'weights_rank0.pth', weights_only=True)
    single = torch.load(one / 'weights_rank0.pth', weights_only=True)
    difference = largest_difference(rank0, single)
    print(f'largest weight difference, 2 processes x 2 images vs 1 process x 4 images: {difference:.2e}')
    assert difference < TOLERANCE
    # training moved the weights far more than that, the same way in both runs
    initial = torch.load(one / 'initial_rank0.pth', weights_only=True)
    assert largest_difference(initial, torch.load(two / 'initial_rank0.pth', weights_only=True)) == 0
    assert largest_difference(single, initial) > 100 * TOLERANCE


def metrics(stdout):
    match = re.search(r'^metrics: (.+)$', stdout, re.MULTILINE)
    assert match, stdout[-2000:]
    return json.loads(Path(match.group(1)).read_text())


def test_dist_test_gives_the_metrics_of_test_py(config, runs, tmp_path):
    _, one = runs
    checkpoint = one / f'iter_{ITERS}.pth'
    single = metrics(run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'one').stdout)
    double = metrics(run_tool('dist_test.sh', config, checkpoint, 2, '--work-dir', tmp_path / 'two').stdout)
    scores = {k: v for k, v in single.items() if k in ('aAcc', 'mIoU', 'mAcc')}
    assert len(scores) == 3
    assert scores == {k: double[k] for k in scores}  # 3 images: one process gets 2, the other 1


def test_the_test_metrics_file_has_one_writer_the_main_process(config, tmp_path, monkeypatch):
    """MMEngine's LoggerHook writes it from every process to one path; two writers at once once
    left ``{...}}`` in CI. The tools' configs use MainProcessLoggerHook, which writes it from rank 0."""
    from swiftformer_mm.engine import MainProcessLoggerHook, logger_hook
    assert load_run_config(str(config)).default_hooks.logger.type == 'MainProcessLoggerHook'
    scores = {'mIoU': 28.25, 'aAcc': 84.76}
    runner = SimpleNamespace(log_dir=str(tmp_path), test_dataloader=[0, 1, 2],
                             logger=SimpleNamespace(info=lambda text: None),
                             log_processor=SimpleNamespace(get_log_after_epoch=lambda *a, **k: (scores, '')))
    hook = MainProcessLoggerHook()
    hook.json_log_path = 'metrics.json'
    for rank in (1, 0):
        monkeypatch.setattr(logger_hook, 'is_main_process', lambda: rank == 0)
        hook.after_test_epoch(runner)
        assert (tmp_path / 'metrics.json').exists() == (rank == 0)
    assert json.loads((tmp_path / 'metrics.json').read_text()) == scores


@pytest.mark.parametrize('launcher', ['none', 'pytorch'])
def test_a_launcher_run_registers_the_end_of_its_process_group_at_exit(launcher, monkeypatch):
    at_exit = []
    monkeypatch.setattr(atexit, 'register', at_exit.append)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)  # the Runner would start the group
    distributed.setup_distributed(Config(dict(launcher=launcher, model=dict(), env_cfg=dict(dist_cfg=dict()))))
    assert at_exit == ([] if launcher == 'none' else [distributed.destroy_process_group])
    assert not torch.distributed.is_initialized()
    distributed.destroy_process_group()  # no group (a run that failed early): nothing to do


END_OF_A_RUN = """
import os, sys, time, torch
from swiftformer_mm.cli import distributed
def threads():
    return len(os.listdir('/proc/self/task'))
torch.nn.Linear(2, 2)(torch.ones(1, 2)).sum().backward()  # threads of torch's own, started once
before = threads()
torch.distributed.init_process_group('gloo', init_method=sys.argv[1], rank=0, world_size=1)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2))
model(torch.ones(1, 2)).sum().backward()
torch.distributed.broadcast(torch.ones(2), 0)
runner = dict(model=model)
runner['self'] = runner  # a finished runner: garbage in a reference cycle, as mmengine's is
del model, runner
{end}()
for _ in range(50):  # a joined thread can linger in /proc for a moment
    if threads() == before:
        break
    time.sleep(0.02)
print(torch.distributed.is_initialized(), threads() - before, flush=True)
"""


@pytest.mark.skipif(not Path('/proc/self/task').is_dir(), reason='counts threads in /proc (Linux)')
@pytest.mark.parametrize('end, threads_left', [('torch.distributed.destroy_process_group', 'some'),
                                               ('distributed.destroy_process_group', 'none')])
def test_the_exit_handler_stops_gloos_threads_before_the_interpreter_finalises(end, threads_left):
    """A gloo worker thread still freeing a collective's tensors when the interpreter finalises
    aborts the process after a run that succeeded (SIGABRT; test_dist_test_gives_the_metrics_of_test_py
    failed so now and then). The exit handler ends the threads. torch's destroy_process_group, the
    control, leaves them running for the group that the finished runner's DDP wrapper still holds
    (which also shows that the count sees gloo's threads)."""
    script = END_OF_A_RUN.format(end=end)
    result = subprocess.run([sys.executable, '-c', script, f'tcp://127.0.0.1:{free_port()}'], capture_output=True,
                            text=True, env=tool_env(), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    initialised, extra_threads = result.stdout.split()
    assert initialised == 'False'
    assert (int(extra_threads) == 0) == (threads_left == 'none')
