"""Killed, resumed, NaN, repeated and simultaneous runs of tools/train.py (issue 5, "Reliability
and scale"; issue 14, "Results written over").

One tiny Semantic FPN config (the seg demo with a 16-to-40-channel
SwiftFormer, drop path, 6 iterations of batch 2 on 64 px synthetic images,
validation and a checkpoint every 2 iterations) is trained once without
interruption (fixture ``reference``); the other runs are the same config
with a fault from ``fault_injection.py`` switched on by an environment
variable, and must end with exactly the reference's weights after
``--resume``. Every run is a subprocess of ``tools/train.py``, as a user
runs it.
"""
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import LocalBackend

from conftest import REPO_ROOT, run_tool, tool_command, tool_env, write_shapes_seg_config
from fault_injection import cut_writes_to
from swiftformer_mm.cli import (ConfigError, WorkDirInUseError, enable_fault_tolerance,
                                 hold_work_dir, latest_checkpoint)
from swiftformer_mm.checkpoint import CheckpointError, load_checkpoint_file
from swiftformer_mm.checkpoint.safe_load import allowed_globals
from swiftformer_mm.engine import AtomicLocalBackend

TESTS = REPO_ROOT / 'tests'
ITERS = 6
CONFIG = """
_base_ = [{demo!r}]
custom_imports = dict(imports=['swiftformer_mm', 'fault_injection'], allow_failed_imports=False)
custom_hooks = [dict(type='FaultInjectionHook')]
data_root = {root!r}
widths = [16, 24, 32, 40]
model = dict(
    backbone=dict(arch=dict(_delete_=True, depths=[2, 2, 3, 2], widths=widths), drop_path_rate=0.1),
    neck=dict(in_channels=widths, out_channels=16),
    decode_head=dict(in_channels=[16] * 4, channels=16))
loader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
train_dataloader = dict(batch_size=2, **loader)
val_dataloader = dict(**loader)
test_dataloader = val_dataloader
train_cfg = dict(max_iters={iters}, val_interval=2)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=3),
                   dict(type='MultiStepLR', milestones=[5], gamma=0.5, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=-1),
                     logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
"""


def train(config, work_dir, *args, faults=None, check=True):
    """Runs tools/train.py; ``faults``: FAULT_* variables for fault_injection.py."""
    return run_tool('train.py', config, '--work-dir', work_dir, *args, env=faults, check=check)


