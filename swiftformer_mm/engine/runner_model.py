"""The model a hook works on: the Runner's, unwrapped."""
import torch.nn as nn
from mmengine.model import is_model_wrapper


def runner_model(runner) -> nn.Module:
    """``runner.model`` without its wrapper (``MMDistributedDataParallel``, ...), if any."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model
