# RCL on the BMN base, ActivityNet v1.3 with features resized to 100 snippets (one window per
# video; TSN or TSP, set the dataset's feature_root / feat_dim): queries of every length (the
# full T(T+1)/2 = 5050-cell grid, as many random queries, 32 per ground truth), M = 2,
# class-agnostic proposals fused with an external video-level classifier (top-2 classes) in the
# shared post-processing; linear soft-NMS at 0.3, top 100. Set the classifier file (e.g. the
# CUHK ActivityNet scores as {"results": {video: [200 scores]}}) in
# model.test_cfg.external_classifier.file. BMN's schedule (Adam 1e-3, x0.1
# after 7 of 9 epochs), 1e-5 L2 as weight decay. Not run here (no ActivityNet features).
_base_ = ['../_base_/models/rcl.py', '../_base_/datasets/activitynet_resize100.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

model = dict(
    encoder=dict(in_channels={{_base_.feat_dim}}),
    test_cfg=dict(
        sliding_window=None,
        pre_nms_topk=2000, score_thr=0.0001,
        nms=dict(method='linear', iou_threshold=0.3, min_score=0.0001, max_seg_num=100,
                 multiclass=False),
        max_per_video=100,
        external_classifier=dict(file='data/activitynet/cuhk_val_simp_share.json', topk=2,
                                 num_classes=200)))
max_epochs = 9
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-5))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7], gamma=0.1)]
