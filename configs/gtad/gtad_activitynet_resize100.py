# G-TAD on ActivityNet v1.3 as in the paper: features resized to 100 snippets (one window per
# video), proposals of every length (D = T = 100), class-agnostic proposals fused with an
# external video-level classifier (top-2 classes) in the shared post-processing; Gaussian
# soft-NMS, top 100. Set the classifier file in
# model.test_cfg.external_classifier.file. Not run here (no ActivityNet
# features on this machine).
_base_ = ['../_base_/models/gtad.py', '../_base_/datasets/activitynet_resize100.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

model = dict(
    encoder=dict(in_channels={{_base_.feat_dim}}),
    proposal_head=dict(max_duration=100),
    cls_head=None,
    test_cfg=dict(
        sliding_window=None,
        max_proposals=2000,
        pre_nms_topk=2000, score_thr=0.0001,
        nms=dict(method='gaussian', sigma=0.4, min_score=0.0001, max_seg_num=100,
                 multiclass=False),
        max_per_video=100,
        external_classifier=dict(file='data/activitynet/cuhk_val_simp_share.json', topk=2,
                                 num_classes=200)))
max_epochs = 9
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7], gamma=0.1)]
