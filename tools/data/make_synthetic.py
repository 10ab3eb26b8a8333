#!/usr/bin/env python
"""Write synthetic snippet features for an annotation file (see docs/data_preparation.md).

Examples::

    python tools/data/make_synthetic.py --preset thumos14_synth
    python tools/data/make_synthetic.py --ann my_gt.json --video-info info.csv \
        --classes classes.txt --out data/my_synth --fps 30 --feature-stride 4 --offset-frames 8
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

try:
    import tadet  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

PROG = 'make_synthetic'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=PROG, description='Generate synthetic [T, C] snippet features (one .npy per video '
        '+ meta.json) for an ActivityNet-format annotation file.')
    p.add_argument('--preset', help='named preset (thumos14_synth); other options override it')
    p.add_argument('--ann', help='annotation file (ActivityNet-format JSON)')
    p.add_argument('--video-info', nargs='+', metavar='CSV',
                   help='video info CSV(s) with video,fps,count (durations = count / fps); '
                        'default: the "duration" fields of the annotation file')
    p.add_argument('--classes', help='class map file (default: sorted labels of the file)')
    p.add_argument('--out', help='output directory')
    p.add_argument('--fps', type=float, help='frame rate of the snippet grid')
    p.add_argument('--feature-stride', type=float, help='frames between snippets')
    p.add_argument('--offset-frames', type=float, help='frame of snippet 0\'s centre')
    p.add_argument('--dim', type=int, help='feature channels (default 64)')
    p.add_argument('--seed', type=int, help='dataset seed (default 0)')
    p.add_argument('--noise', type=float, help='white-noise std (default 1.0)')
    p.add_argument('--subsets', nargs='+', help='only these subsets (default: all)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace features made with other settings in --out')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def _fail(msg: str) -> int:
    print(f'{PROG}: error: {msg}', file=sys.stderr)
    return 2


def main(argv: Optional[List[str]] = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as e:  # argparse already printed its message
        return int(e.code or 0) if not isinstance(e.code, str) else 2

    import warnings

    from tadet.datasets.annotations import AnnotationError
    from tadet.datasets.synthetic import SyntheticDataError, make_synthetic_dataset, \
        resolve_preset

    try:
        cfg = resolve_preset(args.preset) if args.preset else dict(feat_dim=64, seed=0)
    except SyntheticDataError as e:
        return _fail(str(e))
    geometry = dict(cfg.get('geometry') or {})
    for key, val in (('fps', args.fps), ('feature_stride', args.feature_stride),
                     ('offset_frames', args.offset_frames)):
        if val is not None:
            geometry[key] = val
    for key, val in (('ann_file', args.ann), ('classes', args.classes), ('out_dir', args.out),
                     ('video_info', args.video_info), ('feat_dim', args.dim),
                     ('seed', args.seed), ('noise', args.noise)):
        if val is not None:
            cfg[key] = val
    if not cfg.get('ann_file'):
        return _fail('give --ann FILE (or --preset NAME)')
    if not cfg.get('out_dir'):
        return _fail('give --out DIR (or --preset NAME)')
    if 'fps' not in geometry:
        return _fail('give --fps (and --feature-stride, --offset-frames) or --preset NAME')
    geometry.setdefault('feature_stride', 1.0)
    geometry.setdefault('offset_frames', 0.0)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            summary = make_synthetic_dataset(
                ann_file=cfg['ann_file'], video_info=cfg.get('video_info'),
                out_dir=cfg['out_dir'], geometry=geometry, classes=cfg.get('classes'),
                subsets=args.subsets, feat_dim=cfg.get('feat_dim', 64),
                seed=cfg.get('seed', 0), noise=cfg.get('noise'), overwrite=args.overwrite,
                progress=not args.no_progress)
    except (FileNotFoundError, AnnotationError, SyntheticDataError, ValueError, TypeError,
            OSError) as e:
        return _fail(str(e))
    for w in caught:  # e.g. segments clipped to the video: say it once, without a traceback
        print(f'{PROG}: warning: {w.message}', file=sys.stderr)

    state = 'already up to date' if summary['up_to_date'] else \
        f'wrote {summary["written"]} file(s)'
    print(f'{summary["num_videos"]} videos ({", ".join(summary["subsets"])}), '
          f'{summary["num_snippets"]} snippets, dim {summary["feat_dim"]}, '
          f'{summary["bytes"] / 2 ** 20:.1f} MiB: {state} in {summary["seconds"]:.1f} s '
          f'-> {summary["out_dir"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
