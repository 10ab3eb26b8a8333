"""Detection timeline of one video: ground truth against the top predictions.

``python tools/analysis/plot_timeline.py PRED_JSON (--config CFG | --ann ANN [--subset S]
[--video-info CSV ...]) [--video NAME] [--top 10] [--tiou 0.5] [--out timeline.png]``

Without ``--video`` the video with the most ground-truth instances (at most 15, for a readable
plot) is drawn.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from diagnose_detections import add_reference_args, load_reference_from_args  # noqa: E402

from tadet.apis.cli import run_cli  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Plot ground truth vs predictions of one video')
    p.add_argument('predictions', help='ActivityNet result JSON')
    add_reference_args(p)
    p.add_argument('--video', help='video name (default: the one with most ground truth, up to 15)')
    p.add_argument('--top', type=int, default=10, help='predictions drawn (default 10)')
    p.add_argument('--tiou', type=float, default=0.5)
    p.add_argument('--out', help='output PNG (default: timeline_VIDEO.png next to PRED_JSON)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from tadet.evaluation.functional import load_predictions
    from tadet.visualization import plot_detection_timeline
    preds = load_predictions(args.predictions)
    gt, durations, classes = load_reference_from_args(args)
    if args.video is None:  # the busiest video that still reads well
        readable = [v for v in sorted(gt) if 0 < len(gt[v]) <= 15] or sorted(gt)
        video = max(readable, key=lambda v: len(gt[v]))
    else:
        video = args.video
    if video not in gt:
        raise KeyError(f'video {video!r} is not in the ground truth ({len(gt)} videos)')
    out = args.out or osp.join(osp.dirname(osp.abspath(args.predictions)),
                               f'timeline_{video}.png')
    plot_detection_timeline(gt[video], preds.get(video, []), out, video=video,
                            duration=durations.get(video), top=args.top, tiou_thr=args.tiou,
                            classes=classes)
    print(f'{video}: {len(gt[video])} ground truth, {len(preds.get(video, []))} predictions; '
          f'written {out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
