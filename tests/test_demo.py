"""``swiftformer_mm.demo``: the steps of ``make demo``, without training."""
import argparse
import json
import os

import pytest
from mmengine.config import Config, DictAction

from conftest import REPO_ROOT
from swiftformer_mm.data.shapes import make_demo_data
from swiftformer_mm import demo
from swiftformer_mm.demo import DEMOS, QUICK_DATA, DemoStopped, cfg_options, make_data, newest_metrics, run_tool


def demo_config(name, data_dir, quick):
    """The demo's config with its ``--cfg-options`` applied as ``tools/train.py`` applies them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(['--cfg-options', *cfg_options(name, data_dir, quick)]).cfg_options
    config = Config.fromfile(REPO_ROOT / DEMOS[name]['config'])
    config.merge_from_dict(options)
    return config


@pytest.mark.parametrize('name', sorted(DEMOS))
def test_the_demo_options_point_every_split_at_the_generated_data(tmp_path, name):
    make_demo_data(tmp_path, num_train=1, num_val=1, size=64, seed=0)
    config = demo_config(name, tmp_path, quick=False)
    for split in ('train', 'val', 'test'):
        dataset = config[f'{split}_dataloader']['dataset']
        root = dataset['data_root']
        assert root.startswith(str(tmp_path))
        for folder in dataset['data_prefix'].values():
            assert os.listdir(os.path.join(root, folder)), (split, folder)
        if 'ann_file' in dataset:
            assert os.path.isfile(os.path.join(root, dataset['ann_file']))
    for evaluator in ('val_evaluator', 'test_evaluator'):
        for metric in config[evaluator] if isinstance(config[evaluator], list) else [config[evaluator]]:
            assert 'ann_file' not in metric or os.path.isfile(metric['ann_file'])


@pytest.mark.parametrize('name', sorted(DEMOS))
def test_quick_shrinks_the_schedule_and_still_evaluates_at_its_end(tmp_path, name):
    full, quick = demo_config(name, tmp_path, quick=False), demo_config(name, tmp_path, quick=True)
    length = 'max_epochs' if 'max_epochs' in quick.train_cfg else 'max_iters'
    end = quick.train_cfg[length]
    assert end < full.train_cfg[length] and quick.train_cfg.val_interval == end
    # the schedulers that count in the loop's unit end with it (an iteration-based warm-up may outlast one epoch)
    by_epoch = length == 'max_epochs'
    assert all(s['end'] <= end for s in quick.param_scheduler if s.get('by_epoch', True) == by_epoch)
    assert quick.train_dataloader.batch_size < full.train_dataloader.batch_size


def test_a_failing_step_stops_the_demo_naming_the_tool_and_its_exit_code(tmp_path, capsys):
    (tmp_path / 'tools').mkdir()
    (tmp_path / 'tools' / 'step.py').write_text('import sys; sys.exit(3)')
    with pytest.raises(DemoStopped, match='^demo stopped: step.py failed with exit code 3$'):
        run_tool(tmp_path, 'step.py', '--flag', tmp_path)
    assert capsys.readouterr().out == f'\n$ {tmp_path / "tools" / "step.py"} --flag {tmp_path}\n'


def test_newest_metrics_reads_the_newest_test_run(tmp_path):
    with pytest.raises(DemoStopped, match=f'^demo stopped: tools/test.py wrote no metrics under {tmp_path}$'):
        newest_metrics(tmp_path)
    for stamp, miou, mtime in (('20240101_000000', 10.0, 2_000_000), ('20240102_000000', 20.0, 1_000_000)):
        path = tmp_path / stamp / f'{stamp}.json'
        path.parent.mkdir()
        path.write_text(json.dumps({'mIoU': miou}))
        os.utime(path, (mtime, mtime))
    assert newest_metrics(tmp_path) == {'mIoU': 10.0}


def test_make_data_reuses_a_finished_data_set_of_its_settings_and_remakes_any_other(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(demo, 'run_tool', lambda repo, tool, *args: calls.append([tool, *map(str, args)]))
    make_demo_data(tmp_path, **QUICK_DATA)
    make_data(REPO_ROOT, tmp_path, quick=True)
    assert calls == []  # the quick demo's data, finished: reused
    make_data(REPO_ROOT, tmp_path, quick=False)  # the full demo never trains on the quick one's 8 images
    assert calls == [['misc/make_demo_data.py', '--out-dir', str(tmp_path), '--num-train=400', '--num-val=50',
                      '--size=160', '--seed=0', '--overwrite']]


def test_make_data_stops_on_a_folder_of_other_files(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, 'run_tool', lambda *args: pytest.fail('the generator must not run'))
    (tmp_path / 'coco').mkdir()
    with pytest.raises(DemoStopped, match=f'^demo stopped: {tmp_path} holds files but no demo data set'):
        make_data(REPO_ROOT, tmp_path, quick=True)
