"""Synthetic feature generator, dataset writer and CLI (tiny hand-made annotation files)."""
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tadet.datasets.annotations import AnnotationError
from tadet.datasets.synthetic import (DEFAULT_PARAMS, THUMOS14_SYNTH, SyntheticDataError,
                                      make_synthetic_dataset, resolve_preset,
                                      synthesize_video_features, synthetic_prototypes)
from tadet.structures.geometry import SnippetGeometry

REPO = Path(__file__).resolve().parents[2]
GEOM = SnippetGeometry(fps=30, feature_stride=4, offset_frames=8)
CLASSES = ['Jump', 'Run', 'Throw']
QUIET = dict(distractor_rate=0.0, fake_boundary_rate=0.0)


def _load_cli():
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_cli', REPO / 'tools' / 'data' / 'make_synthetic.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_ann(tmp_path: Path, with_duration: bool = True) -> Path:
    db = {
        'vid_a': dict(subset='train', duration=40.0, annotations=[
            dict(segment=[5.0, 9.3], label='Jump'), dict(segment=['20.1', '26.0'], label='Run')]),
        'vid_b': dict(subset='train', duration=25.5, annotations=[
            dict(segment=[3.2, 4.0], label='Throw')]),
        'vid_c': dict(subset='test', duration=30.0, annotations=[
            dict(segment=[10.0, 18.7], label='Jump')]),
    }
    if not with_duration:
        for v in db.values():
            v.pop('duration')
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(database=db)))
    (tmp_path / 'classes.txt').write_text(''.join(f'{i} {c}\n' for i, c in enumerate(CLASSES)))
    return path


def _long_video(n: int = 24, length: float = 4.0, gap: float = 6.0, label: int = 1):
    starts = 3.0 + np.arange(n) * (length + gap) + 0.37 * np.arange(n) % 1.0
    segs = np.stack([starts, starts + length], 1)
    return segs, np.full(n, label), float(segs[-1, 1] + 5.0)


def test_shape_and_dtype_follow_geometry():
    for duration in (0.2, 1.0, 17.3, 123.4):
        f = synthesize_video_features(duration, np.array([[0.1, 0.15]]), np.array([0]), 3, GEOM,
                                      feat_dim=16, video_name='v')
        assert f.shape == (GEOM.num_snippets(duration), 16) and f.dtype == np.float32
        assert np.isfinite(f).all()
    empty = synthesize_video_features(10.0, np.zeros((0, 2)), np.zeros(0), 3, GEOM, feat_dim=8)
    assert empty.shape == (GEOM.num_snippets(10.0), 8)
    with pytest.raises(ValueError):
        synthesize_video_features(10.0, np.array([[1.0, 2.0]]), np.array([3]), 3, GEOM)


def test_deterministic_per_seed_and_name():
    segs, labels, dur = np.array([[2.0, 6.5], [10.0, 11.0]]), np.array([0, 2]), 20.0

    def make(**kw):
        kw = dict(dict(seed=0, video_name='vid_a'), **kw)
        return synthesize_video_features(dur, segs, labels, 3, GEOM, feat_dim=32, **kw)

    assert make().tobytes() == make().tobytes()
    assert make().tobytes() != make(seed=1).tobytes()
    assert make().tobytes() != make(video_name='vid_b').tobytes()
    assert make().tobytes() != make(noise=0.5).tobytes()


def test_class_evidence_stronger_inside_actions():
    segs, labels, dur = _long_video(label=1)
    f = synthesize_video_features(dur, segs, labels, 3, GEOM, feat_dim=64, seed=0,
                                  video_name='long')
    protos = synthetic_prototypes(3, 64, 0)
    proj = f @ protos['classes'].T  # [T, K]
    ab = GEOM.seconds_to_snippets(segs)
    x = np.arange(len(f)) + 0.5
    inside = np.zeros(len(f), bool)
    near = np.zeros(len(f), bool)
    for a, b in ab:
        inside |= (x > a + 2) & (x < b - 2)
        near |= (x > a - 4) & (x < b + 4)
    outside = ~near
    assert proj[inside, 1].mean() - proj[outside, 1].mean() > 0.8
    # the action's class stands out against the other classes inside actions
    assert proj[inside, 1].mean() > proj[inside][:, [0, 2]].mean() + 0.8


