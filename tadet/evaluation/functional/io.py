"""Reading, validating and writing ActivityNet-format detection results.

Result format (ActivityNet): ``{"version": str, "results": {video: [{"segment": [start, end],
"label": class_name, "score": float}, ...]}, "external_data": {}}``, segments in seconds.

Ground truth used by the metrics is a mapping ``video -> [{"segment": [s, e], "label": str}]``;
:func:`load_ground_truth` builds it from an ActivityNet annotation file.
"""
import json
import os
import os.path as osp
import uuid
from itertools import chain
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from tadet.datasets.annotations import AnnotationError, load_annotation_file, load_class_map

RESULT_VERSION = 'tadet-1.0'

# Types accepted on the fast validation path (bool is deliberately absent).
_NUM_TYPES = frozenset({int, float, np.float64, np.float32, np.float16, np.int64, np.int32,
                        np.int16, np.int8, np.uint8, np.uint16, np.uint32, np.uint64})
_STR_TYPES = frozenset({str, np.str_})


class PredictionFormatError(ValueError):
    """Malformed predictions; the message names the file (or source), the video and the field."""


class UnknownLabelError(PredictionFormatError):
    """Predictions carry class names that the ground truth does not know."""


def _where(source: str, video=None, index=None) -> str:
    out = source
    if video is not None:
        out += f': video {video!r}'
    if index is not None:
        out += f', entry {index}'
    return out


