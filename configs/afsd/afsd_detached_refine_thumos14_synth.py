# AFSD on synthetic THUMOS14 features with the refinement side detached from the shared
# features (`refine_feature_grad=0`): the pyramid and coarse head learn only from the coarse
# losses, as in the coarse-only baseline, and the refinement head, frame-level branch and BCL
# learn on top of them. The authors train everything jointly (`refine_feature_grad=1`, the
# default); see README.md for why this variant exists. 16 epochs (x0.1 after 12): the schedule
# of the README's comparison with the coarse-only baseline.
_base_ = ['./afsd_thumos14_synth.py']

model = dict(refine_feature_grad=0.0)

max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[12], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
