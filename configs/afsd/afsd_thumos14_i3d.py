# AFSD on THUMOS14 with I3D RGB+flow features (2048-d, 4-frame stride): the paper's architecture
# (6 levels x 512, GN 32; boundary max pooling; quality; BCL + contrastive 0.1) and loss weights
# (10 * loc + cls + quality), Gaussian soft-NMS per class with sigma 0.5. The windows are 128
# snippets (512 frames) instead of the paper's 256 frames at 10 fps, and the schedule is a
# feature-mode one (Adam 1e-4, weight decay 1e-3, 16 epochs, x0.1 at 12): the paper trains end to
# end (see afsd_e2e_thumos14.py). Not run here (no I3D features on this machine).
_base_ = ['../_base_/models/afsd.py', '../_base_/datasets/thumos14_i3d.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

model = dict(test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))
max_epochs = 16
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[12], gamma=0.1)]
train_dataloader = dict(batch_size=16)
