# AFSD on ActivityNet v1.3, features resized to 128 snippets, class-agnostic proposals (one
# "action" class) fused with an external video-level classifier (top-2 classes, as in the
# paper) in the shared post-processing; loc loss weight 1; Gaussian soft-NMS sigma 0.85,
# top 100. Set the classifier file (e.g. the CUHK ActivityNet scores converted to
# {"results": {video: [200 scores]}}) in
# model.test_cfg.external_classifier.file. To predict the 200 classes directly
# instead, set model.class_agnostic=False and external_classifier=None.
# Not run here (no ActivityNet features on this machine).
_base_ = ['../_base_/models/afsd.py', '../_base_/datasets/activitynet_resize128.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

model = dict(
    class_agnostic=True,
    neck=dict(in_channels={{_base_.feat_dim}}),
    head=dict(loss_coarse_loc=dict(loss_weight=1.0), loss_refine_loc=dict(loss_weight=1.0)),
    test_cfg=dict(
        sliding_window=None,
        nms=dict(method='gaussian', sigma=0.85, min_score=0.001, max_seg_num=100,
                 multiclass=False),
        max_per_video=100,
        external_classifier=dict(file='data/activitynet/cuhk_val_simp_share.json', topk=2,
                                 num_classes=200)))
max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[8], gamma=0.1)]
