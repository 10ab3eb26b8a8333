# A2Net on THUMOS14 with I3D RGB+flow features (2048-d), 128-snippet windows; the paper's
# hyper-parameters and schedule (Adam 1e-4, 40 epochs, x0.1 at 30). Not run here (no features).
_base_ = ['../_base_/models/a2net.py', '../_base_/datasets/thumos14_i3d.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

model = dict(test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))
train_dataloader = dict(batch_size=16)
