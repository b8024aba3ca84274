"""The test metrics file written once, by one process, whole.

MMEngine 0.10.7's ``LoggerHook.after_test_epoch`` dumps the test metrics to
``<log_dir>/<timestamp>.json`` from every process of a distributed run. The
processes share the path, so two of them writing at once can leave one's text
with the tail of the other's (seen in CI: ``{...}}`` from two processes whose
``time`` values differ by a digit). :class:`MainProcessLoggerHook` logs the
metrics line as before and writes the file from the main process only,
through :func:`write_atomically`.
"""
import json
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook
from mmengine.registry import HOOKS

from .atomic_backend import write_atomically


@HOOKS.register_module()
class MainProcessLoggerHook(LoggerHook):
    """:class:`mmengine.hooks.LoggerHook` whose test metrics file has one writer."""

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        if is_main_process():
            path = osp.join(runner.log_dir, self.json_log_path)
            write_atomically(path, json.dumps(self._process_tags(tag)).encode())
