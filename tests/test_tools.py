"""The command-line tools, run as a user runs them."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import DATA_DIR, REPO_ROOT, run_tool
from swiftformer_mm import SwiftFormer
from swiftformer_mm.data import shapes
from swiftformer_mm.data.shapes import finished_settings, make_demo_data
from swiftformer_mm.utils import OutputExistsError, refuse_overwrite

OFFICIAL = DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth'
CONVERT = 'model_converters/convert_checkpoint.py'
TINY_ARCH = dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40])


def test_convert_checkpoint_writes_a_weights_only_file_that_loads(tmp_path):
    dst = tmp_path / 'converted.pth'
    run_tool(CONVERT, OFFICIAL, dst)
    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['source_format'] == 'official'
    model = SwiftFormer(arch=TINY_ARCH)
    assert set(converted['state_dict']) == set(model.state_dict())
    model.init_cfg = dict(type='Pretrained', checkpoint=str(dst))
    model.init_weights()
    golden = torch.load(DATA_DIR / 'golden' / 'tiny_dense_golden.pth', weights_only=True)['cases'][0]
    with torch.no_grad():
        out = model.eval()(golden['input'])[3]
    assert (out - golden['outputs'][3]).abs().max() < 1e-4


def test_convert_checkpoint_ema_takes_model_ema(tmp_path):
    run_tool(CONVERT, OFFICIAL, tmp_path / 'a.pth')
    run_tool(CONVERT, OFFICIAL, tmp_path / 'b.pth', '--ema')
    plain = torch.load(tmp_path / 'a.pth', weights_only=True)['state_dict']
    ema = torch.load(tmp_path / 'b.pth', weights_only=True)['state_dict']
    assert not torch.equal(plain['stem.0.weight'], ema['stem.0.weight'])


def test_convert_checkpoint_never_overwrites_without_flag(tmp_path):
    dst = tmp_path / 'keep.pth'
    dst.write_bytes(b'precious')
    result = run_tool(CONVERT, OFFICIAL, dst, check=False)
    assert result.returncode != 0 and 'already exists; pass --overwrite' in result.stderr
    assert dst.read_bytes() == b'precious'


def test_convert_checkpoint_reports_a_bad_source(tmp_path):
    result = run_tool(CONVERT, tmp_path / 'missing.pth', tmp_path / 'out.pth', check=False)
    assert result.returncode != 0 and 'checkpoint not found' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_get_flops_matches_the_paper_classifier_macs():
    result = run_tool('analysis_tools/get_flops.py', '--arch', 'xs', 'l1', '--shape', '64', '96')
    rows = {line.split('|')[1].strip(): line.split('|') for line in result.stdout.splitlines()
            if line.startswith('| xs') or line.startswith('| l1')}
    assert rows['xs'][2].strip() == '3,033,792' and rows['l1'][2].strip() == '11,288,592'
    assert float(rows['xs'][4]) == pytest.approx(0.6, rel=0.02)
    assert float(rows['l1'][4]) == pytest.approx(1.6, rel=0.02)


# --- never writing over results: one rule for every tool -------------------------------------


def test_refuse_overwrite_is_the_one_rule_for_files_and_folders(tmp_path):
    file, folder = tmp_path / 'out.pkl', tmp_path / 'maps'
    refuse_overwrite(file, False, '--out')  # new paths are fine
    refuse_overwrite(folder, False, '--out', folder=True)
    folder.mkdir()
    refuse_overwrite(folder, False, '--out', folder=True)  # so is an empty folder
    file.write_bytes(b'results')
    (folder / 'a.png').write_bytes(b'results')
    with pytest.raises(OutputExistsError, match=rf'^--out {file} already exists; pass --overwrite to '
                       'replace it, or choose another path$'):
        refuse_overwrite(file, False, '--out')
    with pytest.raises(OutputExistsError, match=rf'^--out {folder} already holds files; pass '
                       '--overwrite to write into it anyway, or choose another path$'):
        refuse_overwrite(folder, False, '--out', folder=True)
    refuse_overwrite(file, True, '--out')
    refuse_overwrite(folder, True, '--out', folder=True)
    # the wrong kind: --overwrite cannot help
    with pytest.raises(OutputExistsError, match=rf'^--out {folder} is a folder, not a file'):
        refuse_overwrite(folder, True, '--out')
    with pytest.raises(OutputExistsError, match=rf'^{file} is a file, not a folder'):
        refuse_overwrite(file, True, folder=True)
    assert issubclass(OutputExistsError, FileExistsError)


def test_make_demo_data_writes_the_seeded_data_set_in_both_layouts(tmp_path):
    tool, library = tmp_path / 'tool', tmp_path / 'library'
    result = run_tool('misc/make_demo_data.py', '--out-dir', tool, '--num-train', 3, '--num-val', 2, '--size', 64,
                      '--seed', 5)
    make_demo_data(library, num_train=3, num_val=2, size=64, seed=5)
    files = sorted(p.relative_to(tool).as_posix() for p in tool.rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(library).as_posix() for p in library.rglob('*') if p.is_file())
    assert all((tool / f).read_bytes() == (library / f).read_bytes() for f in files)  # same seed, same bytes
    for coco_split, ade_split, count in (('train', 'training', 3), ('val', 'validation', 2)):
        coco = json.loads((tool / 'coco' / 'annotations' / f'instances_{coco_split}.json').read_text())
        assert [c['name'] for c in coco['categories']] == ['circle', 'triangle', 'square']
        names = [image['file_name'] for image in coco['images']]
        assert names == [f'{coco_split}_{i:05d}.jpg' for i in range(count)]
        for name in names:
            assert (tool / 'coco' / coco_split / name).read_bytes() == \
                (tool / 'ade' / 'images' / ade_split / name).read_bytes()
            labels = np.asarray(Image.open(tool / 'ade' / 'annotations' / ade_split / name.replace('.jpg', '.png')))
            assert labels.shape == (64, 64) and set(np.unique(labels)) <= {1, 2, 3, 4}
        assert f'{coco_split}: {count} images, {len(coco["annotations"])} instances' in result.stdout


def test_make_demo_data_refuses_a_folder_that_holds_files(tmp_path):
    (tmp_path / 'keep.txt').write_text('precious')
    result = run_tool('misc/make_demo_data.py', '--out-dir', tmp_path, '--num-train', 1, '--num-val', 1,
                      check=False)
    assert result.returncode == 1
    assert result.stderr == (f'error: --out-dir {tmp_path} already holds files; pass --overwrite to '
                             'write into it anyway, or choose another path\n')
    assert [p.name for p in tmp_path.iterdir()] == ['keep.txt']


def test_make_demo_data_overwrite_replaces_its_own_data_set_but_never_a_users_coco(tmp_path):
    make_demo_data(tmp_path / 'ours', num_train=2, num_val=1, size=64)
    stale = tmp_path / 'ours' / 'coco' / 'train' / 'stale.jpg'
    stale.write_bytes(b'an earlier file')
    make_demo_data(tmp_path / 'ours', num_train=1, num_val=1, size=64, overwrite=True)
    assert not stale.exists() and finished_settings(tmp_path / 'ours')['num_train'] == 1

    user_image = tmp_path / 'data' / 'coco' / 'train2017' / '000000000009.jpg'  # a real data root
    user_image.parent.mkdir(parents=True)
    user_image.write_bytes(b'precious')
    result = run_tool('misc/make_demo_data.py', '--out-dir', tmp_path / 'data', '--num-train', 1, '--num-val', 1,
                      '--overwrite', check=False)
    assert result.returncode == 1
    assert result.stderr == (f'error: --out-dir {tmp_path / "data"} holds coco/, which this generator did not '
                             'write (there is no shapes_demo.json beside it), so it is not replaced: choose '
                             'another --out-dir\n')
    assert user_image.read_bytes() == b'precious'
    assert sorted(p.name for p in (tmp_path / 'data').iterdir()) == ['coco']


def test_make_demo_data_stopped_half_way_is_not_a_data_set_and_is_replaced_with_overwrite(tmp_path, monkeypatch):
    def stop_at_val(out_dir, split_index, *args):
        if split_index == 1:
            raise KeyboardInterrupt
        return write_split(out_dir, split_index, *args)

    write_split = shapes._write_split
    monkeypatch.setattr(shapes, '_write_split', stop_at_val)
    with pytest.raises(KeyboardInterrupt):
        make_demo_data(tmp_path, num_train=2, num_val=1, size=64)
    assert (tmp_path / 'coco' / 'annotations' / 'instances_train.json').is_file()
    assert finished_settings(tmp_path) is None  # the training split alone is no data set
    monkeypatch.undo()
    make_demo_data(tmp_path, num_train=2, num_val=1, size=64, overwrite=True)
    assert finished_settings(tmp_path) == dict(num_train=2, num_val=1, size=64, seed=0)


def test_tools_leave_out_the_pkg_resources_deprecation_warning(tmp_path):
    # the shipped configs inherit mmdet:: bases, for which mmengine imports pkg_resources
    result = run_tool('test.py', REPO_ROOT / 'configs' / 'maskrcnn_swiftformer_xs_coco.py',
                      tmp_path / 'missing.pth', '--work-dir', tmp_path, check=False)
    assert 'checkpoint not found' in result.stderr  # after the config was read
    assert 'pkg_resources' not in result.stderr
