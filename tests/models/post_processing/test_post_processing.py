import json

import pytest
import torch

from tadet.models.post_processing import TADPostProcessor, decode_class_scores
from tadet.structures import SnippetGeometry

META = dict(video_name='v', fps=10.0, feature_stride=2.0, offset_frames=0.0, duration=20.0,
            num_snippets=100, snippet_scale=1.0)


def cand(segs, scores, labels):
    return dict(segments=torch.tensor(segs, dtype=torch.float32),
                scores=torch.tensor(scores, dtype=torch.float32),
                labels=torch.tensor(labels))


def test_decode_class_scores_topk():
    segs = torch.tensor([[0., 1.], [2., 3.]])
    cls = torch.tensor([[0.1, 0.9], [0.8, 0.05]])
    out = decode_class_scores(segs, cls, topk=2, score_thr=0.06)
    assert out['scores'].tolist() == pytest.approx([0.9, 0.8])
    assert out['labels'].tolist() == [1, 0]
    assert out['segments'].tolist() == [[0., 1.], [2., 3.]]


def test_window_offsets_seconds_and_merge():
    pp = TADPostProcessor(nms=dict(method='hard', iou_threshold=0.5), max_per_video=10)
    geo = SnippetGeometry(10.0, 2.0, 0.0)
    # the same action seen from two overlapping windows (starts 0 and 40) -> one detection
    out = pp([cand([[45., 55.]], [0.9], [1]), cand([[5.5, 15.]], [0.6], [1])], [0, 40], META)
    assert len(out.scores) == 1 and out.labels.tolist() == [1]
    torch.testing.assert_close(out.segments, geo.snippets_to_seconds(
        torch.tensor([[45., 55.]], dtype=torch.float64)))
    # different classes survive per-class NMS
    out = pp([cand([[5., 15.], [5., 15.]], [0.9, 0.8], [0, 1])], [0], META)
    assert sorted(out.labels.tolist()) == [0, 1]


def test_clipping_and_topk_per_video():
    pp = TADPostProcessor(nms=None, max_per_video=2)
    out = pp([cand([[-5., 3.], [90., 130.], [10., 20.], [30., 40.]], [0.5, 0.7, 0.05, 0.2],
                   [0, 0, 0, 0])], [0], META)
    assert out.scores.tolist() == pytest.approx([0.7, 0.5])
    assert out.segments.min() >= 0 and out.segments.max() <= META['duration']


def test_resize_scale_maps_back():
    meta = dict(META, snippet_scale=2.5)
    out = TADPostProcessor(nms=None)([cand([[4., 8.]], [0.9], [0])], [0], meta)
    geo = SnippetGeometry(10.0, 2.0, 0.0)
    torch.testing.assert_close(out.segments, geo.snippets_to_seconds(
        torch.tensor([[10., 20.]], dtype=torch.float64)))


def test_external_classifier_fusion(tmp_path):
    f = tmp_path / 'cls.json'
    f.write_text(json.dumps({'results': {'v': [0.1, 0.7, 0.2]}}))
    pp = TADPostProcessor(nms=None, external_classifier=dict(file=str(f), topk=2,
                                                             num_classes=3))
    out = pp([cand([[5., 15.]], [0.5], [0])], [0], META)
    assert sorted(zip(out.labels.tolist(), out.scores.tolist())) == [
        (1, pytest.approx(0.35)), (2, pytest.approx(0.1))]


def test_unknown_nms_key_is_an_error():
    with pytest.raises(ValueError, match='iou_thresh'):
        TADPostProcessor(nms=dict(method='hard', iou_thresh=0.5))
    # a key that does nothing for the method fails when the model is built, not at test time
    with pytest.raises(ValueError,
                       match="test_cfg.nms: .*'sigma' does nothing with method='hard'"):
        TADPostProcessor(nms=dict(method='hard', sigma=0.3))


def test_empty_candidates():
    out = TADPostProcessor(nms=dict(method='gaussian', sigma=0.5))([], [], META)
    assert out.segments.shape == (0, 2)


