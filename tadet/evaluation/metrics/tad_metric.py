"""``TADMetric``: ActivityNet-style detection mAP (or proposal AR@AN) inside mmengine loops."""
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.structures import BaseDataElement

from tadet.registry import METRICS
from ..functional import (average_recall_at_num_proposals, detection_map, format_ar_table,
                          format_map_table, format_results, load_ground_truth, recall_at,
                          write_json_atomic)
from ..functional.report import format_per_class_table

AR_POINTS = (1, 5, 10, 100)


def _field(container: Any, key: str):
    """Read ``key`` from a dict or a data element; ``None`` when absent."""
    if container is None:
        return None
    if isinstance(container, dict):
        return container.get(key)
    return getattr(container, key, None)


def _numpy(x, dtype, shape_tail=()) -> np.ndarray:
    if x is None:
        return np.zeros((0, ) + tuple(shape_tail), dtype=dtype)
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype).reshape((-1, ) + tuple(shape_tail))


def _key(t: float) -> str:
    return f'{t:.2f}'


@METRICS.register_module()
class TADMetric(BaseMetric):
    """Temporal action detection metric.

    Args:
        tiou_thresholds: tIoU thresholds (THUMOS14: 0.3:0.1:0.7; ActivityNet: 0.5:0.05:0.95).
        metric: ``'mAP'`` (detection) or ``'AR@AN'`` (class-agnostic proposals).
        ann_file: ActivityNet-format annotation file; with it the ground truth comes from the file
            (``subset``) instead of the data samples' ``gt_seconds``.
        subset: subset of ``ann_file`` to evaluate on (e.g. ``'test'``).
        out_file: write the predictions here (ActivityNet result JSON, seconds, class names).
        out_result: write the full result (JSON) here.
        plot_dir: save ``per_class_AP.png`` here (mAP mode, needs matplotlib).
        max_avg_num_proposals: largest AN of the AR@AN curve.
        collect_device, collect_dir, prefix: see ``mmengine.evaluator.BaseMetric``.

    Results (fractions in [0, 1]): ``mAP@0.30`` ... and ``average_mAP``; in AR@AN mode
    ``AR@1``, ``AR@5``, ``AR@10``, ``AR@100`` and ``AUC``.
    """
    default_prefix = 'tad'

    def __init__(self,
                 tiou_thresholds: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7),
                 metric: str = 'mAP',
                 ann_file: Optional[str] = None,
                 subset: Union[str, Sequence[str], None] = None,
                 out_file: Optional[str] = None,
                 out_result: Optional[str] = None,
                 plot_dir: Optional[str] = None,
                 max_avg_num_proposals: float = 100,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = 'tad',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if metric not in ('mAP', 'AR@AN'):
            raise ValueError(f"TADMetric: metric must be 'mAP' or 'AR@AN', got {metric!r}")
        thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
        if thr.size == 0 or (thr < 0).any() or (thr > 1).any():
            raise ValueError(f'TADMetric: tiou_thresholds must be in [0, 1], got {tiou_thresholds}')
        if subset is not None and ann_file is None:
            raise ValueError('TADMetric: subset is given but ann_file is not')
        if ann_file is not None and not osp.isfile(ann_file):
            raise FileNotFoundError(f'TADMetric: ann_file not found: {ann_file}')
        self.tiou_thresholds = tuple(float(t) for t in thr)
        self.metric = metric
        self.ann_file = ann_file
        self.subset = subset
        self.out_file = out_file
        self.out_result = out_result
        self.plot_dir = plot_dir
        self.max_avg_num_proposals = max_avg_num_proposals

    # ------------------------------------------------------------------ collection
    def process(self, data_batch: Any,
                data_samples: Sequence[Union[dict, BaseDataElement]]) -> None:
        """Store numpy copies of each sample's predictions (and ground truth in seconds)."""
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            name = _field(sample, 'video_name')
            if name is None:
                meta = _field(sample, 'metainfo') or {}
                name = meta.get('video_name')
            if name is None:
                raise KeyError('TADMetric.process: data sample has no "video_name" metainfo')
            pred = _field(sample, 'pred_instances')
            if pred is None:
                raise KeyError(f'TADMetric.process: sample {name!r} has no "pred_instances"')
            gt = _field(sample, 'gt_seconds')
            if gt is None and self.ann_file is None:
                raise KeyError(f'TADMetric.process: sample {name!r} has no "gt_seconds"; provide '
                               f'them from the dataset or set ann_file')
            segments = _numpy(_field(pred, 'segments'), np.float64, (2, ))
            scores = _numpy(_field(pred, 'scores'), np.float64)
            labels = _numpy(_field(pred, 'labels'), np.int64)
            if not len(segments) == len(scores) == len(labels):
                raise ValueError(f'TADMetric.process: sample {name!r} has {len(segments)} '
                                 f'segments, {len(scores)} scores, {len(labels)} labels')
            result = dict(video_name=str(name), segments=segments, scores=scores, labels=labels)
            if gt is not None:
                result['gt_segments'] = _numpy(_field(gt, 'segments'), np.float64, (2, ))
                result['gt_labels'] = _numpy(_field(gt, 'labels'), np.int64)
            self.results.append(result)

    # ------------------------------------------------------------------ evaluation
    def _class_names(self) -> Optional[List[str]]:
        meta = self.dataset_meta or {}
        classes = meta.get('classes')
        return None if classes is None else [str(c) for c in classes]

    @staticmethod
    def unique_videos(results: List[dict]) -> List[dict]:
        """First result of each video (distributed samplers pad by repeating samples)."""
        seen = OrderedDict()
        for r in results:
            seen.setdefault(r['video_name'], r)
        return list(seen.values())

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        results = self.unique_videos(results)
        classes = self._class_names()
        if self.ann_file is not None:
            ground_truth = load_ground_truth(self.ann_file, self.subset, classes)
            if classes is None:
                from tadet.datasets.annotations import load_annotation_file
                classes = load_annotation_file(self.ann_file, self.subset)[1]
        else:
            if classes is None:
                raise ValueError('TADMetric: dataset_meta["classes"] is needed to name classes')
            ground_truth = {}
            for r in results:
                ground_truth[r['video_name']] = [
                    dict(segment=seg, label=self._name(classes, lab, r['video_name']))
                    for seg, lab in zip(r['gt_segments'].tolist(), r['gt_labels'].tolist())]

        formatted = format_results({r['video_name']: r for r in results}, classes)
        predictions = formatted['results']
        if self.out_file:
            write_json_atomic(formatted, self.out_file)
            logger.info(f'TADMetric: predictions written to {self.out_file}')

        if self.metric == 'mAP':
            result = detection_map(ground_truth, predictions, self.tiou_thresholds,
                                   classes=classes)
            metrics = {f'mAP@{_key(t)}': float(m)
                       for t, m in zip(result['tiou_thresholds'], result['mAP'])}
            metrics['average_mAP'] = float(result['average_mAP'])
            logger.info('\n' + format_map_table(result) + '\n' + format_per_class_table(
                result['per_class_AP'], result['tiou_thresholds']))
            if self.plot_dir:
                self._plot(result, logger)
            saved = dict(result)
        else:
            result = average_recall_at_num_proposals(
                ground_truth, predictions, self.tiou_thresholds,
                max_avg_num_proposals=self.max_avg_num_proposals)
            metrics = {f'AR@{n}': recall_at(result, n) for n in AR_POINTS}
            metrics['AUC'] = float(result['auc'])
            logger.info('\n' + format_ar_table(metrics))
            saved = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                     for k, v in result.items()}
        if self.out_result:
            saved['metrics'] = metrics
            saved['num_videos'] = len(results)
            write_json_atomic(saved, self.out_result, indent=1)
        return metrics

    @staticmethod
    def _name(classes: List[str], label: int, video: str) -> str:
        if not 0 <= label < len(classes):
            raise ValueError(f'TADMetric: video {video!r} has label index {label} outside the '
                             f'{len(classes)} classes')
        return classes[label]

    def _plot(self, result: dict, logger) -> None:
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            logger.warning('TADMetric: matplotlib is not installed; no per-class plot')
            return
        path = save_per_class_plot(result, self.plot_dir, Figure, FigureCanvasAgg)
        logger.info(f'TADMetric: per-class AP plot saved to {path}')


