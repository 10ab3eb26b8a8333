import numpy as np
import pytest

from tadet.datasets import SlidingWindow, crop_segments
from tadet.registry import DATASETS
from tadet.structures import SnippetGeometry

PIPE = [dict(type='LoadFeatures'), dict(type='PackTADInputs')]


def build(d, **kw):
    cfg = dict(type='TADDataset', ann_file=d['ann_file'], feature_root=d['feature_root'],
               classes=d['classes'], fps=d['fps'], feature_stride=d['feature_stride'],
               offset_frames=d['offset_frames'], pipeline=PIPE)
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_sliding_window_covers_everything():
    sw = SlidingWindow(10, 4)
    assert sw.starts(3) == [0]
    assert sw.starts(10) == [0]
    assert sw.starts(19) == [0, 4, 8, 9]
    for n in range(1, 40):
        covered = np.zeros(n, bool)
        for s in sw.starts(n):
            covered[s:s + 10] = True
        assert covered.all()
    with pytest.raises(ValueError, match='skip'):
        SlidingWindow(4, 5)


def test_crop_segments_coverage_and_truncation():
    segs = np.array([[0, 4], [8, 12], [18, 30], [30, 31]])
    cropped, keep = crop_segments(segs, 10, 10, 0.5)
    # [8,12]: half inside -> kept and truncated; [18,30]: 2/12 inside -> dropped
    assert keep.tolist() == [False, True, False, False]
    np.testing.assert_allclose(cropped, [[0, 2]])


def test_geometry_roundtrip_and_convention():
    g = SnippetGeometry(30, 4, 8)
    # snippet 0 is centred on frame 8 = 0.2667 s and covers coordinates [0, 1)
    assert g.seconds_to_snippets(8 / 30) == pytest.approx(0.5)
    assert g.snippet_centre_seconds(3) == pytest.approx(20 / 30)
    x = np.array([0.3, 17.25])
    np.testing.assert_allclose(g.seconds_to_snippets(g.snippets_to_seconds(x)), x)
    assert g.num_snippets(10.0) == (300 - 16) // 4 + 1
    with pytest.raises(ValueError):
        SnippetGeometry(0)


def test_test_mode_one_sample_per_video(tiny_data):
    ds = build(tiny_data, subset='test', test_mode=True)
    assert len(ds) == 2 and ds.metainfo['classes'] == ('jump', 'run')
    item = ds[0]
    sample = item['data_samples']
    assert item['inputs'].shape[0] == tiny_data['feat_dim']
    t = item['inputs'].shape[1]
    assert sample.num_snippets == t and sample.window_start == 0
    geo = SnippetGeometry(tiny_data['fps'], tiny_data['feature_stride'], 0)
    np.testing.assert_allclose(sample.gt_instances.segments.numpy(),
                               geo.seconds_to_snippets(sample.gt_seconds.segments.numpy()),
                               rtol=1e-5)


def test_train_windows(tiny_data):
    ds = build(tiny_data, subset='train', window=dict(size=16, stride=8),
               pipeline=[dict(type='LoadFeatures'), dict(type='PadFeatures', size=16),
                         dict(type='PackTADInputs')])
    assert len(ds) > 4
    for i in range(len(ds)):
        item = ds[i]
        assert item['inputs'].shape == (tiny_data['feat_dim'], 16)
        segs = item['data_samples'].gt_instances.segments
        assert len(segs) > 0 and (segs >= 0).all() and (segs <= 16).all()


def test_window_options_validated(tiny_data):
    with pytest.raises(ValueError, match="unknown key"):
        build(tiny_data, subset='train', window=dict(size=16, strid=8))
    with pytest.raises(ValueError, match='test_cfg.sliding_window'):
        build(tiny_data, subset='test', test_mode=True, window=dict(size=16, stride=8))


def test_unknown_dataset_key_is_an_error(tiny_data):
    with pytest.raises(TypeError, match='feature_sufix'):
        build(tiny_data, subset='test', feature_sufix='.npy')


def test_missing_feature_files_named(tiny_data, tmp_path):
    with pytest.raises(FileNotFoundError, match='feature file'):
        build(tiny_data, subset='train', feature_root=str(tmp_path / 'nowhere'))


def test_concatenated_feature_sets(tiny_data):
    ds = build(tiny_data, subset='test', test_mode=True,
               feature_root=[tiny_data['feature_root'], tiny_data['feature_root']])
    assert ds[0]['inputs'].shape[0] == 2 * tiny_data['feat_dim']


def test_resize_and_truncate_transforms(tiny_data):
    ds = build(tiny_data, subset='test', test_mode=True,
               pipeline=[dict(type='LoadFeatures'), dict(type='ResizeFeatures', length=20),
                         dict(type='PackTADInputs')])
    item = ds[0]
    s = item['data_samples']
    assert item['inputs'].shape[1] == 20
    assert s.snippet_scale == pytest.approx(s.num_snippets / 20)
    full = build(tiny_data, subset='test', test_mode=True)[0]['data_samples']
    np.testing.assert_allclose(s.gt_instances.segments.numpy() * s.snippet_scale,
                               full.gt_instances.segments.numpy(), rtol=1e-5)
    ds = build(tiny_data, subset='train',
               pipeline=[dict(type='LoadFeatures'),
                         dict(type='RandomTruncate', size=12, seed=0),
                         dict(type='PadFeatures', size=12), dict(type='PackTADInputs')])
    for i in range(len(ds)):
        item = ds[i]
        assert item['inputs'].shape[1] == 12
        segs = item['data_samples'].gt_instances.segments
        assert (segs >= 0).all() and (segs <= 12).all()


def test_synthetic_option_generates_missing_features(tiny_data, tmp_path):
    root = tmp_path / 'synth'
    ds = build(tiny_data, subset='test', test_mode=True, feature_root=str(root),
               synthetic=dict(feat_dim=6, seed=1))
    item = ds[0]
    assert item['inputs'].shape[0] == 6
    assert (root / 'meta.json').is_file() and len(list(root.glob('*.npy'))) == 6
    # a second dataset on the same folder reuses the files
    again = build(tiny_data, subset='train', feature_root=str(root),
                  synthetic=dict(feat_dim=6, seed=1))
    assert len(again) == 4


def test_random_truncate_follows_the_run_seed():
    """Without its own seed the crop comes from numpy's global generator, which the run's
    randomness.seed seeds: the same seed gives the same crops."""
    import numpy as np

    from tadet.datasets.transforms import RandomTruncate

    def crops(seed):
        np.random.seed(seed)
        t = RandomTruncate(size=8, min_gt_coverage=0.0)
        out = []
        for _ in range(5):
            r = t.transform(dict(feats=np.arange(100, dtype=np.float32)[:, None],
                                 gt_segments=np.zeros((0, 2)), gt_labels=np.zeros(0, np.int64)))
            out.append(float(r['feats'][0, 0]))
        return out

    assert crops(3) == crops(3) and crops(3) != crops(4)
