# SegTAD (1D-SSN + PDN) with the paper's structure: encoder 3 x (k3 s2 conv + ReLU) to T/8, PAG
# with atrous dilations {1, 10, 20, 30} + dynamic-kNN edge conv + global average path, decoder
# with a highway from encoder layer 2; segmentation head (C+1 classes, start / end); PDN with
# sparse proposals (start and length multiples of 8), inner + context RoIAlign features, a tIoU
# proposal graph (cosine edge weights, 3 edge convs), s1 (tIoU, MSE) and s2 (tIoU > 0.5, BCE);
# training samples 50 seeds (half positive) + 4 tIoU neighbours + their 4 each.
# Detection loss = MSE(s1, tIoU) + lambda * BCE(s2, tIoU > 0.5) with lambda = 1 (paper eqs.
# 10-11); model.roi_head.loss_tiou.loss_weight=10.0 restores our former 10:1 weighting.
# Widths, kNN K, graph K, bins are ours (the paper does not give them; see
# configs/segtad/README.md). Ablations: model.neck.use_atrous / use_graph / use_global.
num_classes = 200
channels = 256
model = dict(
    type='SegTAD',
    num_classes=num_classes,
    class_source='segmentation',
    # the one proposal x snippet-class fusion (proposals end at the window's valid length, so
    # clip_to_valid True / False give the same numbers)
    class_fusion=dict(type='ProposalClassFusion', clip_to_valid=True),
    data_preprocessor=dict(type='TADDataPreprocessor'),
    neck=dict(type='SegTADSSN', in_channels=400, channels=channels, highway_channels=64,
              dilations=(1, 10, 20, 30), knn_k=8,
              use_atrous=True, use_graph=True, use_global=True, upsample_mode='linear'),
    seg_head=dict(type='SegTADSegHead', in_channels=channels, num_classes=num_classes,
                  feat_channels=channels, num_convs=1,
                  loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  loss_boundary=dict(type='BalancedBCELoss', use_sigmoid=True, loss_weight=1.0)),
    roi_head=dict(
        type='SegTADPDN', in_channels=channels, feat_channels=channels,
        proposal_generator=dict(type='SparseProposalGenerator', step=8),
        align=dict(type='ProposalAlign1d', inner_bins=32, context_bins=8, context_ratio=0.5),
        num_gcn_layers=3, graph_k=4, edge_weight='cosine', aggregation='max', residual=True,
        sampler=dict(type='NeighbourhoodSampler', num_seeds=50, pos_fraction=0.5,
                     pos_iou_thr=0.5, num_neighbours=4, hops=2),
        pos_iou_thr=0.5,
        loss_tiou=dict(type='MSELoss', use_sigmoid=True, loss_weight=1.0),
        loss_cls=dict(type='BinaryCrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        test_chunk=2048),
    train_cfg=None,
    test_cfg=dict(
        # THUMOS-style test windows; ActivityNet configs set None (one resized window per video)
        sliding_window=dict(size=128, stride=64),
        window_batch_size=16,
        # best 1000 (proposal, class) candidates per window, then soft-NMS, top 100 per video
        # (paper)
        pre_nms_topk=1000, score_thr=0.0,
        nms=dict(method='gaussian', sigma=0.5, multiclass=True),
        max_per_video=100))
