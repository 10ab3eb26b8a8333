# CPU-sized A2Net on THUMOS14 annotations with synthetic 64-d features (window 128): same
# structure as the paper (base + k9, 6 levels, 5 anchors, both heads, same losses and weights),
# channels divided by ~8, 16 epochs (the validation mAP still climbs until the x0.1 step at 13;
# curve in README.md).
_base_ = ['../_base_/models/a2net.py', '../_base_/datasets/thumos14_synth.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

pyramid_channels = (64, 128, 128, 256, 256, 256)
model = dict(
    neck=dict(in_channels={{_base_.feat_dim}}, base_channels=64, channels=pyramid_channels),
    anchor_head=dict(in_channels=pyramid_channels),
    anchor_free_head=dict(in_channels=pyramid_channels, feat_channels=64),
    test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))

# Adam 1e-3 (the paper's 1e-4 is for 40 epochs of the full-size model), batch 8: the argmax
# candidates need the classifier to beat background, which takes updates (batch 32 with 2e-3
# scored 0.0 at epoch 4 where batch 8 had 4.1), 16 epochs with x0.1 at 13; validation every 2
max_epochs = 16
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[13], gamma=0.1)]
train_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=False)
val_dataloader = dict(num_workers=1, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_epochs))