def _number(value, field: str, where: str) -> float:
    """One numeric value (int/float/numpy number or numeric string), finite."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise PredictionFormatError(f'{where}: field {field!r} must be a number, got {value!r}')
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PredictionFormatError(
            f'{where}: field {field!r} must be a number, got {value!r}') from None
    if not np.isfinite(out):
        raise PredictionFormatError(f'{where}: field {field!r} is not finite ({value!r})')
    return out


def _check_entry(entry, video, index: int, source: str, need_label: bool,
                 need_score: bool) -> Tuple[float, float, Optional[str], Optional[float]]:
    """Slow, precise validation of one entry (used to locate errors and for odd types)."""
    where = _where(source, video, index)
    if not isinstance(entry, Mapping):
        raise PredictionFormatError(f'{where}: expected an object with "segment"'
                                    f'{", label" if need_label else ""}'
                                    f'{", score" if need_score else ""}; got {entry!r}')
    if 'segment' not in entry:
        raise PredictionFormatError(f'{where}: missing field "segment"')
    seg = entry['segment']
    if not isinstance(seg, (list, tuple, np.ndarray)) or len(seg) != 2:
        raise PredictionFormatError(
            f'{where}: field "segment" must be [start, end] in seconds, got {seg!r}')
    start = _number(seg[0], 'segment', where)
    end = _number(seg[1], 'segment', where)
    if end < start:
        raise PredictionFormatError(f'{where}: field "segment" has end < start ({seg!r})')
    label = None
    if need_label:
        if 'label' not in entry:
            raise PredictionFormatError(f'{where}: missing field "label"')
        label = entry['label']
        if not isinstance(label, str):
            raise PredictionFormatError(
                f'{where}: field "label" must be a class name (string), got {label!r}')
    score = None
    if need_score:
        if 'score' not in entry:
            raise PredictionFormatError(f'{where}: missing field "score"')
        score = _number(entry['score'], 'score', where)
    return start, end, label, score


class _NotFast(Exception):
    """Internal: the bulk path cannot decide; use the per-entry path."""


def parse_entries(video, entries, source: str = 'predictions', need_label: bool = True,
                  need_score: bool = True,
                  fast_only: bool = False) -> Tuple[np.ndarray, List[str], np.ndarray]:
    """Validate one video's list of entries and return ``(segments [K, 2] float64, labels,
    scores [K] float64)`` (labels ``[]`` / scores empty when not needed).

    A fast path handles well-typed input in bulk; anything unusual goes through a per-entry check
    that either converts it (numeric strings) or raises :class:`PredictionFormatError` naming the
    source, the video, the entry and the field.
    """
    if not isinstance(entries, (list, tuple)):
        raise PredictionFormatError(
            f'{_where(source, video)}: expected a list of entries, got {type(entries).__name__}')
    try:
        segs = [e['segment'] for e in entries]
        labels = [e['label'] for e in entries] if need_label else []
        scores = [e['score'] for e in entries] if need_score else []
        fast = (set(map(type, segs)) <= {list, tuple}
                and set(map(len, segs)) <= {2}
                and set(map(type, chain.from_iterable(segs))) <= _NUM_TYPES
                and set(map(type, labels)) <= _STR_TYPES
                and set(map(type, scores)) <= _NUM_TYPES)
    except (KeyError, TypeError, IndexError):
        fast = False
    if fast:
        seg_arr = np.array(segs, dtype=np.float64).reshape(-1, 2)
        score_arr = np.array(scores, dtype=np.float64)
        if (np.isfinite(seg_arr).all() and np.isfinite(score_arr).all()
                and (seg_arr[:, 1] >= seg_arr[:, 0]).all()):
            return seg_arr, labels, score_arr
    if fast_only:
        raise _NotFast
    out_segs, out_labels, out_scores = [], [], []
    for i, entry in enumerate(entries):
        start, end, label, score = _check_entry(entry, video, i, source, need_label, need_score)
        out_segs.append((start, end))
        if need_label:
            out_labels.append(label)
        if need_score:
            out_scores.append(score)
    return (np.array(out_segs, dtype=np.float64).reshape(-1, 2), out_labels,
            np.array(out_scores, dtype=np.float64))


def parse_mapping(results: Mapping, source: str = 'predictions', need_label: bool = True,
                  need_score: bool = True):
    """Validate a whole ``video -> entries`` mapping at once.

    Returns ``(videos, counts [V], segments [N, 2], labels (list, N), scores [N])`` with the
    entries of all videos concatenated in mapping order. Checks in bulk first; on anything
    unusual falls back to :func:`parse_entries` video by video for the precise message.
    """
    videos = list(results.keys())
    flat, counts = [], []
    for video, entries in results.items():
        if not isinstance(entries, (list, tuple)):
            raise PredictionFormatError(f'{_where(source, video)}: expected a list of entries, '
                                        f'got {type(entries).__name__}')
        flat.extend(entries)
        counts.append(len(entries))
    try:
        seg, labels, scores = parse_entries(None, flat, source, need_label, need_score,
                                            fast_only=True)
    except _NotFast:
        segs, labels, scores = [], [], []
        for video, entries in results.items():
            s, lab, sc = parse_entries(video, entries, source, need_label, need_score)
            segs.append(s)
            labels.extend(lab)
            scores.append(sc)
        seg = np.concatenate(segs) if segs else np.zeros((0, 2))
        scores = np.concatenate(scores) if scores else np.zeros(0)
    return videos, np.asarray(counts, dtype=np.int64), seg, labels, scores


def load_predictions(path: str, need_label: bool = True) -> Dict[str, list]:
    """Read and validate an ActivityNet result JSON; return its ``results`` mapping.

    Raises :class:`PredictionFormatError` (one message naming file, video and field) on
    malformed JSON, a missing ``results`` object or bad entries; ``FileNotFoundError`` if absent.
    ``need_label=False`` accepts proposal files whose entries have no ``label``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'prediction file not found: {path}')
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise PredictionFormatError(f'{path}: not valid JSON ({e})') from None
    except UnicodeDecodeError as e:
        raise PredictionFormatError(f'{path}: not a UTF-8 text file ({e})') from None
    if not isinstance(data, dict) or 'results' not in data:
        raise PredictionFormatError(
            f'{path}: missing "results"; expected {{"version": ..., "results": {{video: '
            f'[{{"segment": [start, end], "label": ..., "score": ...}}]}}, "external_data": {{}}}}')
    results = data['results']
    if not isinstance(results, dict):
        raise PredictionFormatError(
            f'{path}: "results" must map video names to lists of entries, got '
            f'{type(results).__name__}')
    parse_mapping(results, source=path, need_label=need_label)
    return results