@pytest.mark.parametrize('nms', [dict(method='hard', iou_threshold=0.3),
                                 dict(method='linear', iou_threshold=0.3),
                                 dict(method='gaussian', sigma=0.5),
                                 dict(method='gaussian', sigma=0.5, multiclass=False)])
def test_nms_cap_at_max_per_video_changes_nothing(nms):
    # the post-processor stops (soft-)NMS after max_per_video picks per group; the reported
    # detections must equal uncapped NMS followed by the top-k cut
    from tadet.ops import batched_nms_1d
    g = torch.Generator().manual_seed(0)
    n = 3000
    starts = torch.rand(n, generator=g) * 90
    segs = torch.stack([starts, starts + 1 + torch.rand(n, generator=g) * 9], 1)
    scores = torch.rand(n, generator=g)
    labels = torch.randint(0, 4, (n,), generator=g)
    pp = TADPostProcessor(nms=nms, max_per_video=25)
    assert pp.nms['max_seg_num'] == 25
    out = pp([dict(segments=segs, scores=scores, labels=labels)], [0], META)
    ref_seg, ref_sc, ref_lab = batched_nms_1d(segs, scores, labels, nms)
    order = ref_sc.argsort(descending=True, stable=True)[:25]
    torch.testing.assert_close(out.scores, ref_sc[order])
    assert out.labels.tolist() == ref_lab[order].tolist()
    geo = SnippetGeometry(10.0, 2.0, 0.0)
    ref_secs = geo.snippets_to_seconds(ref_seg[order].double()).clamp(0, META['duration'])
    torch.testing.assert_close(out.segments, ref_secs)


LONG_VIDEO_SCRIPT = r'''
import resource, sys, time
import torch
sys.path.insert(0, sys.argv[1])
import tiny_tad  # noqa: F401
from tadet.registry import MODELS
from tadet.structures import TADDataSample
T = 100_000
torch.manual_seed(0)
model = MODELS.build(dict(type='TinyTAD', in_channels=64, num_classes=3, test_cfg=dict(
    sliding_window=dict(size=128, stride=128), window_batch_size=64,
    nms=dict(method='gaussian', sigma=0.5), max_per_video=200))).eval()
x = torch.randn(1, 64, T)
s = TADDataSample()
s.set_metainfo(dict(video_name='long', fps=30.0, feature_stride=4.0, offset_frames=8.0,
                    num_snippets=T, duration=T * 4 / 30.0, window_start=0, snippet_scale=1.0))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.time()
with torch.no_grad():
    out = model(x, torch.ones(1, T, dtype=torch.bool), [s], mode='predict')[0].pred_instances
grow = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(f'{len(out.scores)} {float(out.segments.max())} {grow:.0f} {time.time() - t:.1f}')
'''


def test_video_of_100k_snippets_streams_through_windows(tmp_path, custom_module_dir):
    """782 sliding windows of a 100,000-snippet video: bounded memory, all of it covered."""
    import subprocess
    import sys
    script = tmp_path / 'long.py'
    script.write_text(LONG_VIDEO_SCRIPT)
    r = subprocess.run([sys.executable, str(script), custom_module_dir], capture_output=True,
                       text=True, timeout=300, env={'OMP_NUM_THREADS': '1',
                                                    **__import__('os').environ})
    assert r.returncode == 0, r.stderr[-2000:]
    num, last_end, grow_mib, secs = r.stdout.split()[-4:]
    assert int(num) == 200
    assert float(last_end) > 0.9 * 100_000 * 4 / 30.0  # detections reach the end of the video
    # features are 25 MiB; a per-video tIoU matrix or un-streamed windows would be GiBs
    assert float(grow_mib) < 400, grow_mib


def test_external_classifier_file_is_read_at_test_time(tmp_path):
    missing = tmp_path / 'nope.json'
    pp = TADPostProcessor(nms=None, external_classifier=dict(file=str(missing), topk=2))
    with pytest.raises(FileNotFoundError, match='nope.json'):
        pp([cand([[5., 15.]], [0.5], [0])], [0], META)
    missing.write_text(json.dumps({'results': {'v': [0.1, 0.9]}}))
    out = pp([cand([[5., 15.]], [0.5], [0])], [0], META)
    assert out.labels.tolist()[0] == 1
