"""SwiftFormer (ICCV 2023) as an OpenMMLab 2.0 backbone.

Importing the package registers ``SwiftFormer`` in MMEngine's root model
registry, so ``dict(type='SwiftFormer', ...)`` builds from mmdet's and
mmseg's registries too; configs need only
``custom_imports=dict(imports=['swiftformer_mm'], allow_failed_imports=False)``.
It also makes MMEngine read local checkpoints with ``weights_only=True`` and
an explicit allow-list (see ``swiftformer_mm.checkpoint.mmengine_loader``), so
``load_from``, ``--resume`` and the inferencers work under torch>=2.6.
And it registers the fault-tolerance parts of ``swiftformer_mm.engine`` (an
atomic checkpoint file backend, a NaN-loss hook, a random-state hook) and
the data checks of ``swiftformer_mm.data`` (pipeline steps that name an
unreadable image or an out-of-range label file).
"""
from . import checkpoint  # noqa: F401
from . import data  # noqa: F401  (registers the checking pipeline steps)
from . import engine  # noqa: F401  (registers the atomic backend and training hooks)
from .models import SwiftFormer, switch_to_deploy

__version__ = '0.1.0'
__all__ = ['SwiftFormer', 'switch_to_deploy', '__version__']
