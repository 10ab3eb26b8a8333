# G-TAD on THUMOS14 with I3D RGB+flow features (2048-d), 128-snippet windows (stride 32 in
# training, 64 at test), proposals up to 64 snippets, class labels from the snippet
# classification head; Adam 1e-3 (x0.1 after 7 of 9 epochs), batch 16. Not run here (no
# features).
_base_ = ['../_base_/models/gtad.py', '../_base_/datasets/thumos14_i3d.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

model = dict(test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))
max_epochs = 9
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7], gamma=0.1)]
train_dataloader = dict(batch_size=16)
