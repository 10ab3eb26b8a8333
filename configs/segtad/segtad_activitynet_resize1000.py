# SegTAD on ActivityNet v1.3 with features resized to 1000 snippets (the paper's setting): the
# full model of configs/_base_/models/segtad.py (256 channels, PAG dilations {1, 10, 20, 30} at
# T/8 = 125, proposals with start / length step 8 = 7875 per video, 50 seeds + tIoU
# neighbourhoods). Class-agnostic candidates scored s1 * s2, Gaussian soft-NMS, top 100, fused
# with an external video-level classifier (top-1 class; the paper's 33.53 avg mAP uses one).
# Set the classifier file in model.test_cfg.external_classifier.file (e.g. the
# CUHK ActivityNet scores converted to {"results": {video: [200 scores]}}); or set
# model.class_source='segmentation' and external_classifier=None to take the classes from the
# segmentation branch. The schedule is ours (the paper's is not in our notes).
# Not run here (no ActivityNet features on this machine).
_base_ = ['../_base_/models/segtad.py', '../_base_/datasets/activitynet_resize1000.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

num_classes = 200
model = dict(
    num_classes=num_classes,
    class_source='none',
    neck=dict(in_channels={{_base_.feat_dim}}),
    test_cfg=dict(
        sliding_window=None,
        window_batch_size=4,
        pre_nms_topk=2000, score_thr=0.0,
        nms=dict(method='gaussian', sigma=0.5, multiclass=False),
        max_per_video=100,
        external_classifier=dict(file='data/activitynet/cuhk_val_simp_share.json', topk=1,
                                 num_classes=num_classes)))
# Adam 1e-4 with weight decay 1e-4 (coupled: the L2 term of the paper's loss), 10 epochs, x0.1
# at 7
max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7], gamma=0.1)]
