"""Detect actions in one video's features with a trained detector.

``python tools/infer.py CONFIG CHECKPOINT FEATURE_FILE [--fps F] [--feature-stride S]
[--offset-frames O] [--layout TC|CT] [--score-thr 0.1] [--top 20] [--out result.json]
[--device cpu] [--cfg-options k=v ...]``

FEATURE_FILE holds ``[T, C]`` snippet features (``.npy``, ``.npz``, ``.pt``, ``.csv``) extracted
like the training features. The snippet geometry (``--fps``, ``--feature-stride``,
``--offset-frames``) defaults to the config's test dataset (its first video; THUMOS14: 30 fps,
stride 4, offset 8). Detections (seconds, class names, best first) are printed and, with
``--out``, written (atomically) in the ActivityNet result format that ``tools/test.py --out``
writes and ``tools/evaluate.py``, ``tools/analysis/plot_timeline.py`` and
``diagnose_detections.py`` read: ``{"version", "results": {VIDEO: [{"segment", "label",
"score", "label_index"}]}, "external_data": {}}``, VIDEO being the feature file's name without
extension; ``video``, ``config``, ``checkpoint`` and ``geometry`` are added at the top level.
Errors (missing file, wrong feature size, NaN features, a checkpoint of another model) end
with one line on stderr and exit code 2.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tadet.apis.cli import DictAction, run_cli  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Detect actions in one video\'s features')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('features', help='feature file of one video, [T, C]')
    p.add_argument('--fps', type=float, help='frames per second of the feature grid')
    p.add_argument('--feature-stride', type=float, help='frames between snippets')
    p.add_argument('--offset-frames', type=float, help='frame of snippet 0\'s centre')
    p.add_argument('--layout', choices=['TC', 'CT'], default='TC')
    p.add_argument('--score-thr', type=float, default=0.0, help='keep scores above this')
    p.add_argument('--top', type=int, default=20, help='detections printed (default 20)')
    p.add_argument('--out', help='write all detections here (JSON)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def default_geometry(cfg) -> dict:
    """fps / feature_stride / offset_frames of the config's test dataset (first video)."""
    from mmengine.registry import init_default_scope

    import tadet.datasets  # noqa: F401
    from tadet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'tadet'))
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[], lazy_init=True))
    geo = ds.geometry(ds._videos[0]['video_name'])
    return dict(fps=geo.fps, feature_stride=geo.feature_stride, offset_frames=geo.offset_frames)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from terminaltables import AsciiTable

    from tadet.apis.inference import inference_detector, init_detector
    from tadet.evaluation.functional import write_json_atomic
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint'),
                       (args.features, 'feature file')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} not found: {path}')
    model = init_detector(args.config, args.checkpoint, args.device, args.cfg_options)
    geo = dict(fps=args.fps, feature_stride=args.feature_stride,
               offset_frames=args.offset_frames)
    if any(v is None for v in geo.values()):
        try:
            found = default_geometry(model.cfg)
        except Exception as e:
            raise ValueError(f'cannot take the snippet geometry from the config\'s test dataset '
                             f'({e}); pass --fps, --feature-stride and --offset-frames') from e
        geo = {k: found[k] if v is None else v for k, v in geo.items()}
    dets = inference_detector(model, args.features, layout=args.layout,
                              score_thr=args.score_thr, **geo)
    video = osp.splitext(osp.basename(args.features))[0]
    rows = [['#', 'start (s)', 'end (s)', 'label', 'score']]
    for i, d in enumerate(dets[:args.top]):
        rows.append([str(i + 1), f'{d["segment"][0]:.2f}', f'{d["segment"][1]:.2f}',
                     d['label'], f'{d["score"]:.4f}'])
    print(AsciiTable(rows, title=f' {video}: {len(dets)} detections ').table)
    print(f'geometry: {geo["fps"]:g} fps, stride {geo["feature_stride"]:g}, offset '
          f'{geo["offset_frames"]:g} frames')
    if args.out:
        from tadet.evaluation.functional.io import RESULT_VERSION
        write_json_atomic(dict(version=RESULT_VERSION, results={video: dets}, external_data={},
                               video=video, config=args.config, checkpoint=args.checkpoint,
                               geometry=geo), args.out, indent=1)
        print(f'written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
