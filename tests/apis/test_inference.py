"""init_detector / inference_detector and tools/infer.py on a tiny trained detector."""
import json
import os.path as osp
import sys

import numpy as np
import pytest

from tadet_testing import FIXTURES, REPO, forget_module, make_tiny_dataset, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
import infer as infer_tool  # noqa: E402


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One tiny detector trained (3 epochs) and tested for the whole module."""
    import shutil

    from tadet.apis.runner import run
    tmp_path = tmp_path_factory.mktemp('infer')
    custom = tmp_path / 'custom'
    custom.mkdir()
    shutil.copy(f'{FIXTURES}/tiny_tad.py', custom / 'tiny_tad.py')
    sys.path.insert(0, str(custom))
    tiny_data = make_tiny_dataset(tmp_path / 'data')
    cfg = tmp_path / 'tiny_cfg.py'
    cfg.write_text(tiny_config_text(tiny_data, epochs=3))
    work = tmp_path / 'work'
    preds = tmp_path / 'preds.json'
    run(str(cfg), 'train', work_dir=str(work))
    run(str(cfg), 'test', work_dir=str(work), checkpoint=str(work / 'epoch_3.pth'),
        pred_out=str(preds))
    yield dict(cfg=str(cfg), ckpt=str(work / 'epoch_3.pth'), preds=str(preds),
               data=tiny_data, tmp=tmp_path)
    sys.path.remove(str(custom))
    forget_module('tiny_tad')


def test_inference_matches_test_tool(trained):
    """Same detections as tools/test.py for a test video (same model, one post-processing)."""
    from tadet.apis import inference_detector, init_detector
    d = trained['data']
    model = init_detector(trained['cfg'], trained['ckpt'])
    assert model.dataset_meta['classes'] == ['jump', 'run'] and model.in_channels == 8
    video = 'test_video_0'
    feats = np.load(osp.join(d['feature_root'], video + '.npy'))
    duration = json.load(open(d['ann_file']))['database'][video]['duration']
    dets = inference_detector(model, feats, fps=d['fps'], feature_stride=d['feature_stride'],
                              offset_frames=d['offset_frames'], duration=duration)
    ref = json.load(open(trained['preds']))['results'][video]
    assert len(dets) == len(ref) > 0
    for a, b in zip(dets, ref):
        assert a['label'] == b['label'] and a['score'] == pytest.approx(b['score'], abs=1e-6)
        assert a['segment'] == pytest.approx(b['segment'], abs=1e-5)
    # a file path and the [C, T] layout give the same; score_thr filters
    path = osp.join(d['feature_root'], video + '.npy')
    same = inference_detector(model, path, fps=d['fps'], feature_stride=d['feature_stride'],
                              duration=duration)
    assert [x['segment'] for x in same] == [x['segment'] for x in dets]
    ct = inference_detector(model, feats.T, fps=d['fps'], feature_stride=d['feature_stride'],
                            layout='CT', duration=duration)
    assert [x['score'] for x in ct] == [x['score'] for x in dets]
    thr = sorted(x['score'] for x in dets)[len(dets) // 2]
    assert all(x['score'] > thr for x in inference_detector(
        model, feats, fps=d['fps'], feature_stride=d['feature_stride'], score_thr=thr))


def test_infer_tool_outputs_seconds_and_names(trained, capsys):
    d = trained['data']
    out = trained['tmp'] / 'result.json'
    feat = osp.join(d['feature_root'], 'test_video_1.npy')
    # geometry from the config's test dataset (10 fps, stride 2, offset 0)
    assert infer_tool.main([trained['cfg'], trained['ckpt'], feat, '--out', str(out)]) == 0
    text = capsys.readouterr().out
    res = json.load(open(out))
    assert res['video'] == 'test_video_1'
    assert res['geometry'] == dict(fps=10.0, feature_stride=2.0, offset_frames=0.0)
    assert set(res['results']) == {'test_video_1'} and 'detections' not in res
    dets = res['results']['test_video_1']
    assert dets and all(x['label'] in ('jump', 'run') for x in dets)
    t = np.load(feat).shape[0]
    assert all(0 <= x['segment'][0] <= x['segment'][1] <= (t - 1) * 0.2 + 0.1 for x in dets)
    assert [x['score'] for x in dets] == sorted((x['score'] for x in dets), reverse=True)
    assert f'{dets[0]["segment"][0]:.2f}' in text and dets[0]['label'] in text
    # another geometry stretches the same detections in time
    out2 = trained['tmp'] / 'result2.json'
    assert infer_tool.main([trained['cfg'], trained['ckpt'], feat, '--fps', '5',
                            '--feature-stride', '2', '--offset-frames', '0',
                            '--out', str(out2)]) == 0
    d2 = json.load(open(out2))['results']['test_video_1']
    assert d2[0]['segment'][0] == pytest.approx(2 * dets[0]['segment'][0], abs=1e-5)


def _fails(args, capsys, *needles):
    from tadet.apis import run_cli
    code = run_cli(infer_tool.main, args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert 'Traceback' not in err and err.startswith('error: ')
    for n in needles:
        assert n in err, err
    return err


def test_infer_tool_errors(trained, capsys):
    tmp, d = trained['tmp'], trained['data']
    feat = np.load(osp.join(d['feature_root'], 'test_video_0.npy'))
    out = tmp / 'r.json'
    base = [trained['cfg'], trained['ckpt']]
    _fails(base + [str(tmp / 'missing.npy')], capsys, 'missing.npy')
    np.save(tmp / 'wrong_dim.npy', feat[:, :5])
    _fails(base + [str(tmp / 'wrong_dim.npy'), '--out', str(out)], capsys, '5 channels',
           'expects 8')
    bad = feat.copy()
    bad[7, 2] = np.nan
    np.save(tmp / 'nan.npy', bad)
    _fails(base + [str(tmp / 'nan.npy'), '--out', str(out)], capsys, 'NaN', 'snippet 7')
    (tmp / 'garbage.pth').write_bytes(b'not a checkpoint')
    np.save(tmp / 'ok.npy', feat)
    _fails([trained['cfg'], str(tmp / 'garbage.pth'), str(tmp / 'ok.npy'), '--out', str(out)],
           capsys, 'garbage.pth')
    # a checkpoint of a differently sized model does not load silently
    wide = tmp / 'wide.py'
    wide.write_text(f"_base_ = [{trained['cfg']!r}]\nmodel = dict(hidden=32)\n")
    _fails([str(wide), trained['ckpt'], str(tmp / 'ok.npy'), '--out', str(out)], capsys,
           'does not fit')
    assert not out.exists()