def load_ground_truth(ann_file: str, subset: Union[str, Sequence[str], None] = None,
                      classes: Union[str, Sequence[str], None] = None) -> Dict[str, list]:
    """Ground truth ``video -> [{"segment": [s, e], "label": name}]`` from an ActivityNet
    annotation file (via :func:`tadet.datasets.annotations.load_annotation_file`). Videos of the
    subset without annotations are kept (with ``[]``): predictions there are false positives."""
    videos, names = load_annotation_file(ann_file, subset=subset, classes=classes)
    gt = {}
    for v in videos:
        gt[v['video_name']] = [
            dict(segment=[float(s), float(e)], label=names[int(lab)])
            for (s, e), lab in zip(v['segments'], v['labels'])]
    return gt


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def format_results(per_video_preds: Mapping[str, Mapping], classes: Optional[Sequence[str]] = None,
                   version: str = RESULT_VERSION) -> dict:
    """ActivityNet result JSON structure from per-video predictions.

    Args:
        per_video_preds: ``video -> {"segments" [K, 2] seconds, "scores" [K], "labels" [K]}``
            (numpy arrays, tensors or lists; also an ``InstanceData``). ``labels`` are class
            indices into ``classes`` (or names already, when ``classes`` is None or they are
            strings).
        classes: class names.

    Returns:
        ``{"version", "results": {video: [{"segment", "label", "score"}]}, "external_data": {}}``,
        entries of a video sorted by descending score.
    """
    results = {}
    for video, pred in per_video_preds.items():
        get = (lambda k: pred[k]) if isinstance(pred, Mapping) else (lambda k: getattr(pred, k))
        segs = _to_numpy(get('segments')).astype(np.float64).reshape(-1, 2)
        scores = _to_numpy(get('scores')).astype(np.float64).reshape(-1)
        labels = _to_numpy(get('labels')).reshape(-1)
        if not len(segs) == len(scores) == len(labels):
            raise ValueError(f'video {video!r}: segments/scores/labels lengths differ '
                             f'({len(segs)}, {len(scores)}, {len(labels)})')
        if labels.dtype.kind in 'iu':
            if classes is None:
                raise ValueError('format_results: integer labels need the class names')
            bad = labels[(labels < 0) | (labels >= len(classes))]
            if len(bad):
                raise ValueError(f'video {video!r}: label index {int(bad[0])} out of range for '
                                 f'{len(classes)} classes')
            names = [classes[i] for i in labels.tolist()]
        else:
            names = [str(x) for x in labels.tolist()]
        order = np.argsort(-scores, kind='stable')
        segl, scl = segs.tolist(), scores.tolist()
        results[str(video)] = [dict(segment=segl[i], label=names[i], score=scl[i])
                               for i in order.tolist()]
    return dict(version=version, results=results, external_data={})


def temp_name_for(path: str) -> str:
    """The temporary file :func:`write_json_atomic` writes before renaming it to ``path``:
    ``.NAME.PID.RANDOM.tmp`` in the same folder (the PID lets a later start remove the
    temporaries of killed processes, see :func:`tadet.utils.stale_files.remove_stale_temporaries`)."""
    return osp.join(osp.dirname(osp.abspath(path)),
                    f'.{osp.basename(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp')


def write_json_atomic(obj, path: str, **dump_kwargs) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder and ``os.replace``, so
    readers never see a half-written file and a failure leaves no partial output. The file gets
    the usual mode (0666 less the umask), like any file the process creates; a write error
    (``[Errno 27] File too large``, disk full) names ``path``."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = temp_name_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f, **dump_kwargs)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError) and e.filename is None and e.errno is not None:
            raise OSError(e.errno, f'{e.strerror} (writing {path})', path) from e
        raise


__all__ = ['PredictionFormatError', 'UnknownLabelError', 'AnnotationError', 'parse_entries',
           'load_predictions', 'load_ground_truth', 'load_class_map', 'format_results',
           'write_json_atomic']
