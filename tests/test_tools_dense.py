"""tools/train.py, test.py, visualize.py and dist_*.sh on detection and segmentation configs.

The configs are the two demos (configs/demo/) pointed at a tiny synthetic data
set and shrunk to a few iterations; one training run per task is shared by
the module (fixtures ``det_run`` and ``seg_run``). Every tool runs as a
subprocess, as a user runs it.
"""
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from pycocotools import mask as mask_utils

from conftest import REPO_ROOT, make_shapes, run_tool
from swiftformer_mm.apis import config_metainfo
from swiftformer_mm.cli import (ConfigError, check_backbone, check_num_classes, draw_predictions, dump_predictions,
                                 enable_amp, enable_auto_scale_lr, load_config, load_run_config, set_resume, task_of)
from swiftformer_mm.cli.distributed import _replace_sync_bn
from swiftformer_mm.cli.images import collect_images, prepare_out_dir
from swiftformer_mm.cli.panels import MIN_SIDE
from swiftformer_mm.checkpoint import load_checkpoint_file

DET_CLASSES = ('circle', 'triangle', 'square')
SEG_CLASSES = ('background', ) + DET_CLASSES
NUM_VAL = 4
SIZE = 64

# Colours no shape of the synthetic data comes near (their hues are red, green
# and blue +-40 degrees; the backgrounds are dull), so that drawn masks show.
DET_PALETTE = [(255, 255, 0), (0, 255, 255), (255, 0, 255)]
# Demo det config + tiny data; score_thr=0 keeps the boxes of a barely trained
# model so that there is something to draw.
DET_CONFIG = """
_base_ = [{demo!r}]
data_root = {root!r}
metainfo = dict(classes=('circle', 'triangle', 'square'), palette={palette!r})
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(**loader, dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(**loader, dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))
train_cfg = dict(max_epochs=1, val_interval=1)
"""
SEG_CONFIG = """
_base_ = [{demo!r}]
data_root = {root!r}
loader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
train_dataloader = dict(batch_size=4, **loader)
val_dataloader = dict(**loader)
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
"""


def printed_path(stdout, label):
    """The path a tool printed as ``<label>: <path>``."""
    match = re.search(rf'^{label}: (.+)$', stdout, re.MULTILINE)
    assert match, f'no "{label}:" line in:\n{stdout[-2000:]}'
    return Path(match.group(1))


def rgb(path):
    return np.asarray(Image.open(path).convert('RGB')).astype(int)


