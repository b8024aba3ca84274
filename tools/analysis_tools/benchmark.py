"""Speed of the SwiftFormer backbone next to HF's, timm's and ResNet-50 (see ``--help``).

The benchmark lives in ``swiftformer_mm.benchmark``; this tool only runs
its ``main``. It needs torch, mmengine and numpy, and ``swiftformer_mm``
importable (installed, or the repository root on ``PYTHONPATH``).

Example::

    python tools/analysis_tools/benchmark.py --arch l1 --sizes 800x1216 512x512 --threads 2 \\
        --out-json work_dirs/benchmark.json --out-png work_dirs/benchmark.png
"""
from swiftformer_mm.benchmark import main

if __name__ == '__main__':
    main()
