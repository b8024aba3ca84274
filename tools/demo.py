"""The embedded default: trains, evaluates and draws both demos on synthetic data.

Runs, as a user would, every step as its own command:

1. ``tools/misc/make_demo_data.py``: the seeded "shapes" data set (reused when
   ``--data-dir`` holds a finished one of the same settings, made again otherwise);
2. ``tools/train.py`` on ``configs/demo/maskrcnn_swiftformer_xs_shapes.py``
   and ``configs/demo/fpn_swiftformer_xs_shapes.py``, from scratch;
3. ``tools/test.py`` on the final checkpoint: the metrics of the val split;
4. ``tools/visualize.py --with-gt``: a ground truth | prediction panel for
   every val image;
5. ``tools/analysis_tools/plot_training.py``: training loss and validation metrics (PNG).

Each run goes to a new folder ``work_dirs/demo/<timestamp>/`` so nothing of an
earlier run is overwritten. ``--quick`` shrinks data and schedules to a
smoke test of the whole chain (tests/test_demo.py checks its options); its metrics mean nothing.
The steps live in ``swiftformer_mm.demo``.
"""
import argparse
import sys
from pathlib import Path

from swiftformer_mm.demo import DEMOS, DemoStopped, run_demos

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-dir', type=Path, default=REPO / 'data' / 'shapes',
                        help='where the synthetic data is (made there if absent)')
    parser.add_argument('--work-dir', type=Path, default=REPO / 'work_dirs' / 'demo',
                        help='parent of the timestamped run folder')
    parser.add_argument('--only', choices=sorted(DEMOS), help='run one of the two demos')
    parser.add_argument('--quick', action='store_true', help='tiny data and schedule: a smoke test')
    args = parser.parse_args(argv)
    try:
        run_demos(REPO, args.data_dir, args.work_dir, args.only, args.quick)
    except DemoStopped as error:
        sys.exit(str(error))


if __name__ == '__main__':
    main()
