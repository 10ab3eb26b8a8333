# RCL (Wang et al., CVPR 2022) on the BMN base: BMN encoder (2 x k3 grouped conv, 256 channels)
# + temporal evaluation head (start / end) + RCL head (continuous anchoring representation +
# recurrent refine module, M = 2 iterations). Swap the base with
# model.encoder=dict(type='GCNeXtEncoder', ...) (configs/rcl/rcl_gtad_*.py). Sizes of the
# full model; the layout of the refine module is ours (configs/rcl/README.md).
feat_channels = 256
window = 128
model = dict(
    type='RCL',
    encoder=dict(type='BMNEncoder', in_channels=2048, feat_channels=feat_channels, num_convs=2,
                 groups=4),
    proposal_head=dict(
        type='RCLHead',
        in_channels=feat_channels,
        tem_head=dict(type='TEMHead', in_channels=feat_channels, feat_channels=feat_channels,
                      num_convs=1, groups=4, loss=dict(type='BalancedBCELoss', pos_thr=0.5)),
        roi_channels=128,
        proposal_align=dict(type='ProposalAlign1d', inner_bins=8, context_bins=8,
                            context_ratio=0.5, sampling_ratio=2),
        hidden_channels=256,
        coord_num_freqs=4,
        num_iters=2,                      # M; 0 = CAR only
        iter_loss_decay=0.8,              # alpha
        # the grid (all T(T+1)/2 cells), as many random queries around it, 32 per gt
        query_samplers=[dict(type='GridQuerySampler'),
                        dict(type='RandomQuerySampler', jitter=0.5),
                        dict(type='ScaleInvariantQuerySampler', num_per_gt=32, spread=0.5)],
        assigner=dict(type='QueryTIoUAssigner', pos_iou_thr=0.5),  # offset targets
        segment_coder=dict(type='LengthOffsetSegmentCoder', max_delta=4.0),
        loss_cls=dict(type='BalancedBCELoss', pos_thr=0.7, use_sigmoid=True),
        loss_reg=dict(type='MSELoss', use_sigmoid=True, loss_weight=10.0),
        loss_offset=dict(type='L1Loss', loss_weight=1.0),
        test_max_duration=None,
        test_refine_topk=-1,
        local_max_kernel=3),
    # cls_head: not set (class-agnostic proposals); THUMOS14 configs add a
    # SnippetClassificationHead, ActivityNet configs fuse an external video classifier
    train_cfg=None,
    test_cfg=dict(
        sliding_window=dict(size=window, stride=window // 2),
        window_batch_size=16,
        use_boundary_score=False,         # x TEM probabilities at the boundaries
        # the best 500 (proposal, class) candidates per window
        pre_nms_topk=500,
        score_thr=0.0,
        # linear soft-NMS at tIoU 0.3 (the paper's threshold); top 200 per video (THUMOS14)
        nms=dict(method='linear', iou_threshold=0.3, min_score=0.0001, max_seg_num=200,
                 multiclass=True),
        max_per_video=200))
