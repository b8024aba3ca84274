"""Shared fixtures and helpers. There is deliberately no ``tests/__init__.py``: the
mmsegmentation wheel installs a top-level ``tests`` package that would shadow it."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / 'tests' / 'data'
SHARED_GOLDEN = Path(os.environ.get('SWIFTFORMER_GOLDEN_DIR', REPO_ROOT.parent / 'shared' / 'golden'))


@pytest.fixture(autouse=True)
def _deterministic_seed():
    import torch
    torch.manual_seed(0)


# a SwiftFormer small enough to build in milliseconds: four stages, strides 4 to 32
SMALL_ARCH = dict(depths=[1, 1, 2, 1], widths=[16, 24, 32, 40])


@pytest.fixture
def deploy_backbone():
    """A SwiftFormer of :data:`SMALL_ARCH` in its deploy form, random weights (seed 0)."""
    from swiftformer_mm import SwiftFormer
    return SwiftFormer(arch=SMALL_ARCH).eval().switch_to_deploy()


def run_shapes(wrapped, module, shapes) -> list:
    """Calls ``wrapped`` (a wrapper of ``module``) without autograd on a random input of each
    shape, checks that each output equals ``module``'s, and returns the messages logged meanwhile."""
    import logging

    import torch
    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    MMLogger.get_current_instance().addHandler(handler)
    try:
        with torch.no_grad():
            for shape in shapes:
                x = torch.randn(shape)
                for got, expected in zip(wrapped(x), module(x)):
                    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    return [record.getMessage() for record in records]


@pytest.fixture
def one_thread():
    """Runs a test on one CPU thread: small tensors gain nothing from more, and
    on a shared CPU competing threads make a step several times slower."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_tool(tool, *args, env=None, check=True):
    """Runs ``tools/<tool>`` as a user would (a .py with this interpreter, a .sh with bash);
    ``tool`` is its path under ``tools/``, e.g. ``'train.py'`` or ``'misc/make_demo_data.py'``.

    One OpenMP thread: on a busy 2-core machine torch's default of one thread
    per core makes these tiny runs several times slower. ``PYTHON`` makes the
    launcher scripts use this interpreter, which need not be first on PATH;
    ``tests/`` is on ``PYTHONPATH`` for the test-only hooks the tiny configs
    import. ``env`` adds variables; ``check`` asserts exit status 0.
    """
    result = subprocess.run(tool_command(tool, *args), capture_output=True, text=True, cwd=REPO_ROOT,
                            env=tool_env(env))
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def tool_command(tool, *args):
    path = REPO_ROOT / 'tools' / tool
    command = [sys.executable, str(path)] if path.suffix == '.py' else ['bash', str(path)]
    return [*command, *map(str, args)]


def tool_env(env=None):
    """The environment :func:`run_tool` runs a tool in, plus ``env``. ``PORT`` (the launchers'
    rendezvous port) is a free one, so that launcher runs of parallel test workers never meet."""
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT / 'tests'), os.environ.get('PYTHONPATH')]))
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHON': sys.executable, 'PYTHONPATH': python_path,
            'PORT': str(free_port()), **(env or {})}


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def make_shapes(root, num_train, num_val, size=64):
    """The seeded synthetic shapes data in ``root`` (coco/ and ade/): the files of
    ``tools/misc/make_demo_data.py`` (tested in test_tools.py), made in this process."""
    from swiftformer_mm.data.shapes import make_demo_data
    make_demo_data(root, num_train, num_val, size, overwrite=True)
    return root


def write_shapes_seg_config(root, name, template, num_train, num_val, iters):
    """Makes the shapes data in ``root`` and writes there, as ``name``, the config ``template``
    with ``{demo}`` (the shapes Semantic FPN config), ``{root}`` (its ade/ data) and ``{iters}``."""
    make_shapes(root, num_train, num_val)
    path = root / name
    path.write_text(template.format(demo=str(REPO_ROOT / 'configs/demo/fpn_swiftformer_xs_shapes.py'),
                                    root=f'{root}/ade/', iters=iters))
    return path


def golden_model(case, **init_options):
    """The training form in eval mode with the weights of a golden case (``tests/data/golden`` or
    ``$SWIFTFORMER_GOLDEN_DIR``, default ``../shared/golden``), loaded through ``init_cfg`` as a
    user's config would; returns ``(model, golden, checkpoint_path)``."""
    import torch
    from swiftformer_mm import SwiftFormer
    folder = DATA_DIR / 'golden'
    if not (folder / f'{case}_golden.pth').exists():
        folder = SHARED_GOLDEN
        if not (folder / f'{case}_golden.pth').exists():
            pytest.skip(f'{case} golden files are not in the repo and {SHARED_GOLDEN} is absent')
    golden = torch.load(folder / f'{case}_golden.pth', weights_only=True)
    meta = golden['meta']
    checkpoint = folder / meta['checkpoint']
    model = SwiftFormer(arch=dict(depths=meta['layers'], widths=meta['embed_dims']),
                        out_norm_cfg=dict(type='BN') if meta['mode'] == 'dense' else None,
                        init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint), **init_options))
    model.init_weights()
    return model.eval(), golden, checkpoint


def golden_error(outputs, expected):
    """Largest absolute difference between the four maps ``outputs`` (on any device) and the
    golden ``expected`` ones, whose shapes they must have."""
    assert len(outputs) == len(expected) == 4
    for out, ref in zip(outputs, expected):
        assert out.shape == ref.shape
    return max((out.cpu() - ref).abs().max().item() for out, ref in zip(outputs, expected))
