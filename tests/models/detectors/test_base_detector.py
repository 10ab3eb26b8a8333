"""BaseTADDetector: config validation and test-time sliding windows."""
import pytest
import torch

from tadet.models import TADDataPreprocessor
from tadet.structures import TADDataSample


def test_unknown_train_and_test_cfg_keys(custom_module_dir):
    from tiny_tad import TinyTAD
    with pytest.raises(ValueError, match='foo'):
        TinyTAD(in_channels=4, num_classes=2, train_cfg=dict(foo=1))
    with pytest.raises(ValueError, match='sliding_windw'):
        TinyTAD(in_channels=4, num_classes=2, test_cfg=dict(sliding_windw=None))


def test_sliding_windows_cover_video_and_map_back(custom_module_dir):
    from tiny_tad import TinyTAD
    model = TinyTAD(in_channels=4, num_classes=2,
                    test_cfg=dict(sliding_window=dict(size=8, stride=4),
                                  nms=None, max_per_video=-1))
    seen = []

    def fake_predict_window(inputs, masks):
        # one candidate per window covering its valid part
        out = []
        for m in masks:
            n = float(m.sum())
            seen.append(n)
            out.append(dict(segments=torch.tensor([[0.0, n]]), scores=torch.tensor([0.5]),
                            labels=torch.tensor([0])))
        return out

    model.predict_window = fake_predict_window
    sample = TADDataSample(metainfo=dict(video_name='v', fps=1.0, feature_stride=1.0,
                                         offset_frames=0.0, duration=21.0, num_snippets=21,
                                         window_start=0, snippet_scale=1.0))
    data = TADDataPreprocessor()(dict(inputs=[torch.randn(4, 21)], data_samples=[sample]))
    out = model.predict(data['inputs'], data['masks'], data['data_samples'])[0]
    # windows start at 0, 4, 8, 12 and 13 (the last one aligned to the end)
    assert len(seen) == 5 and all(n == 8 for n in seen)
    starts = sorted(out.pred_instances.segments[:, 0].tolist())
    # seconds = snippet coordinate - 0.5 (snippet i covers [i, i+1), centre at frame i)
    assert starts == pytest.approx([0.0, 3.5, 7.5, 11.5, 12.5])
    assert out.pred_instances.segments.max() <= 21.0