def test_start_end_transients_near_boundaries():
    segs, labels, dur = _long_video(n=60, length=5.0, gap=5.0, label=0)
    # background drift off to isolate the transients (white noise stays on)
    f = synthesize_video_features(dur, segs, labels, 3, GEOM, feat_dim=64, seed=3,
                                  video_name='bounds', params=dict(QUIET, scene_amp=0.0,
                                                                   drift_amp=0.0, context=0.0))
    protos = synthetic_prototypes(3, 64, 3)
    P0 = protos['classes'][0]

    def direction(v):  # the pattern without its (random) overlap with the class prototype
        v = v - (v @ P0) * P0
        return v / np.linalg.norm(v)

    ps, pe = f @ direction(protos['start']), f @ direction(protos['end'])
    ab = GEOM.seconds_to_snippets(segs)

    def around(p, centres, r=1):
        return np.mean([p[int(c) - r:int(c) + r + 1].mean() for c in centres])

    mid = ab.mean(1)
    assert around(ps, ab[:, 0]) > around(ps, mid) + 0.15
    assert around(ps, ab[:, 0]) > around(ps, ab[:, 1]) + 0.15
    assert around(pe, ab[:, 1]) > around(pe, mid) + 0.15
    assert around(pe, ab[:, 1]) > around(pe, ab[:, 0]) + 0.15
    # transients are weaker than class evidence
    assert around(f @ P0, mid) > around(ps, ab[:, 0])


def test_profile_is_soft_and_crosses_half_at_the_boundary():
    off = {k: 0.0 for k in ('noise', 'scene_amp', 'drift_amp', 'context', 'transient_amp',
                            'distractor_rate', 'fake_boundary_rate', 'modulation',
                            'video_gain', 'class_amp_jitter')}
    segs = np.array([[4.0, 14.0]])
    f = synthesize_video_features(20.0, segs, np.array([0]), 2, GEOM, feat_dim=32,
                                  video_name='soft', params=dict(off, ramp=[1.5, 1.5]))
    a, b = GEOM.seconds_to_snippets(segs[0])
    x = np.arange(len(f)) + 0.5
    mag = np.linalg.norm(f, axis=1) / np.linalg.norm(f, axis=1).max()
    ramp = (x > a - 2) & (x < a + 2)
    assert 0.05 < mag[ramp].min() < 0.5 < mag[ramp].max() < 0.97  # a ramp, not a box
    # sigmoid(0) = 0.5: interpolated magnitude at the continuous start coordinate ~ half
    assert abs(np.interp(a, x, mag) - 0.5) < 0.08
    assert abs(np.interp(b, x, mag) - 0.5) < 0.08
    assert mag[x < a - 10].max() < 0.01


