"""Silences the one library warning that every tool would print and that no user can act on.

MMEngine 0.10.7 imports setuptools' deprecated ``pkg_resources`` (and reloads
it, warning again each time) whenever a config inherits ``mmdet::`` or
``mmseg::`` bases. The tools import this module through
``swiftformer_mm.apis`` before they read a config; every other warning is
left as it is.
"""
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API', category=UserWarning)
