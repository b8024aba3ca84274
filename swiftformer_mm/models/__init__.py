from .reparam import switch_to_deploy
from .swiftformer import SwiftFormer

__all__ = ['SwiftFormer', 'switch_to_deploy']
