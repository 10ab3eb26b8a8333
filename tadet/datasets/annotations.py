"""Reading ActivityNet-format annotation files and class maps, with clear errors.

Format: ``{"database": {video: {"subset": str, "duration": float (optional),
"annotations": [{"segment": [start, end], "label": str}, ...]}}}``; segments in seconds (numbers
or numeric strings, as in the THUMOS14 ``thumos_gt.json``).
"""
import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np


class AnnotationError(ValueError):
    """A malformed annotation file or class map (the message names the file and the fix)."""


def load_json(path: str, what: str = 'annotation file') -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise AnnotationError(f'{what} {path} is not valid JSON ({e}); fix or regenerate it.')


def load_class_map(classes: Union[str, Sequence[str], None]) -> Optional[List[str]]:
    """Class names from a list, a text file (one name per line, optionally ``index name``, as
    THUMOS14's ``Class_Index_Detection.txt``) or a JSON list. ``None`` stays ``None``."""
    if classes is None:
        return None
    if not isinstance(classes, str):
        names = [str(c) for c in classes]
    elif classes.endswith('.json'):
        names = [str(c) for c in load_json(classes, 'class map')]
    else:
        if not osp.isfile(classes):
            raise FileNotFoundError(f'class map not found: {classes}')
        names = []
        with open(classes) as f:
            for line in f:
                parts = line.split()
                if parts:
                    names.append(parts[-1] if len(parts) > 1 and parts[0].isdigit() else
                                 ' '.join(parts))
    if len(set(names)) != len(names):
        raise AnnotationError(f'class map {classes!r} has duplicate names')
    if not names:
        raise AnnotationError(f'class map {classes!r} is empty')
    return names


def _as_float(value, ann_file: str, video: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise AnnotationError(f'{ann_file}: video {video!r} has a non-numeric segment bound '
                              f'{value!r}; segments must be [start, end] in seconds.')
    if not np.isfinite(out):
        raise AnnotationError(f'{ann_file}: video {video!r} has a non-finite segment bound.')
    return out


def load_annotation_file(ann_file: str,
                         subset: Union[str, Sequence[str], None] = None,
                         classes: Union[str, Sequence[str], None] = None,
                         blocklist: Union[str, Sequence[str], None] = None,
                         durations: Optional[Dict[str, float]] = None) -> tuple:
    """Parse an ActivityNet-format file.

    Args:
        ann_file: path of the JSON file.
        subset: keep only videos of this subset (or these subsets); ``None`` keeps all.
        classes: class map (see :func:`load_class_map`); ``None``: sorted labels of the file.
        blocklist: video names to leave out (a list, or a text/JSON file of names), e.g. videos
            whose features are missing upstream. Named videos absent from the file are fine.
        durations: per-video duration (s) overriding/adding the file's ``duration``.

    Returns:
        ``(videos, classes)``: ``videos`` is a list (file order) of dicts with ``video_name``,
        ``subset``, ``duration`` (float or None), ``segments`` float64 ``[N, 2]`` seconds and
        ``labels`` int64 ``[N]``. Segments reaching outside ``[0, duration]`` are clipped, and
        dropped when wholly outside, with one warning listing them; ``end <= start`` is an error.
    """
    data = load_json(ann_file)
    if not isinstance(data, dict) or not isinstance(data.get('database'), dict):
        raise AnnotationError(f'{ann_file}: expected a JSON object with a "database" mapping '
                              f'video -> {{"subset", "annotations"}} (ActivityNet format).')
    database = data['database']
    names = load_class_map(classes)
    if names is None:
        labels = set()
        for video, info in database.items():
            for ann in (info or {}).get('annotations', []) or []:
                if isinstance(ann, dict) and 'label' in ann:
                    labels.add(str(ann['label']))
        names = sorted(labels)
    index = {n: i for i, n in enumerate(names)}
    subsets = None if subset is None else ({subset} if isinstance(subset, str) else set(subset))
    blocked = set()
    if blocklist is not None:
        if isinstance(blocklist, str):
            if blocklist.endswith('.json'):
                blocked = set(load_json(blocklist, 'blocklist'))
            else:
                with open(blocklist) as f:
                    blocked = {line.strip() for line in f if line.strip()}
        else:
            blocked = set(blocklist)

    videos, fixed = [], []
    for video, info in database.items():
        if video in blocked:
            continue
        if not isinstance(info, dict):
            raise AnnotationError(f'{ann_file}: entry of video {video!r} is not an object.')
        for key in ('subset', 'annotations'):
            if key not in info:
                raise AnnotationError(f'{ann_file}: video {video!r} has no "{key}" field; every '
                                      f'video needs "subset" and "annotations" (may be []).')
        if subsets is not None and info['subset'] not in subsets:
            continue
        duration = info.get('duration')
        if durations is not None and video in durations:
            duration = durations[video]
        duration = None if duration is None else _as_float(duration, ann_file, video)
        segs, labs = [], []
        for ann in info['annotations']:
            if not isinstance(ann, dict) or 'segment' not in ann or 'label' not in ann:
                raise AnnotationError(f'{ann_file}: video {video!r} has an annotation without '
                                      f'"segment" and "label": {ann!r}')
            seg = ann['segment']
            if not isinstance(seg, (list, tuple)) or len(seg) != 2:
                raise AnnotationError(f'{ann_file}: video {video!r} segment {seg!r} is not '
                                      f'[start, end].')
            start, end = (_as_float(v, ann_file, video) for v in seg)
            if end <= start:
                raise AnnotationError(
                    f'{ann_file}: video {video!r} has segment [{start}, {end}] with end <= start;'
                    f' fix or remove that annotation (or add the video to the blocklist).')
            label = str(ann['label'])
            if label not in index:
                raise AnnotationError(
                    f'{ann_file}: video {video!r} has label {label!r} missing from the class map '
                    f'({len(names)} classes); add it to the class map or drop the annotation.')
            if duration is not None and (start < 0 or end > duration):
                clipped = (max(start, 0.0), min(end, duration))
                fixed.append(f'{video} [{start}, {end}]')
                if clipped[1] <= clipped[0]:
                    continue  # wholly outside the video: dropped (reported below)
                start, end = clipped
            segs.append((start, end))
            labs.append(index[label])
        videos.append(dict(
            video_name=video, subset=info['subset'], duration=duration,
            segments=np.asarray(segs, dtype=np.float64).reshape(-1, 2),
            labels=np.asarray(labs, dtype=np.int64)))
    if fixed:
        warnings.warn(f'{ann_file}: {len(fixed)} segment(s) reach outside their video and were '
                      f'clipped to [0, duration] (dropped if wholly outside): '
                      f'{", ".join(fixed[:5])}{" ..." if len(fixed) > 5 else ""}')
    if not videos:
        raise AnnotationError(f'{ann_file}: no video left for subset={subset!r}; check the subset'
                              f' name (found: {sorted({str(v.get("subset")) for v in database.values() if isinstance(v, dict)})}).')
    return videos, names
