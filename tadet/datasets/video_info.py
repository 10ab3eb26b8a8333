"""Per-video frame rate and length from THUMOS14-style ``*_video_info.csv`` files."""
import csv
import os.path as osp
from typing import Dict, Sequence, Union

from .annotations import AnnotationError


def load_video_info(paths: Union[str, Sequence[str]]) -> Dict[str, dict]:
    """Read CSVs with columns ``video, fps, count`` (frames; extra columns ignored).

    Returns ``{video: dict(fps, num_frames, duration)}`` (duration = count / fps, seconds).
    """
    paths = [paths] if isinstance(paths, str) else list(paths)
    out: Dict[str, dict] = {}
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'video info file not found: {path}')
        with open(path, newline='') as f:
            reader = csv.DictReader(f)
            missing = {'video', 'fps', 'count'} - set(reader.fieldnames or [])
            if missing:
                raise AnnotationError(f'{path}: video info CSV lacks column(s) {sorted(missing)};'
                                      f' expected video,fps,count (frames).')
            for row in reader:
                try:
                    fps, count = float(row['fps']), float(row['count'])
                except ValueError:
                    raise AnnotationError(f'{path}: video {row["video"]!r} has non-numeric fps '
                                          f'or count.')
                if fps <= 0 or count < 0:
                    raise AnnotationError(f'{path}: video {row["video"]!r} has fps <= 0 or '
                                          f'count < 0.')
                out[row['video']] = dict(fps=fps, num_frames=count, duration=count / fps)
    return out