def test_make_dataset_idempotent_and_mismatch(tmp_path):
    ann = _write_ann(tmp_path)
    out = tmp_path / 'feats'
    s = make_synthetic_dataset(str(ann), None, str(out), GEOM,
                               classes=str(tmp_path / 'classes.txt'), feat_dim=8, progress=False)
    assert s['num_videos'] == 3 and s['written'] == 3 and not s['up_to_date']
    assert s['num_snippets'] == sum(GEOM.num_snippets(d) for d in (40.0, 25.5, 30.0))
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['format_version'] == 1 and meta['feat_dim'] == 8 and meta['seed'] == 0
    assert meta['classes'] == CLASSES
    assert meta['geometry'] == dict(fps=30.0, feature_stride=4.0, offset_frames=8.0)
    assert meta['num_snippets']['vid_b'] == GEOM.num_snippets(25.5)
    assert meta['params']['noise'] == DEFAULT_PARAMS['noise']
    a = np.load(out / 'vid_a.npy')
    assert a.shape == (GEOM.num_snippets(40.0), 8) and a.dtype == np.float32
    # same bytes as the per-video function (independent of the other videos)
    direct = synthesize_video_features(40.0, [[5.0, 9.3], [20.1, 26.0]], [0, 1], 3, GEOM,
                                       feat_dim=8, seed=0, video_name='vid_a')
    assert a.tobytes() == direct.tobytes()

    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    s2 = make_synthetic_dataset(str(ann), None, str(out), GEOM,
                                classes=str(tmp_path / 'classes.txt'), feat_dim=8,
                                progress=False)
    assert s2['up_to_date'] and s2['written'] == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes

    with pytest.raises(SyntheticDataError, match='overwrite'):
        make_synthetic_dataset(str(ann), None, str(out), GEOM,
                               classes=str(tmp_path / 'classes.txt'), feat_dim=8, seed=1,
                               progress=False)
    assert np.load(out / 'vid_a.npy').tobytes() == a.tobytes()  # untouched
    s3 = make_synthetic_dataset(str(ann), None, str(out), GEOM,
                                classes=str(tmp_path / 'classes.txt'), feat_dim=8, seed=1,
                                overwrite=True, progress=False)
    assert s3['written'] == 3
    assert np.load(out / 'vid_a.npy').tobytes() != a.tobytes()
    assert json.loads((out / 'meta.json').read_text())['seed'] == 1

    # a lost file is regenerated alone
    (out / 'vid_b.npy').unlink()
    s4 = make_synthetic_dataset(str(ann), None, str(out), GEOM,
                                classes=str(tmp_path / 'classes.txt'), feat_dim=8, seed=1,
                                progress=False)
    assert s4['written'] == 1 and (out / 'vid_b.npy').exists()


def test_subsets_and_video_info_csv(tmp_path):
    ann = _write_ann(tmp_path, with_duration=False)
    with pytest.raises(AnnotationError, match='duration'):
        make_synthetic_dataset(str(ann), None, str(tmp_path / 'x'), GEOM, progress=False)
    csv = tmp_path / 'info.csv'
    csv.write_text('video,fps,count\nvid_a,25,1000\nvid_b,30,300\nvid_c,30,900\n')
    out = tmp_path / 'feats'
    s = make_synthetic_dataset(str(ann), [str(csv)], str(out), dict(fps=30, feature_stride=4,
                                                                     offset_frames=8),
                               subsets=['train'], feat_dim=4, progress=False)
    assert s['num_videos'] == 2 and s['subsets'] == ['train']
    assert sorted(p.name for p in out.iterdir()) == ['meta.json', 'vid_a.npy', 'vid_b.npy']
    assert np.load(out / 'vid_a.npy').shape == (GEOM.num_snippets(40.0), 4)


def test_atomic_writes_and_resume(tmp_path, monkeypatch):
    import tadet.datasets.synthetic.writer as synth  # the module that calls np.save
    ann = _write_ann(tmp_path)
    out = tmp_path / 'feats'
    out.mkdir()
    (out / '.vid_a.npy.abc123.tmp').write_bytes(b'partial')  # left by a killed run

    real_save, calls = np.save, []

    def flaky_save(f, arr, **kw):
        calls.append(1)
        if len(calls) == 2:
            f.write(b'\x93NUMPY half-written')
            raise KeyboardInterrupt
        return real_save(f, arr, **kw)

    monkeypatch.setattr(synth.np, 'save', flaky_save)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_dataset(str(ann), None, str(out), GEOM, feat_dim=8, progress=False)
    names = sorted(p.name for p in out.iterdir())
    assert names == ['meta.partial.json', 'vid_a.npy']  # no temp files, no truncated file
    monkeypatch.setattr(synth.np, 'save', real_save)

    s = make_synthetic_dataset(str(ann), None, str(out), GEOM, feat_dim=8, progress=False)
    assert s['written'] == 2  # resumed: vid_a kept
    assert sorted(p.name for p in out.iterdir()) == ['meta.json', 'vid_a.npy', 'vid_b.npy',
                                                     'vid_c.npy']