def at_input_size(drawn, parts=1):
    """The ``parts`` side-by-side images of ``drawn`` (below any caption band), each drawn from
    a SIZE x SIZE input, back at SIZE x SIZE (the centre pixel of each enlarged pixel), after
    checking that they are enlarged by the least integer factor that reaches MIN_SIDE."""
    factor = drawn.shape[1] // (parts * SIZE)
    assert drawn.shape[1] == parts * factor * SIZE and (factor - 1) * SIZE < MIN_SIDE <= factor * SIZE
    images = np.split(drawn[drawn.shape[0] - factor * SIZE:], parts, axis=1)
    return [image[factor // 2::factor, factor // 2::factor] for image in images]


def assert_captioned(panel):
    """Above a ground truth | prediction panel of square images, a band whose halves each hold
    dark text on white, two different texts."""
    band = panel[:panel.shape[0] - panel.shape[1] // 2]
    halves = np.split(band, 2, axis=1)
    for half in halves:
        white, dark = (half > 200).all(-1).mean(), (half < 80).all(-1).mean()
        assert white > 0.7 and dark > 0.01, (white, dark)
    assert not np.array_equal(*halves)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('shapes')
    return make_shapes(root, 8, NUM_VAL, SIZE)


@pytest.fixture(scope='module')
def det_config(data_root):
    path = data_root / 'det_tiny.py'
    path.write_text(DET_CONFIG.format(
        demo=str(REPO_ROOT / 'configs/demo/maskrcnn_swiftformer_xs_shapes.py'),
        root=f'{data_root}/coco/', palette=DET_PALETTE))
    return path


@pytest.fixture(scope='module')
def seg_config(data_root):
    path = data_root / 'seg_tiny.py'
    path.write_text(SEG_CONFIG.format(
        demo=str(REPO_ROOT / 'configs/demo/fpn_swiftformer_xs_shapes.py'),
        root=f'{data_root}/ade/'))
    return path


def _train(config, work_dir):
    result = run_tool('train.py', config, '--work-dir', work_dir)
    checkpoint = Path((work_dir / 'last_checkpoint').read_text().strip())
    return dict(config=config, work_dir=work_dir, checkpoint=checkpoint, stdout=result.stdout)


@pytest.fixture(scope='module')
def det_run(det_config, tmp_path_factory):
    return _train(det_config, tmp_path_factory.mktemp('det_work'))


@pytest.fixture(scope='module')
def seg_run(seg_config, tmp_path_factory):
    return _train(seg_config, tmp_path_factory.mktemp('seg_work'))


# --- train.py --------------------------------------------------------------------------------


@pytest.mark.parametrize('run, name, classes', [('det_run', 'epoch_1.pth', DET_CLASSES),
                                                ('seg_run', 'iter_2.pth', SEG_CLASSES)])
def test_train_writes_a_checkpoint_that_knows_its_classes(run, name, classes, request):
    run = request.getfixturevalue(run)
    assert run['checkpoint'] == run['work_dir'] / name and run['checkpoint'].is_file()
    assert printed_path(run['stdout'], 'checkpoints and logs') == run['work_dir']
    meta = load_checkpoint_file(run['checkpoint'])['meta']
    assert tuple(meta['dataset_meta']['classes']) == classes


def test_seg_demo_uses_sync_bn_yet_trains_in_one_cpu_process(seg_config, seg_run):
    assert Config.fromfile(str(seg_config)).model.decode_head.norm_cfg.type == 'SyncBN'
    # one process without a launcher: MMEngine's Runner reverted SyncBN to BN, and the run trained
    assert 'SyncBatchNorm (SyncBN) layers in the model will be automatically reverted' in seg_run['stdout']
    assert seg_run['checkpoint'].is_file()


# --- test.py ---------------------------------------------------------------------------------


def test_test_det_writes_metrics_pickle_and_drawings(det_run, tmp_path):
    out = tmp_path / 'predictions.pkl'
    out.write_bytes(b'an earlier run')  # replaced: --overwrite
    result = run_tool('test.py', det_run['config'], det_run['checkpoint'], '--work-dir', tmp_path,
                      '--out', out, '--show-dir', tmp_path / 'painted', '--overwrite')
    metrics = json.loads(printed_path(result.stdout, 'metrics').read_text())
    assert {'coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'} <= set(metrics)
    predictions = pickle.loads(out.read_bytes())
    assert len(predictions) == NUM_VAL
    assert {'bboxes', 'scores', 'labels', 'masks'} <= set(predictions[0]['pred_instances'])
    drawn = printed_path(result.stdout, 'drawn images')
    assert drawn == tmp_path / 'painted'
    assert len(list(drawn.glob('val_*.jpg'))) == NUM_VAL


def test_test_det_in_the_fast_inference_mode_predicts_what_the_training_form_does(det_run, tmp_path):
    """``--deploy --compile`` on a CPU: the deploy form's backbone and the FPN neck compiled as one
    module (a real Inductor compile); ``--cuda-graphs`` has nothing to replay on a CPU."""
    runs = {}
    for name, extra in (('plain', []), ('fast', ['--deploy', '--compile', '--cuda-graphs'])):
        result = run_tool('test.py', det_run['config'], det_run['checkpoint'], '--work-dir', tmp_path / name,
                          '--out', tmp_path / f'{name}.pkl', *extra)
        metrics = json.loads(printed_path(result.stdout, 'metrics').read_text())
        runs[name] = metrics, pickle.loads((tmp_path / f'{name}.pkl').read_bytes())
    assert 'backbone and neck compiled (torch.compile), once per input shape' in result.stdout + result.stderr
    (metrics, predictions), (fast_metrics, fast_predictions) = runs['plain'], runs['fast']
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert fast_metrics[key] == pytest.approx(metrics[key], abs=1e-3), key
    assert len(fast_predictions) == len(predictions) == NUM_VAL
    for got, expected in zip(fast_predictions, predictions):
        got, expected = got['pred_instances'], expected['pred_instances']
        assert torch.equal(got['labels'], expected['labels'])
        torch.testing.assert_close(got['scores'], expected['scores'], rtol=0, atol=1e-4)
        torch.testing.assert_close(got['bboxes'], expected['bboxes'], rtol=0, atol=1e-2)


def test_test_seg_writes_metrics_label_maps_and_drawings(seg_run, data_root, tmp_path):
    out = tmp_path / 'label_maps'
    out.mkdir()
    stem = sorted((data_root / 'ade' / 'images' / 'validation').glob('*.jpg'))[0].stem
    (out / f'{stem}.png').write_bytes(b'an earlier run')  # replaced: --overwrite
    (out / 'notes.txt').write_text('kept')  # no name of this run's: left alone
    result = run_tool('test.py', seg_run['config'], seg_run['checkpoint'], '--work-dir', tmp_path,
                      '--out', out, '--show-dir', tmp_path / 'painted', '--overwrite')
    assert (out / 'notes.txt').read_text() == 'kept'
    metrics = json.loads(printed_path(result.stdout, 'metrics').read_text())
    assert {'mIoU', 'aAcc', 'mAcc'} <= set(metrics)
    label_maps = sorted(out.glob('*.png'))
    assert len(label_maps) == NUM_VAL
    # written in the dataset's own convention: 1=background .. 4=square (reduce_zero_label)
    values = np.unique(np.concatenate([np.unique(np.asarray(Image.open(p))) for p in label_maps]))
    assert set(values.tolist()) <= {1, 2, 3, 4}
    drawn = printed_path(result.stdout, 'drawn images')
    assert drawn == tmp_path / 'painted' / 'vis_data' / 'vis_image'
    assert len(list(drawn.glob('*.png'))) == NUM_VAL  # every image, not one in 50


@pytest.mark.parametrize('task, option, occupied', [
    ('det', '--out', 'predictions.pkl'),  # an existing file
    ('seg', '--out', 'label_maps/0.png'),  # a folder that holds label maps
    ('seg', '--show-dir', 'painted/vis_data/vis_image/0.png'),
    ('det', '--show-dir', 'painted/0.jpg'),  # absolute: not under the new <work_dir>/<timestamp>/
])
def test_test_refuses_to_write_over_results_before_the_run(task, option, occupied, det_run, seg_run,
                                                           tmp_path):
    run = det_run if task == 'det' else seg_run
    path = tmp_path / occupied
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'an earlier run')
    target = tmp_path / occupied.split('/')[0]
    result = run_tool('test.py', run['config'], run['checkpoint'], '--work-dir', tmp_path / 'work',
                      option, target, check=False)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    what = ('already exists; pass --overwrite to replace it' if target == path else
            'already holds files; pass --overwrite to write into it anyway')
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == f'error: {option} {target} {what}, or choose another path'
    assert path.read_bytes() == b'an earlier run'
    assert not (tmp_path / 'work').exists()  # refused before the runner was built


def _label_maps(folder):
    return {p.name: np.asarray(Image.open(p)) for p in sorted(folder.glob('*.png'))}


def test_test_seg_in_deploy_form_gives_the_training_forms_results(seg_run, tmp_path):
    """``--deploy`` folds the trained weights after loading them; a deploy-form checkpoint
    loads from the config with ``model.backbone.deploy=True``; both predict what the training
    form predicts. ``--compile`` compiles backbone, neck and decode head (on a CPU too); ``--cuda-graphs`` on a
    machine without CUDA says so and leaves them unreplayed."""
    runs = {}
    fast = ['--deploy', '--compile', '--cuda-graphs']
    for name, extra in (('train_form', []), ('deploy', ['--deploy']), ('fast', fast)):
        result = run_tool('test.py', seg_run['config'], seg_run['checkpoint'], '--work-dir', tmp_path / name,
                          '--out', tmp_path / name / 'maps', *extra)
        runs[name] = json.loads(printed_path(result.stdout, 'metrics').read_text())
    log = result.stdout + result.stderr
    assert 'CUDA graphs: the model is not on a CUDA device' in log
    assert 'backbone, neck and decode head compiled (torch.compile), once per input shape' in log
    # the deploy form's checkpoint: the whole segmentor switched and saved
    from mmseg.registry import MODELS
    from mmengine.registry import init_default_scope
    from swiftformer_mm import switch_to_deploy
    init_default_scope('mmseg')
    segmentor = MODELS.build(Config.fromfile(str(seg_run['config'])).model)
    saved = load_checkpoint_file(str(seg_run['checkpoint']))
    segmentor.load_state_dict(saved['state_dict'])
    switch_to_deploy(segmentor.eval())
    deploy_checkpoint = tmp_path / 'deploy.pth'
    torch.save({'state_dict': segmentor.state_dict(), 'meta': saved['meta']}, deploy_checkpoint)
    result = run_tool('test.py', seg_run['config'], deploy_checkpoint, '--work-dir', tmp_path / 'built',
                      '--out', tmp_path / 'built' / 'maps', '--cfg-options', 'model.backbone.deploy=True')
    runs['built'] = json.loads(printed_path(result.stdout, 'metrics').read_text())
    reference = _label_maps(tmp_path / 'train_form' / 'maps')
    assert len(reference) == NUM_VAL
    for name in ('deploy', 'built', 'fast'):
        for key in ('mIoU', 'aAcc', 'mAcc'):
            assert runs[name][key] == pytest.approx(runs['train_form'][key], abs=0.05), (name, key)
        maps = _label_maps(tmp_path / name / 'maps')
        assert maps.keys() == reference.keys()
        # the same class at (nearly) every pixel: float rounding may flip a near tie
        assert np.mean([(maps[k] == reference[k]).mean() for k in maps]) > 0.999, name


def test_train_stops_before_building_anything_when_pretrained_weights_are_missing(tmp_path):
    config = REPO_ROOT / 'configs' / 'maskrcnn_swiftformer_xs_coco.py'
    result = subprocess.run([sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), str(config),
                             '--work-dir', str(tmp_path / 'run')], capture_output=True, text=True,
                            cwd=tmp_path)  # neither checkpoints/ nor data/coco/ exist here
    assert result.returncode != 0
    assert "pretrained weights not found: 'checkpoints/SwiftFormer_XS.pth'" in result.stderr
    assert '--cfg-options model.backbone.init_cfg=None' in result.stderr
    assert 'Traceback' not in result.stderr and not (tmp_path / 'run').exists()


def test_dist_train_runs_two_cpu_processes_over_gloo(seg_config, tmp_path):
    result = run_tool('dist_train.sh', seg_config, 2, '--work-dir', tmp_path, '--cfg-options',
                      'train_cfg.max_iters=1', 'train_cfg.val_interval=1')
    assert (tmp_path / 'iter_1.pth').is_file()
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert "'backend': 'gloo'" in log and 'Distributed training: True' in log
    assert 'SyncBN norm config(s) replaced by BN' in result.stdout + result.stderr


# --- visualize.py ----------------------------------------------------------------------------


def test_visualize_det_folder_draws_one_image_per_input(det_run, data_root, tmp_path):
    images = sorted((data_root / 'coco' / 'val').glob('*.jpg'))
    result = run_tool('visualize.py', det_run['config'], det_run['checkpoint'],
                      data_root / 'coco' / 'val', '--out-dir', tmp_path / 'vis', '--score-thr', 0)
    assert f'images drawn in {tmp_path / "vis"}' in result.stdout
    for image in images:
        [drawn], original = at_input_size(rgb(tmp_path / 'vis' / f'{image.stem}.png')), rgb(image)
        assert (np.abs(drawn - original).max(axis=-1) > 40).mean() > 0.05


def _coco_instances(data_root, file_name):
    coco = json.loads((data_root / 'coco' / 'annotations' / 'instances_val.json').read_text())
    image_id = next(i['id'] for i in coco['images'] if i['file_name'] == file_name)
    return [(a['category_id'] - 1, mask_utils.decode(a['segmentation']).astype(bool))
            for a in coco['annotations'] if a['image_id'] == image_id]


def test_visualize_det_with_gt_draws_the_ground_truth_masks_in_their_class_colours(
        det_run, data_root, tmp_path):
    run_tool('visualize.py', det_run['config'], det_run['checkpoint'], '--with-gt',
             '--out-dir', tmp_path, '--opacity', 1)
    palette = np.array(DET_PALETTE)
    for image in sorted((data_root / 'coco' / 'val').glob('*.jpg')):
        panel, original = rgb(tmp_path / f'{image.stem}.png'), rgb(image)
        assert_captioned(panel)
        ground_truth, _ = at_input_size(panel, parts=2)
        instances = _coco_instances(data_root, image.name)
        if not instances:
            continue
        changed = np.abs(ground_truth - original).max(axis=-1) > 40
        # mask fill in the class colour (mmdet jitters it by up to 64 per channel);
        # contours, boxes and class names cover the rest of these 64 px images
        in_colour = {which: np.concatenate([
            (np.abs(pixels - palette[label]).max(axis=-1) <= 64)[mask]
            for label, mask in instances]).mean() for which, pixels in (('drawn', ground_truth),
                                                                        ('input', original))}
        for label, mask in instances:
            assert changed[mask].mean() > 0.5
        assert in_colour['drawn'] > 0.05 and in_colour['input'] < 0.01, (image.name, in_colour)


def test_visualize_seg_folder_and_with_gt_paint_the_class_map(seg_run, data_root, tmp_path):
    val = data_root / 'ade' / 'images' / 'validation'
    run_tool('visualize.py', seg_run['config'], seg_run['checkpoint'], val,
             '--out-dir', tmp_path / 'pred', '--opacity', 1)
    run_tool('visualize.py', seg_run['config'], seg_run['checkpoint'], '--with-gt',
             '--out-dir', tmp_path / 'gt', '--opacity', 1)
    palette = np.array(Config.fromfile(str(seg_run['config'])).palette)
    for image in sorted(val.glob('*.jpg')):
        [prediction] = at_input_size(rgb(tmp_path / 'pred' / f'{image.stem}.png'))
        # at opacity 1 the class map is the palette itself (class names aside)
        in_palette = (prediction[:, :, None] == palette[None, None]).all(-1).any(-1)
        assert in_palette.mean() > 0.7
        panel = rgb(tmp_path / 'gt' / f'{image.stem}.png')
        assert_captioned(panel)
        ground_truth, _ = at_input_size(panel, parts=2)
        labels = np.asarray(Image.open(data_root / 'ade' / 'annotations' / 'validation' /
                                       f'{image.stem}.png')).astype(int) - 1
        assert (ground_truth == palette[labels]).all(-1).mean() > 0.8


def test_visualize_deploy_draws_the_same_images(seg_run, data_root, tmp_path):
    val = data_root / 'ade' / 'images' / 'validation'
    for name, extra in (('train_form', []), ('deploy', ['--deploy'])):
        run_tool('visualize.py', seg_run['config'], seg_run['checkpoint'], val, '--out-dir', tmp_path / name,
                 *extra)
    for image in sorted(val.glob('*.jpg')):
        drawn, expected = rgb(tmp_path / 'deploy' / f'{image.stem}.png'), rgb(tmp_path / 'train_form' /
                                                                            f'{image.stem}.png')
        assert (drawn == expected).all(-1).mean() > 0.999


def test_visualize_refuses_a_non_empty_out_dir_before_any_work(det_config, data_root, tmp_path):
    (tmp_path / 'keep.png').write_bytes(b'precious')
    # a checkpoint that is not there: the refusal comes first, before the model is looked at
    result = run_tool('visualize.py', det_config, tmp_path / 'not_trained_yet.pth',
                      data_root / 'coco' / 'val', '--out-dir', tmp_path, check=False)
    assert result.returncode != 0
    assert f'error: --out-dir {tmp_path} already holds files; pass --overwrite' in result.stderr
    assert 'not_trained_yet' not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['keep.png']


# --- the libraries' inferencers on these configs and checkpoints ---------------------------


def dumped_config(run):
    """The config train.py's Runner wrote into the work dir: the user's, without the data checks
    that train.py adds to the pipelines (the inferencers look for LoadImageFromFile there)."""
    path = run['work_dir'] / run['config'].name
    assert 'LoadImageFromFile' in path.read_text() and 'LoadChecked' not in path.read_text()
    return str(path)


def test_det_inferencer_takes_the_shapes_classes_from_the_checkpoint(det_run, data_root):
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=dumped_config(det_run), weights=str(det_run['checkpoint']),
                               device='cpu')
    assert tuple(inferencer.model.dataset_meta['classes']) == DET_CLASSES
    result = inferencer(str(data_root / 'coco' / 'val' / 'val_00001.jpg'), return_vis=True,
                        no_save_vis=True)
    assert result['visualization'][0].shape == (SIZE, SIZE, 3)
    assert {'labels', 'scores', 'bboxes', 'masks'} <= set(result['predictions'][0])
    assert tuple(inferencer.visualizer.dataset_meta['classes']) == DET_CLASSES


