# A2Net on ActivityNet v1.3, features resized to 128 snippets per video (one window per video).
# 200 classes; the paper's detector with class-specific outputs. Not run here (no features).
_base_ = ['../_base_/models/a2net.py', '../_base_/datasets/activitynet_resize128.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

num_classes = 200
model = dict(
    num_classes=num_classes,
    neck=dict(in_channels={{_base_.feat_dim}}),  # the dataset's features (TSP 512-d)
    test_cfg=dict(
        sliding_window=None,
        nms=dict(method='hard', iou_threshold=0.2, multiclass=True),
        max_per_video=100))