def save_per_class_plot(result: dict, plot_dir: str, figure_cls=None, canvas_cls=None) -> str:
    """Bar plot of per-class AP (mean over thresholds, dots per threshold) ->
    ``plot_dir/per_class_AP.png``."""
    if figure_cls is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg as canvas_cls
        from matplotlib.figure import Figure as figure_cls
    import os
    names = list(result['per_class_AP'].keys())
    aps = np.asarray([result['per_class_AP'][n] for n in names]).reshape(len(names), -1)
    fig = figure_cls(figsize=(max(6.0, 0.45 * len(names) + 2), 4.5))
    canvas_cls(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(names))
    ax.bar(x, 100 * aps.mean(axis=1) if len(names) else [], color='tab:blue',
           label='mean over tIoU')
    for j, t in enumerate(result['tiou_thresholds']):
        ax.plot(x, 100 * aps[:, j], linestyle='none', marker='.', label=f'tIoU {t:.2f}')
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=60, ha='right', fontsize=7)
    ax.set_ylabel('AP (%)')
    ax.set_ylim(0, 100)
    ax.set_title(f'Per-class AP (average mAP {100 * result["average_mAP"]:.2f}%)')
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    os.makedirs(plot_dir, exist_ok=True)
    path = osp.join(plot_dir, 'per_class_AP.png')
    fig.savefig(path, dpi=100)
    return path