@pytest.mark.usefixtures('one_thread')
def test_det_inferencer_predicts_the_same_in_the_deploy_form(det_run, data_root):
    from mmdet.apis import DetInferencer
    from swiftformer_mm import switch_to_deploy
    inferencer = DetInferencer(model=dumped_config(det_run), weights=str(det_run['checkpoint']),
                               device='cpu')
    image = str(data_root / 'coco' / 'val' / 'val_00001.jpg')
    expected = inferencer(image, no_save_vis=True)['predictions'][0]
    switch_to_deploy(inferencer.model)  # the documented route (README, "Deploy form")
    assert inferencer.model.backbone.deploy
    predicted = inferencer(image, no_save_vis=True)['predictions'][0]
    assert predicted['labels'] == expected['labels']
    np.testing.assert_allclose(predicted['scores'], expected['scores'], atol=1e-4)
    np.testing.assert_allclose(predicted['bboxes'], expected['bboxes'], atol=1e-3)


@pytest.mark.usefixtures('one_thread')
def test_seg_inferencer_takes_the_shapes_classes_from_the_checkpoint(seg_run, data_root):
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(model=dumped_config(seg_run), weights=str(seg_run['checkpoint']),
                                 device='cpu')
    assert tuple(inferencer.model.dataset_meta['classes']) == SEG_CLASSES
    result = inferencer(str(data_root / 'ade' / 'images' / 'validation' / 'val_00001.jpg'),
                        return_vis=True)
    assert result['predictions'].shape == (SIZE, SIZE)
    assert set(np.unique(result['predictions']).tolist()) <= {0, 1, 2, 3}
    # set from the model when drawing (its own __init__ defaults to Cityscapes)
    assert tuple(inferencer.visualizer.dataset_meta['classes']) == SEG_CLASSES


