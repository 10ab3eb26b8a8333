# SegTAD on THUMOS14 with I3D RGB+flow features (2048-d), 128-snippet windows (train stride 32,
# test stride 64). OUR DESIGN: the paper has no THUMOS14 experiment. The structure and widths
# are the paper-style defaults of configs/_base_/models/segtad.py; at T/8 = 16 positions of a
# 128-snippet window the atrous rates are {1, 2, 4, 8} (the paper's {1, 10, 20, 30} are for 125
# positions); proposals use step 4 (THUMOS actions are short: step 8 caps the reachable tIoU);
# classes come from the segmentation branch (mean snippet probabilities inside a proposal, score
# s1 * s2 * p_c); per-class Gaussian soft-NMS, top 100 per video.
# Not run here (no I3D features on this machine).
_base_ = ['../_base_/models/segtad.py', '../_base_/datasets/thumos14_i3d.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

num_classes = 20
model = dict(
    num_classes=num_classes,
    class_source='segmentation',
    neck=dict(in_channels={{_base_.feat_dim}}, dilations=(1, 2, 4, 8)),
    roi_head=dict(proposal_generator=dict(step=4), align=dict(inner_bins=16, context_bins=4)),
    test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))
# Adam 1e-4, weight decay 1e-4 (the L2 term), 20 epochs, x0.1 at 15, batch 16
max_epochs = 20
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[15], gamma=0.1)]
train_dataloader = dict(batch_size=16)
