import numpy as np
import pytest
import torch

from tadet.datasets.transforms import FeatureError, LoadFeatures, read_feature_file


@pytest.fixture
def feats():
    return np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)


@pytest.mark.parametrize('suffix', ['.npy', '.npz', '.pt', '.csv'])
def test_formats_roundtrip(tmp_path, feats, suffix):
    path = str(tmp_path / f'v{suffix}')
    if suffix == '.npy':
        np.save(path, feats)
    elif suffix == '.npz':
        np.savez(path, feats=feats)
    elif suffix == '.pt':
        torch.save(torch.from_numpy(feats), path)
    else:
        np.savetxt(path, feats, delimiter=',')
    out = read_feature_file(path, 'v')
    np.testing.assert_allclose(out, feats, rtol=1e-6)


def test_ct_layout_and_concat(tmp_path, feats):
    np.save(tmp_path / 'a.npy', feats.T)
    np.save(tmp_path / 'b.npy', feats.T * 2)
    t = LoadFeatures(feat_dim=6, layout='CT')
    r = t(dict(video_name='v', feature_paths=[str(tmp_path / 'a.npy'), str(tmp_path / 'b.npy')]))
    assert r['feats'].shape == (7, 6) and r['num_snippets'] == 7
    np.testing.assert_allclose(r['feats'][:, 3:], feats * 2)


def test_window_slice(tmp_path, feats):
    np.save(tmp_path / 'a.npy', feats)
    r = LoadFeatures()(dict(video_name='v', feature_paths=[str(tmp_path / 'a.npy')],
                            window_start=2, window_size=3))
    np.testing.assert_allclose(r['feats'], feats[2:5])
    assert r['num_snippets'] == 7


def test_errors(tmp_path, feats):
    np.save(tmp_path / 'a.npy', feats)
    with pytest.raises(FileNotFoundError, match='feature_root'):
        LoadFeatures()(dict(video_name='v', feature_paths=[str(tmp_path / 'none.npy')]))
    with pytest.raises(FeatureError, match='feat_dim=5'):
        LoadFeatures(feat_dim=5)(dict(video_name='v', feature_paths=[str(tmp_path / 'a.npy')]))
    bad = feats.copy()
    bad[3, 1] = np.nan
    np.save(tmp_path / 'nan.npy', bad)
    with pytest.raises(FeatureError, match='NaN/Inf'):
        LoadFeatures()(dict(video_name='v', feature_paths=[str(tmp_path / 'nan.npy')]))
    np.save(tmp_path / 'empty.npy', np.zeros((0, 3), np.float32))
    with pytest.raises(FeatureError, match='zero snippets'):
        LoadFeatures()(dict(video_name='v', feature_paths=[str(tmp_path / 'empty.npy')]))
    np.save(tmp_path / 'three.npy', np.zeros((2, 2, 2), np.float32))
    with pytest.raises(FeatureError, match='2-D'):
        read_feature_file(str(tmp_path / 'three.npy'))
    (tmp_path / 'junk.npy').write_bytes(b'not a numpy file')
    with pytest.raises(FeatureError, match='could not be read'):
        read_feature_file(str(tmp_path / 'junk.npy'))
    np.save(tmp_path / 'short.npy', feats[:3])
    with pytest.raises(FeatureError, match='different lengths'):
        LoadFeatures()(dict(video_name='v', feature_paths=[str(tmp_path / 'a.npy'),
                                                           str(tmp_path / 'short.npy')]))