# --- swiftformer_mm.apis: the inference API ------------------------------------------------


@pytest.mark.usefixtures('one_thread')
def test_init_model_takes_the_classes_from_the_checkpoint_and_predicts_on_paths_and_arrays(det_run, data_root):
    from swiftformer_mm.apis import inference_model, init_model
    model = init_model(str(det_run['config']), str(det_run['checkpoint']))
    assert tuple(model.dataset_meta['classes']) == DET_CLASSES and not model.training
    image = data_root / 'coco' / 'val' / 'val_00001.jpg'
    from_path = inference_model(model, str(image)).pred_instances
    from_array = inference_model(model, np.asarray(Image.open(image))[:, :, ::-1].copy()).pred_instances
    torch.testing.assert_close(from_array.scores, from_path.scores)
    deployed = inference_model(init_model(str(det_run['config']), str(det_run['checkpoint']), deploy=True),
                               str(image)).pred_instances
    assert deployed.labels.tolist() == from_path.labels.tolist()
    torch.testing.assert_close(deployed.scores, from_path.scores, atol=1e-4, rtol=0)


def test_init_model_refuses_a_checkpoint_of_another_task(det_run, seg_config):
    from swiftformer_mm.apis import init_model
    from swiftformer_mm.checkpoint import CheckpointError
    with pytest.raises(CheckpointError, match='does not fit the model; likely a checkpoint of another task'):
        init_model(str(seg_config), str(det_run['checkpoint']))