def same(a, b):
    """Exact equality of nested checkpoint contents (tensors bit for bit)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def assert_same_training_state(path, reference_path):
    ours, ref = load_checkpoint_file(path), load_checkpoint_file(reference_path)
    assert ours['meta']['iter'] == ref['meta']['iter'] == ITERS
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state'):
        assert same(ours[key], ref[key]), f'{key} differs from the uninterrupted run'


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    return write_shapes_seg_config(tmp_path_factory.mktemp('shapes'), 'seg_resume.py', CONFIG, 8, 2, ITERS)


@pytest.fixture(scope='module')
def reference(config, tmp_path_factory):
    """The uninterrupted run."""
    work_dir = tmp_path_factory.mktemp('reference')
    train(config, work_dir)
    return work_dir


# --- a kill mid-run, then --resume -----------------------------------------------------------


def test_run_killed_mid_training_resumes_to_the_weights_of_an_uninterrupted_run(
        config, reference, tmp_path):
    log = (tmp_path / 'killed.log').open('w')
    # two seconds' sleep after each iteration from the first checkpoint on: the kill lands
    # after iteration 2 and long before iteration 6
    process = subprocess.Popen(tool_command('train.py', config, '--work-dir', tmp_path), stdout=log,
                               stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                               env=tool_env({'FAULT_SLEEP_AFTER_ITER': '2'}))
    deadline = time.monotonic() + 300
    while not (tmp_path / 'iter_2.pth').exists():
        assert process.poll() is None, (tmp_path / 'killed.log').read_text()[-3000:]
        assert time.monotonic() < deadline, 'no first checkpoint after 300 s'
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    log.close()
    assert not (tmp_path / f'iter_{ITERS}.pth').exists()  # killed in the middle indeed

    result = train(config, tmp_path, '--resume')
    assert f'--resume: continuing from {tmp_path / "iter_2.pth"}' in result.stdout
    assert 'Advance dataloader 2 steps' in result.stdout
    assert 'random generator states of the checkpoint are restored before iteration 3' in \
        result.stdout
    assert_same_training_state(tmp_path / f'iter_{ITERS}.pth', reference / f'iter_{ITERS}.pth')


# --- a kill while a checkpoint is being written ----------------------------------------------


@pytest.mark.parametrize('fault, resumed_from', [('iter_4.pth@4', 'iter_2.pth'),
                                                 ('last_checkpoint@4', 'iter_4.pth')])
def test_kill_while_writing_a_checkpoint_leaves_no_truncated_file_for_resume(
        config, reference, tmp_path, fault, resumed_from):
    killed = train(config, tmp_path, faults={'FAULT_KILL_WRITING': fault}, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    partial = [name for name in names if name.endswith('.partial')]
    if fault.startswith('iter_4.pth'):
        # cut off half-way into the temporary file: nothing under the final name
        assert 'iter_4.pth' not in names and len(partial) == 1
        assert partial[0].startswith('.iter_4.pth.')
        assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')
    else:
        # iter_4.pth is whole; last_checkpoint holds half of its path
        assert 'iter_4.pth' in names and not partial
        assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_4.pth')[:len(
            str(tmp_path / 'iter_4.pth')) // 2]
    for name in names:
        if name.endswith('.pth'):
            load_checkpoint_file(tmp_path / name)  # every file under a checkpoint name is whole

    result = train(config, tmp_path, '--resume')
    assert f'--resume: continuing from {tmp_path / resumed_from}' in result.stdout
    assert not any(p.name.endswith('.partial') for p in tmp_path.iterdir())  # cleaned up
    assert_same_training_state(tmp_path / f'iter_{ITERS}.pth', reference / f'iter_{ITERS}.pth')


def test_a_plain_write_truncates_the_checkpoint_where_the_atomic_backend_keeps_the_old_one(
        tmp_path):

    def fault():
        raise KeyboardInterrupt('killed while writing')

    torch.save({'state_dict': {'w': torch.ones(1000)}}, tmp_path / 'new.pth')
    new = (tmp_path / 'new.pth').read_bytes()
    for backend in (LocalBackend(), AtomicLocalBackend()):
        path = tmp_path / f'{type(backend).__name__}.pth'
        torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
        old = path.read_bytes()
        with cut_writes_to(path.name, fault), pytest.raises(KeyboardInterrupt):
            backend.put(new, path)
        if isinstance(backend, AtomicLocalBackend):
            assert path.read_bytes() == old  # the previous file, whole
            assert sorted(p.name for p in tmp_path.iterdir()) == [
                'AtomicLocalBackend.pth', 'LocalBackend.pth', 'new.pth']  # no temporary left
        else:
            assert len(path.read_bytes()) == len(new) // 2  # mmengine's own: half a file
            with pytest.raises(CheckpointError, match='truncated or corrupt'):
                load_checkpoint_file(path)
    AtomicLocalBackend().put(new, tmp_path / 'AtomicLocalBackend.pth')
    assert (tmp_path / 'AtomicLocalBackend.pth').read_bytes() == new


def test_latest_checkpoint_skips_dangling_and_truncated_files(tmp_path):
    assert latest_checkpoint(str(tmp_path / 'none')) is None
    for step in (2, 4, 6):
        torch.save({'step': step}, tmp_path / f'iter_{step}.pth')
    data = (tmp_path / 'iter_6.pth').read_bytes()
    (tmp_path / 'iter_6.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')  # what it names
    for pointer in ('', str(tmp_path / 'iter_6.pth'), str(tmp_path / 'gone.pth')):
        (tmp_path / 'last_checkpoint').write_text(pointer)
        assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')
    (tmp_path / 'iter_4.pth').unlink()
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    with pytest.raises(ConfigError, match='none of .* is a whole checkpoint'):
        latest_checkpoint(str(tmp_path))


def test_latest_checkpoint_takes_a_pre_zip_checkpoint_that_loads_and_skips_a_cut_one(tmp_path):
    for step in (2, 4):  # the format of torch.save before torch 1.6, which load_checkpoint_file reads
        torch.save({'state_dict': {'w': torch.ones(64)}}, tmp_path / f'iter_{step}.pth',
                   _use_new_zipfile_serialization=False)
    data = (tmp_path / 'iter_4.pth').read_bytes()
    (tmp_path / 'iter_4.pth').write_bytes(data[:-16])
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
    assert load_checkpoint_file(latest_checkpoint(str(tmp_path)))['state_dict']['w'].sum() == 64


# --- NaN loss ---------------------------------------------------------------------------------


def test_nan_loss_stops_training_naming_the_iteration_before_it_is_checkpointed(config, tmp_path):
    result = train(config, tmp_path, faults={'FAULT_NAN_AT_ITER': '4'}, check=False)
    assert result.returncode == 1
    assert 'error: non-finite loss at iteration 4: loss=nan, decode.loss_ce=nan.' in result.stderr
    assert f'the latest checkpoint is {tmp_path / "iter_2.pth"}' in result.stderr
    assert 'Traceback' not in result.stderr
    # iteration 4 is a checkpoint iteration: nothing of it or later was written
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['best_mIoU_iter_2.pth', 'iter_2.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')
    weights = load_checkpoint_file(tmp_path / 'iter_2.pth')['state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())
    assert 'Iter(train) [3/6]' in result.stdout and 'Iter(train) [4/6]' not in result.stdout


# --- an existing work dir ---------------------------------------------------------------------


def test_new_run_in_a_work_dir_with_checkpoints_is_refused(config, reference, tmp_path):
    for name in ('iter_2.pth', 'last_checkpoint'):
        (tmp_path / name).write_bytes((reference / name).read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = train(config, tmp_path, check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert (f"error: work dir '{tmp_path}' already holds checkpoints of an earlier run "
            '(iter_2.pth, last_checkpoint)') in result.stderr
    assert 'Pass --resume to continue that run, or --work-dir NEW_DIR' in result.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after.pop('.run.lock')  # the lock it took (it names the process), and nothing else:
    assert after == before  # not even a log dir


def work_dir_files(work_dir):
    """Every file under ``work_dir`` with its bytes, and its sub-folders."""
    return {str(p.relative_to(work_dir)): p.read_bytes() if p.is_file() else 'folder'
            for p in sorted(work_dir.rglob('*'))}


def test_a_work_dir_is_held_by_one_run_at_a_time_and_freed_when_its_run_is_killed(config, tmp_path):
    """A second train.py (plain, --resume, or two torchrun ranks) or test.py on the work dir of a
    running train.py stops at once, naming it, and leaves its files alone; once the first run is
    killed with SIGKILL, a new one takes the work dir at once."""
    log = (tmp_path / 'first.log').open('w')
    work_dir = tmp_path / 'work'
    first = subprocess.Popen(tool_command('train.py', config, '--work-dir', work_dir), stdout=log,
                             stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                             env=tool_env({'FAULT_SLEEP_AFTER_ITER': '600'}))  # sleeps after iter 2
    try:
        deadline = time.monotonic() + 300
        while not (work_dir / 'last_checkpoint').exists():
            assert first.poll() is None, (tmp_path / 'first.log').read_text()[-3000:]
            assert time.monotonic() < deadline, 'no first checkpoint after 300 s'
            time.sleep(0.05)
        time.sleep(1)  # into its sleep after iteration 2
        # a checkpoint write of the first run in progress: what a --resume would clean up
        (work_dir / '.iter_4.pth.123.0123abcd.partial').write_bytes(b'being written')
        before = work_dir_files(work_dir)
        assert {'iter_2.pth', 'last_checkpoint', 'seg_resume.py', '.run.lock'} <= set(before)
        in_use = f"error: work dir '{work_dir}' is in use by another run (pid {first.pid}, started "
        for second in (train(config, work_dir, check=False),
                       train(config, work_dir, '--resume', check=False),
                       run_tool('dist_train.sh', config, 2, '--work-dir', work_dir, '--resume',
                                env={'PORT': '29531'}, check=False),
                       run_tool('test.py', config, work_dir / 'iter_2.pth', '--work-dir', work_dir,
                                check=False)):
            assert second.returncode != 0
            assert in_use in second.stderr, second.stderr[-3000:]
            assert '); wait for it or pass another --work-dir' in second.stderr
            assert work_dir_files(work_dir) == before  # not a byte written, nor removed
        assert first.poll() is None  # undisturbed
        first.send_signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        log.close()

    third = train(config, work_dir, '--resume')  # the kernel dropped the killed run's lock
    assert f'--resume: continuing from {work_dir / "iter_2.pth"}' in third.stdout
    assert (work_dir / f'iter_{ITERS}.pth').is_file()
    assert not (work_dir / '.iter_4.pth.123.0123abcd.partial').exists()  # the holder cleans up


HOLD_AND_FORK = """
import os, sys, time
from swiftformer_mm.cli import hold_work_dir
assert hold_work_dir(sys.argv[1])
assert not hold_work_dir(sys.argv[1], 'pytorch')  # RANK=1: the other ranks of a run take no lock
child = os.fork()
if child == 0:  # a DataLoader worker, say, that outlives its killed parent for a while
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
time.sleep(600)
"""


def test_the_lock_of_a_killed_run_is_not_kept_by_its_forked_children(tmp_path):
    holder = subprocess.Popen([sys.executable, '-c', HOLD_AND_FORK, str(tmp_path)], cwd=REPO_ROOT,
                              env=tool_env({'RANK': '1'}), stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(holder.stdout.readline())
        with pytest.raises(WorkDirInUseError, match=rf"'{tmp_path}' is in use by another run "
                           rf"\(pid {holder.pid}, started .* by -c .*\); wait for it"):
            hold_work_dir(str(tmp_path))
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        os.kill(child, 0)  # the forked child still runs ...
        assert hold_work_dir(str(tmp_path))  # ... and the work dir is free at once
    finally:
        holder.kill()
        holder.wait()
        if child:
            os.kill(child, signal.SIGKILL)


# --- checkpoints load with weights_only=True -------------------------------------------------


def test_train_checkpoints_load_with_weights_only_allowing_exactly_their_types(reference):
    path = reference / f'iter_{ITERS}.pth'
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    allowed = {g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
               for g in allowed_globals()}
    # what a runner checkpoint holds beyond what torch allows itself, and all of it allowed
    assert {'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr', 'numpy.ndarray',
            'numpy.dtype'} <= unsafe <= allowed, unsafe - allowed
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path, weights_only=True)  # what plain torch>=2.6 says
    checkpoint = load_checkpoint_file(path)  # weights_only=True and the allow-list
    assert {'meta', 'state_dict', 'message_hub', 'optimizer', 'param_schedulers',
            'rng_state'} <= set(checkpoint)
    assert checkpoint['message_hub']['log_scalars']['train/loss'].mean() > 0
    assert zipfile.is_zipfile(path)


def test_fault_tolerance_config_edits(config):
    cfg = Config.fromfile(str(config))
    enable_fault_tolerance(cfg)
    enable_fault_tolerance(cfg)  # idempotent
    assert cfg.default_hooks.checkpoint.backend_args == dict(backend='atomic_local')
    assert cfg.custom_hooks[1:] == [dict(type='NonFiniteLossHook'), dict(type='RngStateHook'),
                                    dict(type='CheckpointFitHook', strict=False)]  # resumes strict, load_from loud
    cfg.default_hooks.checkpoint.backend_args = dict(backend='petrel')
    enable_fault_tolerance(cfg)
    assert cfg.default_hooks.checkpoint.backend_args == dict(backend='petrel')  # left alone
