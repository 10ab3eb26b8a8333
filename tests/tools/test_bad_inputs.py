"""Bad input end to end through tools/train.py and tools/test.py (issue 9): one clear line on
stderr, exit code 2, no partial output files."""
import json
import os.path as osp
import sys

import numpy as np
import pytest

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402

from tadet.apis import run_cli  # noqa: E402


_TRAINED: dict = {}


@pytest.fixture
def setup(tmp_path, tmp_path_factory, tiny_data, custom_module_dir, capsys):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(tiny_config_text(tiny_data, epochs=1))
    if 'ckpt' not in _TRAINED:  # one training for the module; every test has its own data
        work = tmp_path_factory.mktemp('bad_inputs_train')
        # outside capture: mmengine's logger keeps the stream it first saw, and a later
        # test's closed capture stream would turn its messages into logging errors
        with capsys.disabled():
            assert train_tool.main([str(cfg), '--work-dir', str(work)]) == 0
        _TRAINED['ckpt'] = str(work / 'epoch_1.pth')
    return dict(cfg=str(cfg), ckpt=_TRAINED['ckpt'], data=tiny_data, tmp=tmp_path)


def run_test_tool(s, capsys, *extra):
    out, work = s['tmp'] / 'preds.json', s['tmp'] / 'test_work'
    code = run_cli(test_tool.main, [s['cfg'], s['ckpt'], '--out', str(out), '--work-dir',
                                    str(work), *extra])
    err = capsys.readouterr().err
    return code, err, out, work


def feature(s, video):
    return osp.join(s['data']['feature_root'], video + '.npy')


def assert_clean_failure(code, err, *paths):
    assert code == 2
    assert err.startswith('error: ') and 'Traceback' not in err, err
    for p in paths:
        assert not osp.exists(p), p


def test_wrong_feature_dim(setup, capsys):
    np.save(feature(setup, 'test_video_1'), np.zeros((40, 9), np.float32))
    code, err, out, work = run_test_tool(setup, capsys)
    assert_clean_failure(code, err, out, work)
    assert 'test_video_1' in err and '9' in err and 'feat_dim' in err


def test_nan_features(setup, capsys):
    feats = np.load(feature(setup, 'test_video_0'))
    feats[5, 2] = np.nan
    np.save(feature(setup, 'test_video_0'), feats)
    code, err, out, work = run_test_tool(setup, capsys)
    assert_clean_failure(code, err, out, work)
    assert 'test_video_0' in err and 'NaN' in err


def test_empty_video(setup, capsys):
    np.save(feature(setup, 'test_video_0'), np.zeros((0, 8), np.float32))
    code, err, out, work = run_test_tool(setup, capsys)
    assert_clean_failure(code, err, out, work)
    assert 'test_video_0' in err and 'zero snippets' in err


def test_missing_feature_file(setup, capsys):
    import os
    os.remove(feature(setup, 'test_video_1'))
    code, err, out, work = run_test_tool(setup, capsys)
    assert_clean_failure(code, err, out, work)
    assert 'test_video_1.npy' in err


def test_checkpoint_of_another_model(setup, capsys):
    code, err, out, work = run_test_tool(setup, capsys, '--cfg-options', 'model.hidden=8')
    assert_clean_failure(code, err, out, work)
    assert 'CheckpointMismatchError' in err and 'epoch_1.pth' in err and 'shape' in err
    assert osp.isfile(setup['ckpt'])  # the checkpoint itself is untouched


def test_resume_with_checkpoint_of_another_model(setup, capsys):
    work = setup['tmp'] / 'other'
    code = run_cli(train_tool.main, [setup['cfg'], '--work-dir', str(work), '--resume',
                                     setup['ckpt'], '--cfg-options', 'model.hidden=4'])
    err = capsys.readouterr().err
    assert_clean_failure(code, err, work)
    assert 'does not fit the model' in err


def edit_annotations(s, fn):
    path = s['data']['ann_file']
    data = json.load(open(path))
    fn(data['database'])
    json.dump(data, open(path, 'w'))


def test_malformed_annotation(setup, capsys):
    def flip(db):
        db['train_video_2']['annotations'][0]['segment'] = [5.0, 2.0]
    edit_annotations(setup, flip)
    work = setup['tmp'] / 'w'
    code = run_cli(train_tool.main, [setup['cfg'], '--work-dir', str(work)])
    err = capsys.readouterr().err
    assert_clean_failure(code, err, work)
    assert 'ann.json' in err and 'train_video_2' in err


def test_class_missing_from_class_map(setup, capsys):
    def rename(db):
        db['train_video_1']['annotations'][0]['label'] = 'swim'
    edit_annotations(setup, rename)
    work = setup['tmp'] / 'w'
    code = run_cli(train_tool.main, [setup['cfg'], '--work-dir', str(work)])
    err = capsys.readouterr().err
    assert_clean_failure(code, err, work)
    assert "'swim'" in err and 'class map' in err


def test_features_shorter_than_one_window_are_padded(setup, capsys):
    # not an error: a 5-snippet video (window 16) is padded for training and testing
    feats = np.load(feature(setup, 'test_video_0'))
    short = feats[:5].copy()
    short[1:4, 0] += 2.0
    np.save(feature(setup, 'test_video_0'), short)
    code, err, out, work = run_test_tool(setup, capsys)
    assert code == 0, err
    preds = json.load(open(out))['results']
    assert set(preds) == {'test_video_0', 'test_video_1'}
    secs_per_snippet = setup['data']['feature_stride'] / setup['data']['fps']
    assert all(d['segment'][1] <= 5 * secs_per_snippet + 1e-6 for d in preds['test_video_0'])