@pytest.mark.usefixtures('one_thread')
def test_visualize_with_gt_walks_a_concat_dataset(seg_run, data_root, tmp_path):
    config = tmp_path / 'concat.py'
    config.write_text(f"""_base_ = [{str(seg_run['config'])!r}]
_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', reduce_zero_label=True),
             dict(type='PackSegInputs')]
test_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', datasets=[
    dict(type='BaseSegDataset', data_root={str(data_root / 'ade')!r}, img_suffix='.jpg', seg_map_suffix='.png',
         reduce_zero_label=True, metainfo=dict(classes={SEG_CLASSES!r}), pipeline=_pipeline,
         data_prefix=dict(img_path='images/' + split, seg_map_path='annotations/' + split))
    for split in ('validation', 'training')]))
""")
    run_tool('visualize.py', config, seg_run['checkpoint'], '--with-gt', '--split', 'test',
             '--out-dir', tmp_path / 'gt')
    images = sorted((data_root / 'ade' / 'images').glob('*/*.jpg'))
    assert sorted(p.name for p in (tmp_path / 'gt').iterdir()) == sorted(f'{p.stem}.png' for p in images)
    assert len(images) == NUM_VAL + 8  # the two data sets of the ConcatDataset
    for image in images:
        assert_captioned(rgb(tmp_path / 'gt' / f'{image.stem}.png'))


