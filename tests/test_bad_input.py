"""Bad input gets a clear error naming the problem, odd but valid input just works, nothing is lost.

Each case runs ``tools/train.py`` or ``tools/test.py`` as a user would, on a
copy of a tiny synthetic data set (``tools/misc/make_demo_data.py``) with one
fault put into it, and the demo configs shrunk to a few iterations.
"""
import json
import re
import shutil

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import DATA_DIR, REPO_ROOT, make_shapes, run_tool
from swiftformer_mm.cli import ConfigError, check_data_paths, data_checks, load_config
from swiftformer_mm.data import CheckSegLabels, DataError, LoadChecked

SEG_CONFIG = """
_base_ = [{demo!r}]
data_root = {root!r}
loader = dict(num_workers=0, persistent_workers=False,
              dataset=dict(data_root=data_root, img_suffix={suffix!r}))
train_dataloader = dict(batch_size=2, **loader)
val_dataloader = dict(**loader)
test_dataloader = val_dataloader
widths = {widths!r}
model = dict(backbone=dict(arch={arch}), neck=dict(in_channels=widths, out_channels=16),
             decode_head=dict(in_channels=[16] * 4, channels=16))
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=1))
"""
DET_CONFIG = """
_base_ = [{demo!r}]
data_root = {root!r}
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=2, **loader, dataset=dict(data_root=data_root))
val_dataloader = dict(**loader, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
"""


def run(tool, *args):
    return run_tool(tool, *args, check=False)


def assert_clean_error(result, message):
    """Exit status 1, ``error: <message...>`` on stderr, no traceback."""
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert f'error: {message}' in result.stderr, result.stderr[-3000:]


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp('shapes'), 6, 2)


@pytest.fixture
def data(pristine, tmp_path):
    """A copy of the tiny data set that a test may damage."""
    shutil.copytree(pristine, tmp_path / 'data')
    return tmp_path / 'data'


def seg_config(data, arch=None, widths=(16, 24, 32, 40), suffix='.jpg'):
    """The seg demo on ``data``, with a tiny backbone of ``widths`` (or ``arch``, a config literal)."""
    if arch is None:
        arch = f'dict(_delete_=True, depths=[1, 1, 2, 1], widths={list(widths)})'
    path = data / 'seg.py'
    path.write_text(SEG_CONFIG.format(demo=str(REPO_ROOT / 'configs/demo/fpn_swiftformer_xs_shapes.py'),
                                      root=f'{data}/ade/', arch=arch, widths=list(widths), suffix=suffix))
    return path


def det_config(data):
    path = data / 'det.py'
    path.write_text(DET_CONFIG.format(demo=str(REPO_ROOT / 'configs/demo/maskrcnn_swiftformer_xs_shapes.py'),
                                      root=f'{data}/coco/'))
    return path


# --- paths ------------------------------------------------------------------------------------


def test_a_missing_config_is_named_as_the_config_by_every_tool(tmp_path):
    checkpoint = DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth'
    missing, work_dir = tmp_path / 'nowhere.py', ('--work-dir', tmp_path / 'work')
    for tool, args in (('train.py', work_dir), ('test.py', (checkpoint, *work_dir)),
                       ('visualize.py', (checkpoint, '--with-gt', '--out-dir', tmp_path / 'drawn'))):
        result = run(tool, missing, *args)
        assert_clean_error(result, f'config not found: {missing} (resolved: {missing}); pass the path of an '
                           'mmdet or mmseg config file')
    assert not (tmp_path / 'work').exists() and not (tmp_path / 'drawn').exists()
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['./gone.py']\n")
    with pytest.raises(ConfigError) as missing_base:
        load_config(str(child))
    assert str(missing_base.value).startswith(f'{child}: ') and 'gone.py' in str(missing_base.value)
    assert str(missing_base.value).endswith('(a _base_ file the config inherits?)')


