"""The inference API: a trained detector or segmentor from a config and a checkpoint, and its
predictions (what ``mmdet.apis`` and ``mmseg.apis`` offer, with strict loading)."""
from .inference import config_metainfo, dataset_meta, inference_model, init_model

__all__ = ['config_metainfo', 'dataset_meta', 'inference_model', 'init_model']