# --- the config edits behind the flags, in process ------------------------------------------


def test_config_task_and_work_dir(det_config, seg_config, tmp_path):
    assert task_of(load_run_config(str(det_config))) == 'det'
    cfg = load_run_config(str(seg_config), cfg_options={'train_cfg.max_iters': 7})
    assert task_of(cfg) == 'seg' and cfg.train_cfg.max_iters == 7
    assert cfg.work_dir == 'work_dirs/seg_tiny' and cfg.launcher == 'none'
    other = tmp_path / 'cls.py'
    other.write_text("default_scope = 'mmpretrain'\n")
    with pytest.raises(ConfigError, match="default_scope is 'mmpretrain'.*'mmdet'.*'mmseg'"):
        task_of(load_run_config(str(other)))


DEMO_SEG = REPO_ROOT / 'configs/demo/fpn_swiftformer_xs_shapes.py'


def test_cascade_decode_heads_without_a_neck_are_checked_by_their_first_head():
    cfg = load_run_config(str(DEMO_SEG))
    head = dict(type='FPNHead', in_channels=[48, 56, 112, 220], in_index=[0, 1, 2, 3], feature_strides=[4, 8, 16, 32],
                channels=16, num_classes=4, norm_cfg=dict(type='SyncBN'))
    cfg.model.neck = None
    cfg.model.decode_head = [head, dict(head, type='OCRHead', num_classes=150)]  # mmseg's CascadeEncoderDecoder
    check_backbone(cfg, pretrained=False)  # the first head takes what the backbone returns: fits
    with pytest.raises(ConfigError, match='model.decode_head.1.num_classes is 150, but test_dataloader.dataset '
                       'has 4 classes'):
        check_num_classes(cfg, ['test'])
    cfg.model.backbone.arch = 'l1'
    with pytest.raises(ConfigError, match=re.escape('model.decode_head.0.in_channels is [48, 56, 112, 220], but '
                                                    "the SwiftFormer backbone (arch 'l1') returns [48, 96, 192, 384]")):
        check_backbone(cfg, pretrained=False)
    assert _replace_sync_bn(cfg.model) == 2  # a launched run without CUDA: every head's SyncBN
    assert [head.norm_cfg.type for head in cfg.model.decode_head] == ['BN', 'BN']


