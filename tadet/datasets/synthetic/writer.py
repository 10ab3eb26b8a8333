"""Writing a synthetic feature dataset: one ``{video}.npy`` per annotated video and a
``meta.json`` describing the request; atomic, idempotent and resumable."""
import hashlib
import json
import os
import os.path as osp
import re
import tempfile
import time
from typing import Optional, Sequence, Union

import numpy as np

from tadet.structures.geometry import SnippetGeometry
from ..annotations import AnnotationError, load_annotation_file, load_class_map
from ..video_info import load_video_info
from .generator import (GENERATOR_NAME, SyntheticDataError, _merge_params,
                        synthesize_video_features)

FORMAT_VERSION = 1
META_FILE = 'meta.json'
PARTIAL_FILE = 'meta.partial.json'


def _annotation_digest(videos: Sequence[dict]) -> str:
    h = hashlib.sha1()
    for v in videos:
        h.update(repr((v['video_name'], v['duration'])).encode('utf-8'))
        h.update(np.ascontiguousarray(v['segments'], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(v['labels'], dtype=np.int64).tobytes())
    return h.hexdigest()


def _canonical(obj):
    return json.loads(json.dumps(obj))


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            out = json.load(f)
        return out if isinstance(out, dict) else None
    except (OSError, ValueError):
        return None


def _write_atomic(path: str, write_fn) -> None:
    """Write via a temp file in the same directory, then ``os.replace`` (no partial files)."""
    d, base = osp.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f'.{base}.', suffix='.tmp', dir=d)
    try:
        with os.fdopen(fd, 'wb') as f:
            write_fn(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _save_json_atomic(path: str, obj: dict) -> None:
    data = json.dumps(obj, indent=1, sort_keys=True).encode('utf-8')
    _write_atomic(path, lambda f: f.write(data))


_TMP_RE = re.compile(r'^\..+\.tmp$')


def _valid_feature_file(path: str, T: int, feat_dim: int) -> bool:
    try:
        arr = np.load(path, mmap_mode='r')
        ok = arr.shape == (T, feat_dim) and arr.dtype == np.float32
        del arr
        return ok
    except (OSError, ValueError):
        return False


def make_synthetic_dataset(ann_file: str,
                           video_info: Union[dict, str, Sequence[str], None],
                           out_dir: str,
                           geometry: Union[SnippetGeometry, dict],
                           classes: Union[str, Sequence[str], None] = None,
                           subsets: Union[str, Sequence[str], None] = None,
                           feat_dim: int = 64,
                           seed: int = 0,
                           noise: Optional[float] = None,
                           overwrite: bool = False,
                           progress: bool = True,
                           params: Optional[dict] = None) -> dict:
    """Write ``{out_dir}/{video_name}.npy`` (float32 ``[T, feat_dim]``) for every video of
    ``ann_file`` (all subsets, or those in ``subsets``) and ``{out_dir}/meta.json``.

    Args:
        ann_file: ActivityNet-format annotation file.
        video_info: ``{video: dict(duration=...)}`` as from :func:`load_video_info`, CSV
            path(s) for it, or ``None`` to use the file's ``duration`` fields.
        out_dir: output directory (created).
        geometry: :class:`SnippetGeometry` or ``dict(fps, feature_stride, offset_frames)``.
        classes: class map (list or file); ``None``: sorted labels of the file.
        subsets: subset name(s) to generate; ``None``: all.
        feat_dim, seed, noise, params: generator settings (see :func:`synthesize_video_features`).
        overwrite: replace a directory made with other settings (else that is an error).
        progress: show an mmengine progress bar.

    Idempotent: when ``meta.json`` matches the request and every file is present with the right
    shape, nothing is written. Files are written atomically and ``meta.json`` last, so an
    interrupted run never leaves a truncated feature file or a meta describing missing files; a
    rerun with the same settings resumes it.

    Returns:
        Summary dict: ``out_dir, num_videos, num_snippets, feat_dim, written, up_to_date,
        seconds, bytes, subsets``.
    """
    t0 = time.time()
    if isinstance(geometry, dict):
        geometry = SnippetGeometry(**geometry)
    if not isinstance(geometry, SnippetGeometry):
        raise TypeError(f'geometry must be a SnippetGeometry or dict, got {type(geometry)}')
    p = _merge_params(noise, params)
    feat_dim, seed = int(feat_dim), int(seed)
    if feat_dim < 1:
        raise ValueError(f'feat_dim must be >= 1, got {feat_dim}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if isinstance(video_info, (str, list, tuple)):
        video_info = load_video_info(video_info)
    durations = None if video_info is None else {
        k: float(v['duration']) for k, v in video_info.items()}
    class_names = load_class_map(classes)
    videos, class_names = load_annotation_file(ann_file, subset=subsets, classes=class_names,
                                               durations=durations)
    missing = [v['video_name'] for v in videos if v['duration'] is None]
    if missing:
        raise AnnotationError(
            f'{ann_file}: {len(missing)} video(s) have no duration (e.g. {missing[:3]}); give '
            f'video info CSVs (video,fps,count) or "duration" fields in the file.')
    for v in videos:
        name = v['video_name']
        if not name or '/' in name or '\\' in name or name in ('.', '..') or \
                name in (META_FILE, PARTIAL_FILE):
            raise AnnotationError(f'{ann_file}: video name {name!r} cannot be used as a file name')

    num_snippets = {v['video_name']: geometry.num_snippets(v['duration']) for v in videos}
    request = _canonical(dict(
        format_version=FORMAT_VERSION,
        generator=GENERATOR_NAME,
        params=p,
        geometry=dict(fps=float(geometry.fps), feature_stride=float(geometry.feature_stride),
                      offset_frames=float(geometry.offset_frames)),
        feat_dim=feat_dim,
        seed=seed,
        classes=list(class_names),
        annotations_digest=_annotation_digest(videos),
        num_snippets=num_snippets,
    ))
    subset_names = sorted({str(v['subset']) for v in videos})
    total = int(sum(num_snippets.values()))

    def summary(written: int, up_to_date: bool) -> dict:
        nbytes = sum(osp.getsize(osp.join(out_dir, f'{n}.npy')) for n in num_snippets)
        return dict(out_dir=osp.abspath(out_dir), num_videos=len(videos), num_snippets=total,
                    feat_dim=feat_dim, written=written, up_to_date=up_to_date,
                    seconds=time.time() - t0, bytes=nbytes, subsets=subset_names)

    def same(meta: Optional[dict]) -> bool:
        return meta is not None and all(meta.get(k) == v for k, v in request.items())

    meta_path = osp.join(out_dir, META_FILE)
    partial_path = osp.join(out_dir, PARTIAL_FILE)
    os.makedirs(out_dir, exist_ok=True)
    # leftovers of a killed run (temp names are ours: ".{name}.XXXX.tmp")
    for f in os.listdir(out_dir):
        if _TMP_RE.match(f):
            try:
                os.unlink(osp.join(out_dir, f))
            except OSError:
                pass

    meta = _read_json(meta_path) if osp.exists(meta_path) else None
    partial = _read_json(partial_path) if osp.exists(partial_path) else None
    resume = False
    if osp.exists(meta_path):
        if same(meta):
            if all(_valid_feature_file(osp.join(out_dir, f'{n}.npy'), T, feat_dim)
                   for n, T in num_snippets.items()):
                return summary(0, True)
            resume = True  # same settings, some files missing/damaged: regenerate those
        elif not overwrite:
            diff = sorted(k for k, v in request.items() if (meta or {}).get(k) != v)
            raise SyntheticDataError(
                f'{out_dir} already holds synthetic features made with other settings '
                f'(differing: {", ".join(diff) or "unreadable meta.json"}); pass overwrite=True '
                f'(--overwrite) to replace them, or use another output directory.')
    elif osp.exists(partial_path):
        if same(partial):
            resume = True  # interrupted run with the same settings
        elif not overwrite:
            raise SyntheticDataError(
                f'{out_dir} holds an interrupted synthetic-feature run with other settings; pass '
                f'overwrite=True (--overwrite) or use another output directory.')
    elif not overwrite and any(f.endswith('.npy') for f in os.listdir(out_dir)):
        raise SyntheticDataError(
            f'{out_dir} holds .npy files but no {META_FILE} (not made by this tool?); refusing '
            f'to overwrite them: pass overwrite=True (--overwrite) or use another directory.')

    # stale files of the previous set that the new one does not contain
    old = {}
    for m in (meta, partial):
        if m and isinstance(m.get('num_snippets'), dict):
            old.update(m['num_snippets'])
    if osp.exists(meta_path):
        os.unlink(meta_path)  # from now on the directory is "in progress"
    _save_json_atomic(partial_path, request)
    for n in old:
        if n not in num_snippets and isinstance(n, str) and '/' not in n:
            fp = osp.join(out_dir, f'{n}.npy')
            if osp.isfile(fp):
                os.unlink(fp)

    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(videos))
    written = 0
    for v in videos:
        name = v['video_name']
        path = osp.join(out_dir, f'{name}.npy')
        if not (resume and _valid_feature_file(path, num_snippets[name], feat_dim)):
            feats = synthesize_video_features(
                v['duration'], v['segments'], v['labels'], len(class_names), geometry,
                feat_dim=feat_dim, seed=seed, video_name=name, params=p)
            _write_atomic(path, lambda f, a=feats: np.save(f, a, allow_pickle=False))
            written += 1
        if bar is not None:
            bar.update()
    if bar is not None:
        print(flush=True)

    out = summary(written, False)
    full = dict(request)
    full.update(
        subsets={v['video_name']: str(v['subset']) for v in videos},
        ann_file=osp.abspath(ann_file),
        total_snippets=total,
        bytes=out['bytes'],
        generation_seconds=round(out['seconds'], 3),
        created=time.strftime('%Y-%m-%dT%H:%M:%S'),
    )
    _save_json_atomic(meta_path, full)
    os.unlink(partial_path)
    return out
