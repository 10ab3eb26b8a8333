"""Temporal action detection datasets over pre-extracted features."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log

from tadet.registry import DATASETS, TRANSFORMS
from tadet.structures import SnippetGeometry

from .annotations import AnnotationError, load_annotation_file, load_class_map
from .label_hierarchy import resolve_label_hierarchy, warn_unrelated_labels
from .transforms.loading import feature_length
from .video_info import load_video_info
from .windows import SlidingWindow, crop_segments

StrOrList = Union[str, Sequence[str]]


WINDOW_KEYS = {'size', 'stride', 'min_gt_coverage', 'keep_empty'}
# THUMOS14 data fact: every CliffDiving instance is also annotated Diving on the same segment
THUMOS14_LABEL_HIERARCHY = {'CliffDiving': 'Diving'}


class AnnotatedVideoDataset(BaseDataset):
    """Base of tadet's datasets: reads the annotation file once (durations from
    ``video_info`` CSVs when given), validates the training ``window`` option, and builds the
    pipeline from tadet's registry so the dataset works outside a Runner too.

    Subclasses set the attributes their ``load_data_list`` needs before calling
    ``super().__init__`` (mmengine loads the data list inside it).
    """

    def __init__(self, ann_file: str, subset, classes, blocklist, video_info,
                 window: Optional[dict], pipeline: Sequence, test_mode: bool, lazy_init: bool,
                 serialize_data: bool, max_refetch: int,
                 label_hierarchy: Optional[Dict[str, str]] = None) -> None:
        name = type(self).__name__
        if window is not None:
            window = dict(window)
            unknown = set(window) - WINDOW_KEYS
            if unknown:
                raise ValueError(f'{name} window: unknown key(s) {sorted(unknown)}; allowed: '
                                 f'{", ".join(sorted(WINDOW_KEYS))}')
            if test_mode:
                raise ValueError(f'{name}(window=...) is for training; in test mode the '
                                 f'detector cuts windows itself: set model.test_cfg.sliding_window')
        self.window = window
        self.subset = subset
        info = load_video_info(video_info) if video_info is not None else None
        durations = None if info is None else {k: v['duration'] for k, v in info.items()}
        self._videos, class_names = load_annotation_file(
            ann_file, subset=subset, classes=load_class_map(classes), blocklist=blocklist,
            durations=durations)
        self.video_info = info
        self.ann_path = ann_file
        # every sample's metainfo carries it (PackTADInputs): heads and post-processing read it
        self.label_hierarchy = resolve_label_hierarchy(label_hierarchy, class_names, name)
        warn_unrelated_labels(self._videos, class_names, self.label_hierarchy,
                              f'{name} {ann_file} (subset {subset!r})')
        pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(ann_file=ann_file, metainfo=dict(classes=tuple(class_names),
                                                          label_hierarchy=self.label_hierarchy),
                         pipeline=pipeline, test_mode=test_mode, lazy_init=lazy_init,
                         serialize_data=serialize_data, max_refetch=max_refetch)


def _as_list(x: Optional[StrOrList]) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


@DATASETS.register_module()
class TADDataset(AnnotatedVideoDataset):
    """Any ActivityNet-format annotation file + one feature file per video.

    One sample is one training window (``window`` set, training), or one whole video
    (``window=None``: per-video training with e.g. ``RandomTruncate``/``ResizeFeatures``, and
    always in test mode, where the detector cuts test windows itself so one video is evaluated
    exactly once).

    Args:
        ann_file: ActivityNet-format JSON (``database`` -> video -> subset, annotations).
        feature_root: directory of feature files, or a list of directories whose features are
            concatenated along channels (e.g. RGB and flow).
        subset: subset(s) to use (e.g. ``'train'``, ``'validation'``).
        classes: class map (list, or a text/JSON file); ``None``: sorted labels of ``ann_file``.
        blocklist: videos to leave out (list or file), e.g. videos with no features upstream.
        video_info: CSV file(s) with ``video,fps,count`` giving durations (THUMOS14 style);
            otherwise durations come from the annotation file's ``duration``.
        fps / feature_stride / offset_frames: snippet geometry (see ``SnippetGeometry``);
            ``fps=None`` takes each video's fps from ``video_info``.
        feature_suffix / feature_prefix: file name = prefix + video name + suffix (one per root
            if lists).
        feature_layout: ``'TC'`` or ``'CT'`` arrays in the files.
        window: training sliding windows ``dict(size, stride, min_gt_coverage=0.75,
            keep_empty=False)``: windows keep actions with at least ``min_gt_coverage`` of their
            length inside (truncated); windows with no action are dropped unless ``keep_empty``.
        synthetic: ``dict(feat_dim=64, seed=0, ...)`` generates missing feature files with the
            synthetic feature maker (``tadet.datasets.synthetic``) into ``feature_root``.
        label_hierarchy: ``{child_class_name: parent_class_name}``: every child instance is
            also a parent instance (THUMOS14: ``dict(CliffDiving='Diving')``). Softmax heads
            train the child label where both annotate one segment, inference also emits the
            parent (``test_cfg.implied_labels``). Samples carry it as
            ``metainfo['label_hierarchy']`` = ``((child_idx, parent_idx), ...)``. Segments with
            several labels it does not relate are reported by one warning at load.
        pipeline, test_mode, lazy_init, serialize_data, max_refetch: as mmengine's BaseDataset.
    """

    def __init__(self,
                 ann_file: str,
                 feature_root: StrOrList,
                 subset: Optional[StrOrList] = None,
                 classes: Optional[StrOrList] = None,
                 blocklist: Optional[StrOrList] = None,
                 video_info: Optional[StrOrList] = None,
                 fps: Optional[float] = None,
                 feature_stride: float = 1,
                 offset_frames: float = 0,
                 feature_suffix: StrOrList = '.npy',
                 feature_prefix: StrOrList = '',
                 feature_layout: str = 'TC',
                 window: Optional[dict] = None,
                 synthetic: Optional[dict] = None,
                 label_hierarchy: Optional[Dict[str, str]] = None,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 max_refetch: int = 0) -> None:
        self.feature_roots = _as_list(feature_root)
        n = len(self.feature_roots)
        if n == 0:
            raise ValueError('TADDataset needs feature_root')
        self.feature_suffixes = _as_list(feature_suffix) * (n if isinstance(feature_suffix, str)
                                                            else 1)
        self.feature_prefixes = _as_list(feature_prefix) * (n if isinstance(feature_prefix, str)
                                                            else 1)
        if len(self.feature_suffixes) != n or len(self.feature_prefixes) != n:
            raise ValueError('feature_suffix / feature_prefix lists must match feature_root')
        self.feature_layout = feature_layout
        self.fps = fps
        self.feature_stride = feature_stride
        self.offset_frames = offset_frames
        self.synthetic = synthetic
        super().__init__(ann_file, subset, classes, blocklist, video_info, window, pipeline,
                         test_mode, lazy_init, serialize_data, max_refetch, label_hierarchy)

    # -- helpers -----------------------------------------------------------------------------
    def geometry(self, video: str) -> SnippetGeometry:
        fps = self.fps
        if fps is None:
            if self.video_info is None or video not in self.video_info:
                raise AnnotationError(f'fps=None needs video_info with video {video!r}; set the '
                                      f'dataset fps or give video_info CSV(s).')
            fps = self.video_info[video]['fps']
        return SnippetGeometry(float(fps), float(self.feature_stride), float(self.offset_frames))

    def feature_paths(self, video: str) -> List[str]:
        return [osp.join(root, f'{pre}{video}{suf}') for root, pre, suf in
                zip(self.feature_roots, self.feature_prefixes, self.feature_suffixes)]

    def _make_synthetic(self) -> None:
        from .synthetic import make_synthetic_dataset
        cfg = dict(self.synthetic)
        if len(self.feature_roots) != 1 or self.fps is None:
            raise ValueError('synthetic features need one feature_root and a fixed fps')
        geometry = SnippetGeometry(float(self.fps), float(self.feature_stride),
                                   float(self.offset_frames))
        if is_main_process():
            make_synthetic_dataset(self.ann_path, self.video_info, self.feature_roots[0],
                                   geometry, classes=list(self.metainfo['classes']), **cfg)
        barrier()

    # -- BaseDataset ---------------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        if self.synthetic is not None:
            self._make_synthetic()
        missing = [p for v in self._videos for p in self.feature_paths(v['video_name'])
                   if not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} feature file(s) of {self.ann_path} (subset {self.subset!r}) are '
                f'missing, e.g. {missing[:3]}. Check feature_root/feature_suffix, extract them, '
                f'add the videos to the blocklist, or generate synthetic features with '
                f'tools/data/make_synthetic.py (docs/data_preparation.md).')
        data_list = []
        windows = None if self.window is None else SlidingWindow(
            self.window['size'], self.window.get('stride', self.window['size']))
        for video in self._videos:
            name = video['video_name']
            geo = self.geometry(name)
            paths = self.feature_paths(name)
            duration = video['duration']
            gt_snip = geo.seconds_to_snippets(video['segments'])
            info = dict(video_name=name, feature_paths=paths, fps=geo.fps,
                        feature_stride=geo.feature_stride, offset_frames=geo.offset_frames,
                        gt_segments_seconds=video['segments'], gt_labels_video=video['labels'],
                        snippet_scale=1.0, label_hierarchy=self.label_hierarchy)
            if windows is None:
                if duration is None:
                    num = min(feature_length(p, name, self.feature_layout) for p in paths)
                    duration = float(geo.snippets_to_seconds(num))
                data_list.append(dict(info, duration=duration, gt_segments=gt_snip,
                                      gt_labels=video['labels'], window_start=0))
                continue
            num = min(feature_length(p, name, self.feature_layout) for p in paths)
            if num == 0:
                raise AnnotationError(f'Video {name!r} has zero snippets in {paths}; re-extract '
                                      f'its features or add it to the blocklist.')
            if duration is None:
                duration = float(geo.snippets_to_seconds(num))
            size = windows.size
            for start in windows.starts(num):
                segs, keep = crop_segments(gt_snip, start, size,
                                           self.window.get('min_gt_coverage', 0.75))
                if not keep.any() and not self.window.get('keep_empty', False):
                    continue
                data_list.append(dict(info, duration=duration, gt_segments=segs,
                                      gt_labels=video['labels'][keep], window_start=start,
                                      window_size=size, num_snippets=num))
        if not data_list:
            raise AnnotationError(f'{self.ann_path} (subset {self.subset!r}) gives no samples: '
                                  f'no window holds an action; check the window size/subset.')
        print_log(f'{self.__class__.__name__} {self.subset}: {len(self._videos)} videos, '
                  f'{len(data_list)} samples', logger='current')
        return data_list


@DATASETS.register_module()
class Thumos14Dataset(TADDataset):
    """THUMOS14 (20 classes): ``thumos_gt.json`` + ``*_video_info.csv`` shipped under
    ``data/thumos14/annotations``; subset ``train`` = validation videos, ``test`` = test videos.
    I3D features at 30 fps, 4-frame stride, 16-frame clips (offset 8) by default.

    ``label_hierarchy`` defaults to ``dict(CliffDiving='Diving')``, a THUMOS14 data fact: every
    CliffDiving instance is also annotated as Diving on exactly the same segment (143 pairs in
    ``train``, 217 in ``test``); CliffDiving is a kind of Diving. ``None`` or ``{}`` drops it
    (then a softmax head trains whichever label comes first, and the load warns)."""

    def __init__(self,
                 ann_file: str = 'data/thumos14/annotations/thumos_gt.json',
                 feature_root: StrOrList = 'data/thumos14/features',
                 subset: Optional[StrOrList] = 'train',
                 classes: Optional[StrOrList] = 'data/thumos14/annotations/Class_Index_Detection.txt',
                 video_info: Optional[StrOrList] = (
                     'data/thumos14/annotations/val_video_info.csv',
                     'data/thumos14/annotations/test_video_info.csv'),
                 fps: Optional[float] = 30,
                 feature_stride: float = 4,
                 offset_frames: float = 8,
                 label_hierarchy: Optional[Dict[str, str]] = THUMOS14_LABEL_HIERARCHY,
                 **kwargs) -> None:  # the rest: TADDataset's named arguments, checked there
        super().__init__(ann_file=ann_file, feature_root=feature_root, subset=subset,
                         classes=classes, video_info=video_info, fps=fps,
                         feature_stride=feature_stride, offset_frames=offset_frames,
                         label_hierarchy=label_hierarchy, **kwargs)


@DATASETS.register_module()
class ActivityNetDataset(TADDataset):
    """ActivityNet v1.3 (200 classes, ``activity_net.v1-3.min.json`` with durations); subsets
    ``training`` / ``validation``. Features are usually resized per video
    (``ResizeFeatures``), so the geometry only matters for un-resized features."""

    def __init__(self,
                 ann_file: str = 'data/activitynet/annotations/activity_net.v1-3.min.json',
                 feature_root: StrOrList = 'data/activitynet/features',
                 subset: Optional[StrOrList] = 'training',
                 fps: Optional[float] = 30,
                 feature_stride: float = 16,
                 offset_frames: float = 8,
                 **kwargs) -> None:  # the rest: TADDataset's named arguments, checked there
        super().__init__(ann_file=ann_file, feature_root=feature_root, subset=subset, fps=fps,
                         feature_stride=feature_stride, offset_frames=offset_frames, **kwargs)
