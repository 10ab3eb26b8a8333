# SnippetBaseline: 1x1 input projection, 8 dilated residual 1D conv layers (128 channels,
# dilations 1, 2, 4, 8 cycled), a 1x1 conv to one sigmoid per class, multi-hot BCE on real
# snippets. Detections = per-class runs of snippets above each threshold, scored by their mean
# probability, then per-class hard NMS at tIoU 0.6.
num_classes = 20
model = dict(
    type='SnippetBaseline',
    in_channels=2048,
    feat_channels=128,
    num_layers=8,
    dilations=(1, 2, 4, 8),
    kernel_size=3,
    dropout=0.0,
    cls_head=dict(
        type='SnippetBaselineHead',
        num_classes=num_classes,
        prior_prob=0.01,
        loss_cls=dict(type='BinaryCrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=None,
    test_cfg=dict(
        sliding_window=dict(size=256, stride=128),
        window_batch_size=16,
        thresholds=(0.2, 0.35, 0.5, 0.65, 0.8),
        # candidates kept per window, before NMS
        pre_nms_topk=2000,
        score_thr=0.0,
        nms=dict(method='hard', iou_threshold=0.6, multiclass=True),
        max_per_video=200,
        implied_labels=False))  # its sigmoid head predicts every label (Diving too) itself
