"""The errors a run of the tools reports as one ``error: ...`` line instead of a traceback."""
from ..checkpoint import CheckpointError
from ..data import DataError
from ..engine import NonFiniteLossError

# raised while the Runner builds, loads or runs: a bad checkpoint, an unusable data file, a NaN loss
RUN_ERRORS = (CheckpointError, DataError, NonFiniteLossError)


def error_message(error: BaseException) -> str:
    """The message of ``error``; for one re-raised from a DataLoader worker, the worker's own
    message without the worker's traceback that PyTorch puts in front of it."""
    text = str(error)
    if 'Original Traceback' not in text:
        return text
    last = text.strip().splitlines()[-1]  # e.g. 'swiftformer_mm.data.guards.DataError: cannot ...'
    name, _, message = last.partition(': ')
    return message if name.endswith(type(error).__name__) else last
