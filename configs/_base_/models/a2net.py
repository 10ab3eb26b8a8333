# A2Net (Yang et al., TIP 2020) with the paper's hyper-parameters: 2048-d I3D input, 128-snippet
# windows, base 512 + k9, six pyramid levels (lengths 64..2) with 512-1024-1024-2048-2048-4096
# channels, five anchors per position, anchor-free scale ranges doubling per level.
# Branch switches: model.use_anchor_based / model.use_anchor_free.
num_classes = 20
pyramid_channels = (512, 1024, 1024, 2048, 2048, 4096)
model = dict(
    type='A2Net',
    use_anchor_based=True,
    use_anchor_free=True,
    # six stride-2 reductions (base pool + 5 levels): inputs must be a multiple of 64; the
    # window size (128) is used so every batch has the training length
    data_preprocessor=dict(type='TADDataPreprocessor', pad_to_multiple=128),
    neck=dict(type='A2NetPyramidNeck', in_channels=2048, base_channels=512, base_kernel=9,
              base_pool=2, channels=pyramid_channels, strides=(1, 2, 2, 2, 2, 2)),
    anchor_head=dict(
        type='A2NetAnchorHead',
        num_classes=num_classes,
        in_channels=pyramid_channels,
        anchor_generator=dict(type='AnchorGenerator1d', scales=(0.5, 0.75, 1.0, 1.5, 2.0)),
        segment_coder=dict(type='DeltaCWSegmentCoder', center_scale=0.1, width_scale=0.1),
        # authors' ab_match.py: each decoded prediction (adjusted anchor) takes the gt of
        # highest tIoU with it; that tIoU (> 0.5) is the positive test and the overlap target
        # (earlier variant: match_on='anchors', the default anchors)
        match_on='decoded',
        assigner=dict(type='MaxTIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5),
        # authors' loss.py, over the batch: all positives, all hard negatives (predicted
        # overlap > 0.5), random easy negatives 1:1 to the positives (earlier variant:
        # dict(type='HardNegativeSampler', neg_pos_ratio=1.0, min_neg=0, hard_fraction=1.0))
        sampler=dict(type='OverlapHardNegativeSampler', hard_thr=0.5, easy_pos_ratio=1.0,
                     no_pos_easy_fraction=0.5),
        # smooth-L1 on the decoded (start, end) / window length of the positives (authors);
        # earlier variant: reg_loss_space='deltas' (the coder's (dc, dw) targets)
        reg_loss_space='normalized_se',
        # one candidate per anchor: the foreground class of the highest probability x
        # sigmoid(overlap), none when the background probability is >= 0.98 (authors'
        # result_process_ab, FILTER_NEGATIVE_TH); earlier variants: candidates='argmax' (argmax
        # over all C + 1 classes, none when background), candidates='per_class'
        candidates='foreground_argmax',
        background_thr=0.98,
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # on sigmoid(overlap logit); earlier variant: dict(type='MSELoss', loss_weight=10.0)
        loss_overlap=dict(type='SmoothL1Loss', loss_weight=10.0),
        loss_reg=dict(type='SmoothL1Loss', loss_weight=10.0)),
    anchor_free_head=dict(
        type='A2NetAnchorFreeHead',
        num_classes=num_classes,
        in_channels=pyramid_channels,
        feat_channels=512,
        num_convs=2,
        # window snippets; base unit = 2 snippets: level i takes [2^(i-1), 2^i) base units,
        # the last level also everything longer
        point_generator=dict(
            type='PointGenerator1d',
            regress_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 1e4))),
        # a point takes the shortest gt containing its centre with a length in its range
        assigner=dict(type='RegressRangeAssigner'),
        # distances in base units (2 window snippets), as the authors, so that the weight 30
        # on the classification balances as in the paper; smooth-L1 summed over both ends per
        # foreground point. Earlier variant: regress_unit='stride', reg_avg='coords'
        regress_unit='base',
        base_unit=2.0,
        reg_avg='points',
        # one candidate per point: its most probable foreground class, no background filter
        # (authors' result_process_af); earlier variants: 'argmax', 'per_class'
        candidates='foreground_argmax',
        background_thr=None,
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=30.0),
        loss_reg=dict(type='SmoothL1Loss', loss_weight=1.0)),
    train_cfg=None,
    test_cfg=dict(
        sliding_window=dict(size=128, stride=64),
        window_batch_size=32,
        # each head keeps its 300 best candidates (one per prior) above 0.001 per window
        pre_nms_topk=300,
        score_thr=0.001,
        # per-class hard NMS at tIoU 0.2 as in the authors' code; top 200 per video
        nms=dict(method='hard', iou_threshold=0.2, multiclass=True),
        max_per_video=200))