@pytest.mark.parametrize('under', [False, True])
def test_a_work_dir_that_is_a_file_is_refused_and_the_file_kept(data, tmp_path, under):
    taken = tmp_path / 'results.txt'
    taken.write_text('earlier results')
    work_dir = taken / 'run' if under else taken
    problem = f"lies under the file '{taken}'" if under else 'is a file'
    for tool, args in (('train.py', ()), ('test.py', (DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth', ))):
        result = run(tool, seg_config(data), *args, '--work-dir', work_dir)
        assert_clean_error(result, f"--work-dir '{work_dir}' {problem}, not a folder; pass --work-dir a new "
                           'folder or the folder of an earlier run')
        assert taken.read_text() == 'earlier results'


def test_missing_data_root_is_named_before_anything_is_built(data, tmp_path):
    shutil.rmtree(data / 'ade')
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f"train_dataloader.dataset.data_root: folder '{data}/ade/' does not exist")
    assert '--cfg-options train_dataloader.dataset.data_root=' in result.stderr
    assert not (tmp_path / 'work').exists()  # nothing built, nothing written


def test_missing_annotation_file_is_named_before_anything_is_built(data, tmp_path):
    (data / 'coco' / 'annotations' / 'instances_val.json').unlink()
    result = run('train.py', det_config(data), '--work-dir', tmp_path / 'work')
    assert_clean_error(result, "val_dataloader.dataset.ann_file: file "
                       f"'{data}/coco/annotations/instances_val.json' does not exist")
    assert not (tmp_path / 'work').exists()
    result = run('test.py', det_config(data), DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth')
    assert_clean_error(result, "test_dataloader.dataset.ann_file: file")


def test_missing_checkpoint_for_test_is_named(data):
    result = run('test.py', seg_config(data), data / 'nowhere.pth')
    assert_clean_error(result, f"checkpoint not found: '{data / 'nowhere.pth'}' (resolved: ")


# --- images -----------------------------------------------------------------------------------


def _damage(path, how):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if how == 'truncated' else b'not an image at all')


@pytest.mark.parametrize('how', ['truncated', 'corrupt'])
def test_unreadable_training_image_is_named(data, tmp_path, how):
    bad = data / 'ade' / 'images' / 'training' / 'train_00003.jpg'
    _damage(bad, how)
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f'cannot read image {bad}')
    assert '--skip-unreadable' in result.stderr


def test_skip_unreadable_trains_on_the_other_images_with_a_warning(data, tmp_path):
    bad = data / 'ade' / 'images' / 'training' / 'train_00003.jpg'
    _damage(bad, 'truncated')
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work', '--skip-unreadable')
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'skipped unreadable image {bad}' in result.stdout
    assert (tmp_path / 'work' / 'iter_4.pth').is_file()


def test_unreadable_test_image_is_named_by_test_py(data):
    bad = data / 'coco' / 'val' / 'val_00001.jpg'
    _damage(bad, 'corrupt')
    config = det_config(data)
    result = run('test.py', config, whole_model_checkpoint(config, data / 'det.pth'))
    assert_clean_error(result, f'cannot read image {bad}')


# --- files that exist but cannot be read ---------------------------------------------------------


def test_truncated_annotation_file_is_named_before_anything_is_built(data, tmp_path):
    ann = data / 'coco' / 'annotations' / 'instances_train.json'
    _damage(ann, 'truncated')
    result = run('train.py', det_config(data), '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f'train_dataloader.dataset.ann_file: annotation file {ann} is not valid JSON (')
    assert '--cfg-options train_dataloader.dataset.ann_file=' in result.stderr
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('content, problem', [
    ('[]', 'holds a JSON list, not an object with the annotations'),
    ('{"annotations": []}', "has no 'images' or 'categories' list, so it is not a COCO annotation file"),
    ('{"images": [], "categories": [', 'is not valid JSON (Expecting value: line 1, column 31;'),
])
def test_annotation_files_of_data_sets_and_evaluators_are_parsed(data, content, problem):
    cfg = load_config(str(det_config(data)))
    ann = data / 'coco' / 'annotations' / 'instances_val.json'
    broken = data / 'broken.json'
    broken.write_text(content)
    check_data_paths(cfg, ['val'])  # the intact files pass
    cfg.val_evaluator.ann_file = str(broken)
    with pytest.raises(DataError, match=re.escape(f'val_evaluator.ann_file: annotation file {broken} {problem}')):
        check_data_paths(cfg, ['val'])
    ann.write_text(content)
    with pytest.raises(DataError, match=re.escape(f'val_dataloader.dataset.ann_file: annotation file {ann} {problem}')):
        check_data_paths(cfg, ['val'])


def test_annotation_file_over_the_parse_limit_is_checked_to_be_whole(data, monkeypatch):
    cfg = load_config(str(det_config(data)))
    monkeypatch.setattr(data_checks, 'PARSE_LIMIT', 100)  # the demo's files are larger
    check_data_paths(cfg, ['val'])
    ann = data / 'coco' / 'annotations' / 'instances_val.json'
    _damage(ann, 'truncated')
    with pytest.raises(DataError, match='does not end as a JSON object does'):
        check_data_paths(cfg, ['val'])


@pytest.mark.parametrize('how, reason', [
    ('truncated', 'the file is truncated, corrupt or not an image (OSError: image file is truncated)'),
    ('corrupt', 'the file is truncated, corrupt or not an image (UnidentifiedImageError: cannot identify'),
    ('empty', 'the file is empty'),
    ('missing', 'no such file'),
])
def test_unreadable_label_map_is_named(data, how, reason):
    import mmseg.datasets  # noqa: F401  (registers mmseg.LoadAnnotations)
    label = data / 'ade' / 'annotations' / 'training' / 'train_00001.png'
    {'empty': lambda p: p.write_bytes(b''), 'missing': lambda p: p.unlink()}.get(how, lambda p: _damage(p, how))(label)
    step = LoadChecked(dict(type='mmseg.LoadAnnotations', reduce_zero_label=True))
    sample = dict(img_path=str(data / 'ade' / 'images' / 'training' / 'train_00001.jpg'),
                  seg_map_path=str(label), reduce_zero_label=True, seg_fields=[])
    with pytest.raises(DataError, match=re.escape(f'cannot read label map {label}: {reason}')):
        step(sample)


def test_unreadable_label_map_is_named_from_data_loader_workers(data, tmp_path):
    bad = data / 'ade' / 'annotations' / 'training' / 'train_00002.png'
    _damage(bad, 'truncated')
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work',
                 '--cfg-options', 'train_dataloader.num_workers=2')
    assert_clean_error(result, f'cannot read label map {bad}: the file is truncated, corrupt or not an image')
    assert len([line for line in result.stderr.splitlines() if line.startswith('error: ')]) == 1
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_file_that_is_not_a_checkpoint_is_named_by_test_py(data):
    fake = data / 'notes.pth'
    fake.write_text('hello\n')  # torch.load would read 'h' as a pickle opcode and fail with KeyError: 101
    result = run('test.py', seg_config(data), fake)
    assert_clean_error(result, f"'{fake}' is not a PyTorch checkpoint: it holds text")


def test_syntax_error_in_a_base_config_names_that_file_and_line(data, tmp_path):
    base = data / 'base.py'
    base.write_text("model = dict(type='x')\nloader = dict(\n")
    child = data / 'child.py'
    child.write_text("_base_ = ['./base.py']\n")
    result = run('train.py', child, '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f"{base}, line 2: '(' was never closed. Fix the syntax there")


def _seg_checkpoint(config, path):
    """A checkpoint of the (untrained) model of ``config``, for tools that need one."""
    import torch
    from mmseg.apis import init_model
    torch.save({'state_dict': init_model(str(config), None, device='cpu').state_dict()}, path)
    return path


def test_visualize_names_each_unreadable_image_and_draws_the_rest(data, tmp_path):
    images = tmp_path / 'images'
    shutil.copytree(data / 'ade' / 'images' / 'validation', images)
    bad = images / 'bad.jpg'
    bad.write_bytes(b'not an image at all')
    config = seg_config(data)
    result = run('visualize.py', config, _seg_checkpoint(config, tmp_path / 'model.pth'), images,
                 '--out-dir', tmp_path / 'vis')
    assert_clean_error(result, '1 of 3 images could not be read (each is named above); the others are drawn')
    assert f'skipped: cannot read image {bad}: ' in result.stderr
    assert sorted(p.name for p in (tmp_path / 'vis').iterdir()) == ['val_00000.png', 'val_00001.png']


def test_visualize_with_gt_names_an_unreadable_label_map_and_draws_the_rest(data, tmp_path):
    bad = data / 'ade' / 'annotations' / 'validation' / 'val_00001.png'
    _damage(bad, 'truncated')
    config = seg_config(data)
    result = run('visualize.py', config, _seg_checkpoint(config, tmp_path / 'model.pth'), '--with-gt',
                 '--out-dir', tmp_path / 'vis')
    assert_clean_error(result, '1 of 2 images could not be read')
    assert f'skipped: cannot read label map {bad}: the file is truncated' in result.stderr
    assert sorted(p.name for p in (tmp_path / 'vis').iterdir()) == ['val_00000.png']


def _variants(rgb):
    """The same picture as grayscale, RGBA and 16-bit files, and what each must load as (BGR)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return {
        'gray': (lambda p: Image.fromarray(gray).save(p), np.repeat(gray[..., None], 3, axis=2)),
        'rgba': (lambda p: Image.fromarray(np.dstack([rgb, np.full_like(rgb[..., :1], 128)])).save(p),
                 rgb[..., ::-1]),
        'uint16': (lambda p: cv2.imwrite(str(p), rgb[..., ::-1].astype(np.uint16) * 257), rgb[..., ::-1]),
    }


def test_grayscale_rgba_and_16_bit_images_load_as_8_bit_bgr(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (37, 51, 3), dtype=np.uint8)
    import mmcv.transforms  # noqa: F401  (registers LoadImageFromFile)
    loader = LoadChecked(dict(type='LoadImageFromFile'))
    for name, (write, expected) in _variants(rgb).items():
        path = tmp_path / f'{name}.png'
        write(path)
        loaded = loader(dict(img_path=str(path)))['img']
        assert loaded.dtype == np.uint8 and loaded.shape == (37, 51, 3), name
        assert np.array_equal(loaded, expected), name


def test_grayscale_rgba_16_bit_and_tiny_images_train_and_evaluate(data, tmp_path):
    """Such files in both splits: training and evaluation run through, every image is scored."""
    images, labels = data / 'ade' / 'images', data / 'ade' / 'annotations'
    for path in images.rglob('*.jpg'):  # one suffix per folder (BaseSegDataset): all PNG
        Image.open(path).save(path.with_suffix('.png'))
        path.unlink()
    for split, stem in (('training', 'train_00000'), ('validation', 'val_00000')):
        rgb = np.asarray(Image.open(images / split / f'{stem}.png').convert('RGB'))
        for name, (write, _) in _variants(rgb).items():
            write(images / split / f'{stem}_{name}.png')
            shutil.copy(labels / split / f'{stem}.png', labels / split / f'{stem}_{name}.png')
        # smaller than 32 px on a side, with its label map
        Image.fromarray(rgb[:20, :27]).save(images / split / f'{stem}_tiny.png')
        Image.open(labels / split / f'{stem}.png').crop((0, 0, 27, 20)).save(
            labels / split / f'{stem}_tiny.png')
    config = seg_config(data, suffix='.png')
    result = run('train.py', config, '--work-dir', tmp_path / 'work')
    assert result.returncode == 0, result.stderr[-3000:]
    result = run('test.py', config, tmp_path / 'work' / 'iter_4.pth', '--work-dir', tmp_path / 'test',
                 '--out', tmp_path / 'labels')
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(p.name for p in (tmp_path / 'labels').iterdir())
    assert written == sorted([f'val_00000{s}.png' for s in ('', '_gray', '_rgba', '_uint16', '_tiny')]
                             + ['val_00001.png'])
    assert Image.open(tmp_path / 'labels' / 'val_00000_tiny.png').size == (27, 20)


def test_an_image_without_annotations_trains_and_evaluates(data, tmp_path):
    for split in ('train', 'val'):
        path = data / 'coco' / 'annotations' / f'instances_{split}.json'
        coco = json.loads(path.read_text())
        emptied = coco['images'][0]['id']
        coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] != emptied]
        path.write_text(json.dumps(coco))
    config = det_config(data)
    result = run('train.py', config, '--work-dir', tmp_path / 'work')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'coco/bbox_mAP' in result.stdout


# --- labels -----------------------------------------------------------------------------------


def test_label_map_with_values_outside_the_classes_is_named(data, tmp_path):
    bad = data / 'ade' / 'annotations' / 'training' / 'train_00002.png'
    label = np.asarray(Image.open(bad)).copy()
    label[:5, :5] = 7  # the demo has classes 1-4 (0 ignored)
    Image.fromarray(label).save(bad)
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f'label map {bad} holds values [7] outside the 4 classes of the model '
                       '(valid: 1-4, with 0 ignored (reduce_zero_label=True))')
    assert not (tmp_path / 'work' / 'iter_4.pth').exists()


def test_label_check_accepts_classes_and_ignore_index_and_names_the_rest():
    check = CheckSegLabels(num_classes=3, ignore_index=255)
    fine = dict(gt_seg_map=np.array([[0, 1, 2, 255]], dtype=np.uint8), seg_map_path='a.png')
    assert check(fine) is fine
    with pytest.raises(DataError, match=r'label map b.png holds values \[3, 9\] .*\(valid: 0-2, and 255 ignored\)'):
        check(dict(gt_seg_map=np.array([[0, 3, 9, 255]], dtype=np.uint8), seg_map_path='b.png'))


# --- config and checkpoint --------------------------------------------------------------------


def test_unknown_arch_lists_the_valid_names_before_anything_is_built(data, tmp_path):
    result = run('train.py', seg_config(data, arch="'l2'", widths=(48, 56, 112, 220)), '--work-dir',
                 tmp_path / 'work')
    assert_clean_error(result, "model.backbone: unknown SwiftFormer arch 'l2'; valid names are "
                       "['l1', 'l3', 's', 'xs']")
    assert not (tmp_path / 'work').exists()


def test_backbone_argument_typo_names_the_closest_argument(data, tmp_path):
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work',
                 '--cfg-options', 'model.backbone.frozen_stage=1')
    assert_clean_error(result, "model.backbone: SwiftFormer has no argument 'frozen_stage'; did you "
                       "mean 'frozen_stages'?")
    assert not (tmp_path / 'work').exists()


def test_unregistered_data_set_type_is_named_before_anything_is_built(data, tmp_path):
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work',
                 '--cfg-options', 'val_dataloader.dataset.type=ShapesDataset')
    assert_clean_error(result, "the data set type 'ShapesDataset' is not registered in mmseg: check its name, "
                       "or import the module that registers it (custom_imports)")
    assert not (tmp_path / 'work').exists()


def test_checkpoint_of_another_variant_names_the_key_and_shapes(data, tmp_path):
    # the golden checkpoint's network has blocks 2, 2, 3, 2 and widths 16, 24, 32, 40
    config = seg_config(data, arch='dict(_delete_=True, depths=[2, 2, 3, 2], widths=[16, 24, 32, 48])',
                        widths=(16, 24, 32, 48))
    checkpoint = DATA_DIR / 'golden' / 'tiny_dense_checkpoint.pth'
    config.write_text(config.read_text().replace(
        'backbone=dict(',
        f'backbone=dict(init_cfg=dict(_delete_=True, type="Pretrained", checkpoint={str(checkpoint)!r}), '))
    result = run('train.py', config, '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f'{checkpoint} does not fit this model: stages.3.downsample.proj.weight '
                       'has shape (40, 32, 3, 3) in the checkpoint but (48, 32, 3, 3) in the model')
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_cfg_option_that_does_not_merge_is_a_clean_error(data, tmp_path):
    # the demo trains from scratch: its backbone's init_cfg is None, which has no 'type' to set
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work',
                 '--cfg-options', 'model.backbone.init_cfg.type=Pretrained')
    assert_clean_error(result, "--cfg-options {'model.backbone.init_cfg.type': 'Pretrained'}: ")
    assert not (tmp_path / 'work').exists()


# --- whole-model checkpoints: strict where a result depends on them ---------------------------


def whole_model_checkpoint(config, path):
    """A checkpoint of the model ``config`` builds (untrained: only its keys and shapes matter here)."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(str(config))
    init_default_scope(cfg.default_scope)
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture
def checkpoints(data, tmp_path):
    """A tiny Semantic FPN checkpoint and a demo Mask R-CNN checkpoint, both fitting their configs."""
    return (whole_model_checkpoint(seg_config(data), tmp_path / 'seg.pth'),
            whole_model_checkpoint(det_config(data), tmp_path / 'det.pth'))


def test_test_py_stops_on_a_checkpoint_of_another_task_instead_of_scoring_random_heads(data, checkpoints,
                                                                                        tmp_path):
    seg, det = checkpoints
    result = run('test.py', det_config(data), seg, '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f'{seg} does not fit the model; likely a checkpoint of another task or model '
                       '(it holds backbone, decode_head, neck; the model has backbone, neck, roi_head, rpn_head)')
    assert 'missing from the checkpoint (' in result.stderr  # the first keys are named
    assert not list((tmp_path / 'work').rglob('*.json'))  # no metrics of a model that was never loaded


def test_visualize_and_export_stop_on_a_checkpoint_of_another_task(data, checkpoints, tmp_path):
    seg, det = checkpoints
    result = run('visualize.py', seg_config(data), det, data / 'ade' / 'images' / 'validation',
                 '--out-dir', tmp_path / 'drawn')
    assert_clean_error(result, f'{det} does not fit the model; likely a checkpoint of another task or model')
    assert not (tmp_path / 'drawn').exists()  # refused before anything was written
    result = run('deployment/export_onnx.py', 'segmentor', seg_config(data), det, '--out', tmp_path / 'seg.onnx')
    assert_clean_error(result, f'{det} does not fit the model; likely a checkpoint of another task or model')
    assert not (tmp_path / 'seg.onnx').exists()


def test_test_py_names_another_backbone_variant_as_the_likely_cause(data, checkpoints, tmp_path):
    seg, _ = checkpoints
    result = run('test.py', seg_config(data, widths=(16, 24, 32, 48)), seg, '--work-dir', tmp_path / 'work')
    assert_clean_error(result, f'{seg} does not fit the model; likely a checkpoint of another backbone or '
                       'SwiftFormer variant (model.backbone.arch)')
    assert 'backbone.stages.3.downsample.proj.weight (40, 32, 3, 3) in the checkpoint vs (48, 32, 3, 3) in ' \
           'the model' in result.stderr


def test_fine_tuning_from_another_task_loads_what_fits_and_says_what_it_skipped(data, checkpoints, tmp_path):
    seg, det = checkpoints
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work', '--cfg-options',
                 f'load_from={det}', 'train_cfg.max_iters=1', 'train_cfg.val_interval=1')
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert f'{det} does not fit the model; likely a checkpoint of another task or model' in log
    assert 'These weights are NOT loaded: ' in log


# --- config inconsistencies, found before anything is built -----------------------------------


def test_neck_written_for_another_arch_names_the_in_channels_it_needs(data, tmp_path):
    result = run('train.py', seg_config(data), '--work-dir', tmp_path / 'work', '--cfg-options',
                 'model.backbone.arch=L1')
    assert_clean_error(result, "model.neck.in_channels is [16, 24, 32, 40], but the SwiftFormer backbone "
                       "(arch 'L1') returns [48, 96, 192, 384] channels: set model.neck.in_channels="
                       "[48, 96, 192, 384]")
    assert not (tmp_path / 'work').exists()


def test_head_classes_other_than_the_data_sets_are_named_before_evaluation(data, checkpoints, tmp_path):
    seg, _ = checkpoints
    result = run('test.py', seg_config(data), seg, '--work-dir', tmp_path / 'work', '--cfg-options',
                 'model.decode_head.num_classes=150')
    assert_clean_error(result, 'model.decode_head.num_classes is 150, but test_dataloader.dataset has 4 '
                       'classes (background, circle, triangle, square): set model.decode_head.num_classes=4')
    result = run('train.py', det_config(data), '--work-dir', tmp_path / 'work', '--cfg-options',
                 'model.roi_head.mask_head.num_classes=80')
    assert_clean_error(result, 'model.roi_head.mask_head.num_classes is 80, but train_dataloader.dataset has 3')
    assert not (tmp_path / 'work').exists()
