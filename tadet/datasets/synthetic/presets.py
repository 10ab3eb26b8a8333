"""Named synthetic datasets (annotation files, geometry, output folder, generator settings)."""
import os
import os.path as osp
from typing import Union

from .generator import SyntheticDataError

#: THUMOS14 with I3D-like geometry (30 fps, 4-frame stride, 16-frame clips). Paths are relative
#: to the repository root; see :func:`resolve_preset`.
THUMOS14_SYNTH = dict(
    ann_file='data/thumos14/annotations/thumos_gt.json',
    video_info=['data/thumos14/annotations/val_video_info.csv',
                'data/thumos14/annotations/test_video_info.csv'],
    classes='data/thumos14/annotations/Class_Index_Detection.txt',
    geometry=dict(fps=30, feature_stride=4, offset_frames=8),
    out_dir='data/thumos14/features_synth',
    feat_dim=64,
    seed=0,
)

PRESETS = {'thumos14_synth': THUMOS14_SYNTH}

_PATH_KEYS = ('ann_file', 'video_info', 'classes', 'out_dir')


def _repo_root() -> str:
    # tadet/datasets/synthetic/presets.py -> the checkout
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def resolve_preset(preset: Union[str, dict]) -> dict:
    """A preset (name or dict) with absolute paths: relative paths are taken relative to the
    current directory when the preset's annotation file is found there, else relative to the
    repository root (the parent of the ``tadet`` package)."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise SyntheticDataError(f'unknown preset {preset!r}; known: {sorted(PRESETS)}')
        preset = PRESETS[preset]
    out = dict(preset)
    ann = out.get('ann_file')
    root = os.getcwd()
    if ann and not osp.isabs(ann) and not osp.isfile(ann):
        root = _repo_root()

    def fix(v):
        return v if osp.isabs(v) else osp.normpath(osp.join(root, v))

    for k in _PATH_KEYS:
        v = out.get(k)
        if isinstance(v, str):
            out[k] = fix(v)
        elif isinstance(v, (list, tuple)):
            out[k] = [fix(x) for x in v]
    if isinstance(out.get('geometry'), dict):
        out['geometry'] = dict(out['geometry'])
    return out

