"""Evaluating a trained model in SwiftFormer's deploy form (``tools/test.py --deploy``)."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..models import switch_to_deploy
from .runner_model import runner_model


@HOOKS.register_module()
class SwitchToDeployHook(Hook):
    """Switches every SwiftFormer of the runner's model to its deploy form before testing.

    ``before_test`` runs after the Runner has loaded the checkpoint
    (``load_from``), so the training-form weights are loaded first and then
    folded (see :meth:`swiftformer_mm.SwiftFormer.switch_to_deploy`). A model
    whose backbone was built with ``deploy=True`` stays as it is.
    """

    priority = 'VERY_HIGH'

    def before_test(self, runner) -> None:
        switch_to_deploy(runner_model(runner).eval())