def test_a_model_takes_its_classes_from_the_first_test_data_set():
    cfg = load_config(str(DEMO_SEG))
    assert tuple(config_metainfo(cfg)['classes']) == SEG_CLASSES
    first = dict(cfg.test_dataloader.dataset, metainfo=dict(classes=('sky', 'sea')))
    cfg.test_dataloader.dataset = dict(type='ConcatDataset', datasets=[first, cfg.val_dataloader.dataset])
    assert tuple(config_metainfo(cfg)['classes']) == ('sky', 'sea')
    cfg.test_dataloader = None
    with pytest.raises(ConfigError, match='the config has no test_dataloader.dataset'):
        config_metainfo(cfg)


def test_train_flags_edit_the_config(seg_config, monkeypatch):
    cfg = load_run_config(str(seg_config))
    set_resume(cfg, None)  # --resume on a work dir without checkpoints: a new run
    assert not cfg.get('resume') and cfg.get('load_from') is None
    set_resume(cfg, 'work_dirs/x/iter_2.pth')
    assert cfg.resume is True and cfg.load_from == 'work_dirs/x/iter_2.pth'
    with pytest.raises(ConfigError, match='auto_scale_lr=dict\\(base_batch_size=N\\)'):
        enable_auto_scale_lr(cfg)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=32)
    enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr.enable is True
    from swiftformer_mm.cli import runner
    for device in ('cuda', 'npu', 'mlu', 'musa'):  # a machine without any device AmpOptimWrapper runs on
        monkeypatch.setattr(runner, f'is_{device}_available', lambda: False)
    with pytest.raises(ConfigError, match='--amp needs a GPU'):
        enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    monkeypatch.setattr(runner, 'is_cuda_available', lambda: True)  # and one with a GPU
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.loss_scale == 'dynamic'


