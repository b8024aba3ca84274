"""Qualitative images: a model's predictions, and optionally the ground truth, drawn by
mmdet's ``DetLocalVisualizer`` or mmseg's ``SegLocalVisualizer``.

The model comes from :func:`swiftformer_mm.apis.init_model` (strict loading; class names
and palette from the checkpoint, completed by the config's test data set) and predicts with
:func:`swiftformer_mm.apis.inference_model`; with both ``draw_gt`` and a prediction the visualizers put
ground truth (left) and prediction (right) side by side, and
:mod:`.panels` captions the two halves.
"""
import copy
from pathlib import Path
from typing import List

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ..apis import inference_model, init_model
from ..apis.inference import is_load_annotations
from ..config import ConfigError, first_model_part, first_test_dataset, leaf_datasets, registry_of
from .data_checks import check_dataset_files, guard_pipeline
from .panels import caption, enlarge, enlargement

SPLITS = ('val', 'test', 'train')


class Drawer:
    """Predicts with a trained model and draws the result.

    Args:
        cfg (Config): The model's config (not modified).
        checkpoint (str): Its checkpoint.
        task (str): ``'det'`` or ``'seg'`` (see :func:`task_of`).
        device (str): Where the model runs. Defaults to ``'cpu'``.
        opacity (float): Opacity of masks / of the class map over the image.
            Defaults to 0.5.
        score_thr (float): Detection only: draw the predictions scoring
            above this. Defaults to 0.3.
        deploy (bool): Predict with every SwiftFormer in its deploy form
            (folded after loading the checkpoint). Defaults to False.
        compile (bool): Compile the dense part (backbone, neck, a segmentor's decode head) with
            ``torch.compile``. Defaults to False.
        cuda_graphs (bool): On a GPU, replay the dense part as CUDA graphs. Defaults to False.
    """

    def __init__(self, cfg: Config, checkpoint: str, task: str, device: str = 'cpu', opacity: float = 0.5,
                 score_thr: float = 0.3, deploy: bool = False, compile: bool = False, cuda_graphs: bool = False):
        self.task = task
        self.score_thr = score_thr
        self.model = init_model(cfg, checkpoint, device=device, deploy=deploy, compile=compile,
                                cuda_graphs=cuda_graphs)
        visualizer_cfg = dict(cfg.visualizer, name=f'swiftformer_{task}_drawer', alpha=opacity,
                              vis_backends=None, save_dir=None)
        self.visualizer = registry_of(task, 'VISUALIZERS').build(visualizer_cfg)
        # set explicitly: mmseg 1.2.2's SegLocalVisualizer swaps classes and palette in __init__
        self.visualizer.dataset_meta = self.model.dataset_meta

    def predict(self, image_path: Path):
        """The model's DetDataSample / SegDataSample for one image file."""
        return inference_model(self.model, str(image_path))

    def draw(self, image: np.ndarray, prediction, out_file: Path, ground_truth=None) -> None:
        """Writes ``prediction`` drawn over the RGB ``image`` to ``out_file``.

        With ``ground_truth`` (a data sample of :class:`GroundTruth`), the
        image is a ground truth | prediction panel, each half captioned. An
        image whose shorter side is under :data:`~.panels.MIN_SIDE` pixels is
        drawn enlarged by an integer factor, so that its labels can be read.
        """
        sample = prediction.cpu()
        if ground_truth is not None:
            if self.task == 'det':
                gt_instances = ground_truth.gt_instances.clone()
                # DetLocalVisualizer wants a tensor; PackDetInputs packs HorizontalBoxes
                gt_instances.bboxes = getattr(gt_instances.bboxes, 'tensor', gt_instances.bboxes)
                sample.gt_instances = gt_instances
            else:
                sample.gt_sem_seg = ground_truth.gt_sem_seg
        image, sample = enlarge(image, sample, enlargement(*image.shape[:2]))
        options = dict(pred_score_thr=self.score_thr) if self.task == 'det' else {}
        out_file.parent.mkdir(parents=True, exist_ok=True)
        self.visualizer.add_datasample(
            out_file.stem, image, sample, draw_gt=ground_truth is not None, draw_pred=True,
            show=False, out_file=str(out_file), **options)
        if ground_truth is not None:  # the visualizers return nothing: caption the written panel
            mmcv.imwrite(caption(mmcv.imread(str(out_file))), str(out_file))


class GroundTruth:
    """The annotated images of one split of a config's data, loaded by its test pipeline.

    The test pipeline is used for every split so that the annotations are
    neither augmented nor resized (mmdet's and mmseg's test pipelines load
    them after the resize, at the size of the original image).

    Raises:
        ConfigError: the config has no such split, its test pipeline loads
            no annotations, or a path of the split's data set is missing.
        DataError: its annotation file does not parse.
    """

    def __init__(self, cfg: Config, task: str, split: str = 'val'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            raise ConfigError(f'the config has no {split}_dataloader; choose another --split')
        pipeline = copy.deepcopy(first_test_dataset(cfg).get('pipeline') or [])
        if not any(is_load_annotations(t) for t in pipeline):
            raise ConfigError('--with-gt needs the annotations, but the config\'s test pipeline '
                              'has no LoadAnnotations step')
        dataset_cfg = copy.deepcopy(loader.dataset)
        _, head = first_model_part(cfg, 'decode_head')
        # every data set of the split (through ConcatDataset, RepeatDataset, ...) with the test
        # pipeline, guarded: an unreadable image or label map is a DataError naming it, as in test.py
        for where, leaf in leaf_datasets(dataset_cfg, f'{split}_dataloader.dataset'):
            check_dataset_files(leaf, where)
            leaf.update(pipeline=guard_pipeline(pipeline, task, head), test_mode=True)
        init_default_scope(cfg.default_scope)  # the pipeline's transforms are the task library's
        self.dataset = registry_of(task, 'DATASETS').build(dataset_cfg)

    def image_paths(self) -> List[Path]:
        return [Path(self.dataset.get_data_info(i)['img_path']) for i in range(len(self.dataset))]

    def sample(self, index: int):
        """The data sample of image ``index``, holding its ground truth."""
        return self.dataset[index]['data_samples']

