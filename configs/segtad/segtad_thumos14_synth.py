# CPU-sized SegTAD on THUMOS14 annotations with synthetic 64-d features (window 128): the full
# method (1D-SSN with all three PAG branches, segmentation head, PDN with sparse proposals at the
# paper's step 8, the tIoU proposal graph and neighbourhood sampling) with 64 channels. At
# T/8 = 16 positions the paper's dilations {1, 10, 20, 30} would mostly read padding, so the
# atrous rates are {1, 2, 4, 8}. CPU-sized sampling: 8 inner + 4 context bins with 2 samples
# each, 24 seeds per window. 10 epochs: the validation mAP flattens by epoch 6-8 (curve in
# README.md), then x0.1 for the last two.
_base_ = ['../_base_/models/segtad.py', '../_base_/datasets/thumos14_synth.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

num_classes = 20
channels = 64
model = dict(
    num_classes=num_classes,
    neck=dict(in_channels={{_base_.feat_dim}}, channels=channels, highway_channels=32,
              dilations=(1, 2, 4, 8), knn_k=4),
    seg_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(in_channels=channels, feat_channels=channels,
                  proposal_generator=dict(step=8),
                  align=dict(inner_bins=8, context_bins=4, sampling_ratio=2),
                  sampler=dict(num_seeds=24)),
    test_cfg=dict(sliding_window={{_base_.test_sliding_window}}, window_batch_size=16))

# Adam 2e-3 with weight decay 1e-4 (Adam's coupled weight decay = the L2 regularisation term of
# the paper's loss), batch 8, 10 epochs, x0.1 for the last two; validation every 2 epochs
max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[8], gamma=0.1)]
train_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=False)
val_dataloader = dict(num_workers=1, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs))
