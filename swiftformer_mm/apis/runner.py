"""Building the Runner from a prepared config, how it tests, and where it writes what the user asked for."""
import os.path as osp

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .config import add_custom_hooks


def build_runner(cfg: Config) -> Runner:
    """:meth:`Runner.from_cfg`, or the registered runner named by ``cfg.runner_type``."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def metrics_file(runner: Runner) -> str:
    """The JSON file where the runner's LoggerHook writes the metrics of ``runner.test()``."""
    return osp.join(runner.log_dir, f'{runner.timestamp}.json')


def load_strictly(cfg: Config) -> None:
    """Makes ``runner.test()`` stop when ``load_from`` does not fit the model
    (:class:`swiftformer_mm.engine.CheckpointFitHook`) instead of evaluating random layers."""
    add_custom_hooks(cfg, 'CheckpointFitHook')


def evaluate_in_deploy_form(cfg: Config) -> None:
    """Makes ``runner.test()`` fold every SwiftFormer into its deploy form after loading the
    checkpoint (:class:`swiftformer_mm.engine.SwitchToDeployHook`)."""
    add_custom_hooks(cfg, 'SwitchToDeployHook')