def test_test_flags_edit_the_config(det_config, seg_config):
    cfg = load_run_config(str(det_config))
    with pytest.raises(ConfigError, match='.pkl or .pickle'):
        dump_predictions(cfg, 'det', 'results.json')
    dump_predictions(cfg, 'det', 'results.pkl')
    assert cfg.test_evaluator[-1] == dict(type='DumpDetResults', out_file_path='results.pkl')
    cfg = load_run_config(str(seg_config))
    assert 'visualization' not in cfg.default_hooks  # mmseg's default_runtime.py has none
    draw_predictions(cfg, 'seg', 'painted')
    assert cfg.default_hooks.visualization == dict(type='SegVisualizationHook', draw=True,
                                                   interval=1)
    assert cfg.visualizer.save_dir == 'painted'


def test_visualize_inputs_recurse_and_never_collide(tmp_path):
    for name in ('a/x.jpg', 'a/deep/y.PNG', 'a/notes.txt', 'b/x.jpg'):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b'')
    pairs = collect_images([tmp_path / 'a'])
    assert [(p.relative_to(tmp_path).as_posix(), n.as_posix()) for p, n in pairs] == [
        ('a/deep/y.PNG', 'deep/y.png'), ('a/x.jpg', 'x.png')]
    with pytest.raises(ValueError, match='would both be drawn to x.png'):
        collect_images([tmp_path / 'a' / 'x.jpg', tmp_path / 'b'])
    with pytest.raises(FileNotFoundError, match='input not found: .*missing.jpg'):
        collect_images([tmp_path / 'missing.jpg'])
    prepare_out_dir(tmp_path / 'a', overwrite=True)
    with pytest.raises(FileExistsError, match='pass --overwrite'):
        prepare_out_dir(tmp_path / 'a', overwrite=False)