def test_refuses_foreign_directory(tmp_path):
    ann = _write_ann(tmp_path)
    out = tmp_path / 'real_features'
    out.mkdir()
    np.save(out / 'vid_a.npy', np.ones((3, 2), np.float32))
    with pytest.raises(SyntheticDataError, match='meta.json'):
        make_synthetic_dataset(str(ann), None, str(out), GEOM, feat_dim=8, progress=False)
    assert np.load(out / 'vid_a.npy').shape == (3, 2)


def test_preset_paths_resolve_from_any_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = resolve_preset('thumos14_synth')
    assert os.path.isfile(p['ann_file']) and os.path.isfile(p['classes'])
    assert all(os.path.isfile(c) for c in p['video_info'])
    assert p['out_dir'].endswith(os.path.join('data', 'thumos14', 'features_synth'))
    assert p['geometry'] == dict(fps=30, feature_stride=4, offset_frames=8)
    assert THUMOS14_SYNTH['feat_dim'] == 64 and THUMOS14_SYNTH['seed'] == 0
    with pytest.raises(SyntheticDataError, match='unknown preset'):
        resolve_preset('nope')


def test_cli_good_input(tmp_path, capsys):
    cli = _load_cli()
    ann = _write_ann(tmp_path)
    out = tmp_path / 'cli_out'
    argv = ['--ann', str(ann), '--classes', str(tmp_path / 'classes.txt'), '--out', str(out),
            '--fps', '30', '--feature-stride', '4', '--offset-frames', '8', '--dim', '8',
            '--seed', '2', '--noise', '0.5', '--no-progress']
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert '3 videos' in text and 'dim 8' in text and str(out) in text
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['seed'] == 2 and meta['params']['noise'] == 0.5
    assert cli.main(argv) == 0
    assert 'up to date' in capsys.readouterr().out
    assert cli.main(argv[:-1] + ['--subsets', 'test', '--overwrite', '--no-progress']) == 0
    assert sorted(p.name for p in out.iterdir()) == ['meta.json', 'vid_c.npy']


@pytest.mark.parametrize('case', ['missing', 'malformed', 'no_out', 'mismatch', 'preset',
                                  'bad_flag', 'bad_label'])
def test_cli_bad_input(tmp_path, capsys, case):
    cli = _load_cli()
    ann = _write_ann(tmp_path)
    base = ['--out', str(tmp_path / 'o'), '--fps', '30', '--no-progress']
    if case == 'missing':
        argv = ['--ann', str(tmp_path / 'nope.json')] + base
    elif case == 'malformed':
        bad = tmp_path / 'bad.json'
        bad.write_text('{"database": {"v": {"subset": "train"')
        argv = ['--ann', str(bad)] + base
    elif case == 'no_out':
        argv = ['--ann', str(ann), '--fps', '30']
    elif case == 'mismatch':
        assert cli.main(['--ann', str(ann)] + base + ['--dim', '4']) == 0
        capsys.readouterr()
        argv = ['--ann', str(ann)] + base + ['--dim', '5']
    elif case == 'preset':
        argv = ['--preset', 'nope']
    elif case == 'bad_flag':
        argv = ['--ann', str(ann), '--dim', 'seven']
    else:
        argv = ['--ann', str(ann), '--classes', str(tmp_path / 'only.txt')] + base
        (tmp_path / 'only.txt').write_text('Jump\n')
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert 'error' in err and 'Traceback' not in err
