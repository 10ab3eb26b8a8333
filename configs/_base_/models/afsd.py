# AFSD (Lin et al., CVPR 2021) in feature mode with the paper's architecture: 6-level pyramid of
# 512 channels (GN 32), coarse anchor-free head, frame-level branch, saliency-based refinement
# with boundary max pooling, quality branch, boundary consistency learning (activation-guided
# BCL + boundary contrastive, weight 0.1). Loss weights: 10 * loc + cls + quality (THUMOS14).
# Switches: model.use_refinement (False = coarse-only baseline), model.use_boundary_loss,
# model.use_contrastive, model.head.refine_head.pooling ('boundary_max' | 'mean').
num_classes = 20
channels = 512
model = dict(
    type='AFSD',
    num_classes=num_classes,
    use_refinement=True,
    use_boundary_loss=True,
    use_contrastive=True,
    # 5 stride-2 levels after level 0: window lengths must be multiples of 32
    data_preprocessor=dict(type='TADDataPreprocessor', pad_to_multiple=32),
    neck=dict(type='AFSDPyramidNeck', in_channels=2048, channels=channels, num_levels=6,
              norm_cfg=dict(type='GN', num_groups=32)),
    frame_branch=dict(type='AFSDFrameLevelBranch', in_channels=channels, out_channels=channels,
                      norm_cfg=dict(type='GN', num_groups=32)),
    head=dict(
        type='AFSDHead',
        coarse_head=dict(type='AFSDCoarseHead', num_classes=num_classes, in_channels=channels,
                         feat_channels=channels, num_convs=2, num_levels=6,
                         norm_cfg=dict(type='GN', num_groups=32)),
        refine_head=dict(type='AFSDRefineHead', num_classes=num_classes, in_channels=channels,
                         frame_channels=channels, feat_channels=channels,
                         pooling='boundary_max', use_quality=True,
                         norm_cfg=dict(type='GN', num_groups=32)),
        assigner=dict(type='AFSDAssigner', pos_iou_thr=0.5, keep_best_per_gt=False),
        refine_coder=dict(type='AFSDRefineOffsetCoder'),
        loss_coarse_cls=dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.75, loss_weight=1.0),
        loss_coarse_loc=dict(type='TIoULoss', loss_weight=10.0),
        loss_refine_cls=dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.75, loss_weight=1.0),
        loss_refine_loc=dict(type='L1Loss', loss_weight=10.0),
        loss_quality=dict(type='BinaryCrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        # refined-class loss averaged over the refined positives (authors' PN); 'coarse' =
        # over the coarse positives (earlier)
        refine_cls_avg='refined'),
    # boundary consistency learning on the frame-level feature (band: max(0.1 w, 2) positions)
    loss_boundary=dict(type='ActivationGuidedBoundaryLoss', loss_weight=1.0),
    loss_contrastive=dict(type='BoundaryContrastiveLoss', margin=1.0, loss_weight=0.1),
    band_ratio=0.1,
    min_band=2.0,
    # activation-guided BCL also on the level-0 loc / cls boundary features, 0.1x each (AFSD's
    # train.py); 0 = frame-level feature only (earlier)
    bcl_level0_weight=0.1,
    # boundary contrastive as AFSD's code: one contiguous background chunk moved into a random
    # cut of an action, pooled over the boundary regions, triplets on the frame-level and the
    # level-0 loc / cls boundary features weighted (1, 0.1, 0.1); earlier: 'range', (1.0,)
    contrastive_mode='boundary',
    contrastive_weights=(1.0, 0.1, 0.1),
    train_cfg=None,
    test_cfg=dict(
        sliding_window=dict(size=128, stride=64),
        window_batch_size=16,
        # (proposal, class) candidates per window; score ((1 - w) softmax(coarse) +
        # w softmax(refined)) * sigmoid(quality), w = refine_score_weight
        pre_nms_topk=2000,
        score_thr=0.001,
        refine_score_weight=0.5,
        use_quality_score=True,
        # per-class Gaussian soft-NMS, sigma 0.5 (THUMOS14)
        nms=dict(method='gaussian', sigma=0.5, min_score=0.001, max_seg_num=200,
                 multiclass=True),
        max_per_video=200))
