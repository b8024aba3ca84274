"""Building the Runner from a prepared config, and where it writes what the user asked for."""
import os.path as osp

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def build_runner(cfg: Config) -> Runner:
    """:meth:`Runner.from_cfg`, or the registered runner named by ``cfg.runner_type``."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def metrics_file(runner: Runner) -> str:
    """The JSON file where the runner's LoggerHook writes the metrics of ``runner.test()``."""
    return osp.join(runner.log_dir, f'{runner.timestamp}.json')
