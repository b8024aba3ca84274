"""The Runner's checkpoint loads (``load_from``, resume) checked against the whole model."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..checkpoint.fit import check_fit, model_weights
from .runner_model import runner_model


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stops a run whose checkpoint does not fit its model, before any of it is loaded.

    ``after_load_checkpoint`` runs after the Runner has read the file and
    before it copies the weights into the model. With ``strict`` (evaluation:
    ``tools/test.py``) and for every resume, a key or shape that does not fit
    raises :class:`~swiftformer_mm.checkpoint.CheckpointError`; with
    ``strict=False`` (fine-tuning from ``load_from`` in ``tools/train.py``)
    one warning line names what is not loaded and why.
    """

    priority = 'VERY_HIGH'

    def __init__(self, strict: bool = True):
        self.strict = strict

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        resuming = getattr(runner, '_resume', False)  # the Runner keeps no public flag for it
        source = runner._load_from or 'the checkpoint resumed from'
        check_fit(runner_model(runner), model_weights(checkpoint), source, strict=self.strict or resuming)
