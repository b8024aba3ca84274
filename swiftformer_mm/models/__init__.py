from .swiftformer import SwiftFormer

__all__ = ['SwiftFormer']
