"""Temporal action detection on raw frames (end-to-end detectors such as AFSD with I3D)."""
import glob
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log

from tadet.registry import DATASETS
from tadet.structures import SnippetGeometry

from .annotations import AnnotationError
from .tad_dataset import AnnotatedVideoDataset
from .windows import SlidingWindow, crop_segments


@DATASETS.register_module()
class FramesDataset(AnnotatedVideoDataset):
    """ActivityNet-format annotations + per video a folder of frames or a video file.

    The model's temporal unit is one frame at ``fps`` (AFSD: 10 fps): frame ``i`` covers
    ``[i, i+1)``, time ``t`` maps to ``t * fps + 0.5``. Training samples are windows of
    ``window['size']`` frames every ``window['stride']`` frames (AFSD: 256 / 30) keeping actions
    with at least ``min_gt_coverage`` inside; test samples are whole videos (the detector cuts
    windows, ``model.test_cfg.sliding_window``).

    Args:
        ann_file: ActivityNet-format JSON.
        data_root: folder holding one sub-folder of frames per video (``source='frames'``) or
            one video file per video (``source='video'``).
        subset / classes / blocklist: as ``TADDataset``.
        video_info: optional CSV(s) ``video,fps,count`` giving durations.
        fps: target frame rate of the model's input.
        source: ``'frames'`` or ``'video'``.
        source_fps: frame rate of the stored frames (``None`` = ``fps``, i.e. frames extracted
            at the target rate); for videos ``None`` reads the rate from the file.
        filename_tmpl: frame file names (1-based index).
        video_suffix: video file suffix.
        window: training windows ``dict(size, stride, min_gt_coverage=0.75, keep_empty=False)``.
        label_hierarchy: ``{child_class: parent_class}`` (as ``TADDataset``; THUMOS14:
            ``dict(CliffDiving='Diving')``).
        pipeline / test_mode / lazy_init / serialize_data / max_refetch: as ``BaseDataset``.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str,
                 subset: Optional[Union[str, Sequence[str]]] = None,
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 blocklist: Optional[Union[str, Sequence[str]]] = None,
                 video_info: Optional[Union[str, Sequence[str]]] = None,
                 fps: float = 10.0,
                 source: str = 'frames',
                 source_fps: Optional[float] = None,
                 filename_tmpl: str = 'img_{:05d}.jpg',
                 video_suffix: str = '.mp4',
                 window: Optional[dict] = None,
                 label_hierarchy: Optional[Dict[str, str]] = None,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 max_refetch: int = 0) -> None:
        if source not in ('frames', 'video'):
            raise ValueError(f'FramesDataset: source must be "frames" or "video", got {source!r}')
        self.data_root_dir = data_root
        self.fps = float(fps)
        self.source = source
        self.source_fps = None if source_fps is None else float(source_fps)
        self.filename_tmpl = filename_tmpl
        self.video_suffix = video_suffix
        super().__init__(ann_file, subset, classes, blocklist, video_info, window, pipeline,
                         test_mode, lazy_init, serialize_data, max_refetch, label_hierarchy)

    def _source(self, video: str) -> dict:
        """Where the frames of ``video`` are, their count and frame rate."""
        if self.source == 'frames':
            folder = osp.join(self.data_root_dir, video)
            if not osp.isdir(folder):
                raise FileNotFoundError(f'frame folder of video {video!r} not found: {folder}')
            pattern = self.filename_tmpl.split('{')[0] + '*'
            count = len(glob.glob(osp.join(folder, pattern)))
            if count == 0:
                raise AnnotationError(f'{folder} holds no frames named like '
                                      f'{self.filename_tmpl!r}')
            return dict(frame_dir=folder, filename_tmpl=self.filename_tmpl,
                        num_source_frames=count, source_fps=self.source_fps or self.fps)
        path = osp.join(self.data_root_dir, video + self.video_suffix)
        if not osp.isfile(path):
            raise FileNotFoundError(f'video file of {video!r} not found: {path}')
        import decord
        vr = decord.VideoReader(path)
        return dict(video_path=path, num_source_frames=len(vr),
                    source_fps=self.source_fps or float(vr.get_avg_fps()))

    def load_data_list(self) -> List[dict]:
        geo = SnippetGeometry(self.fps, 1.0, 0.0)
        windows = None if self.window is None else SlidingWindow(
            self.window['size'], self.window.get('stride', self.window['size']))
        data_list = []
        for video in self._videos:
            name = video['video_name']
            src = self._source(name)
            duration = video['duration']
            if duration is None:
                duration = src['num_source_frames'] / src['source_fps']
            num = max(int(np.floor(duration * self.fps + 1e-6)), 1)
            gt = geo.seconds_to_snippets(video['segments'])
            info = dict(src, video_name=name, fps=self.fps, feature_stride=1.0,
                        offset_frames=0.0, duration=float(duration), num_frames=num,
                        num_snippets=num, gt_segments_seconds=video['segments'],
                        gt_labels_video=video['labels'], snippet_scale=1.0,
                        label_hierarchy=self.label_hierarchy)
            if windows is None:
                data_list.append(dict(info, gt_segments=gt, gt_labels=video['labels'],
                                      window_start=0))
                continue
            for start in windows.starts(num):
                segs, keep = crop_segments(gt, start, windows.size,
                                           self.window.get('min_gt_coverage', 0.75))
                if not keep.any() and not self.window.get('keep_empty', False):
                    continue
                data_list.append(dict(info, gt_segments=segs, gt_labels=video['labels'][keep],
                                      window_start=start, window_size=windows.size))
        if not data_list:
            raise AnnotationError(f'{self.ann_path} (subset {self.subset!r}) gives no samples')
        print_log(f'FramesDataset {self.subset}: {len(self._videos)} videos, '
                  f'{len(data_list)} samples', logger='current')
        return data_list
