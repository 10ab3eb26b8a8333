# RCL on the BMN base, THUMOS14 with I3D RGB+flow features (2048-d), 128-snippet windows
# (stride 32 in training, 64 at test). Training queries: the grid up to 64 snippets (as
# bmn_thumos14_i3d.py), as many random queries around it, 32 per ground truth; inference on the
# same grid, every query refined (M = 2). Class labels from the snippet classification head;
# linear soft-NMS at 0.3, top 200. BMN's schedule (Adam 1e-3, batch 16, x0.1 after 7 of 9
# epochs) with the paper's 1e-5 L2 as weight decay. Not run here (no features).
_base_ = ['../_base_/models/rcl.py', '../_base_/datasets/thumos14_i3d.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

max_duration = 64
model = dict(
    encoder=dict(in_channels={{_base_.feat_dim}}),
    proposal_head=dict(
        query_samplers=[dict(type='GridQuerySampler', max_duration=max_duration),
                        dict(type='RandomQuerySampler', jitter=0.5, max_duration=max_duration),
                        dict(type='ScaleInvariantQuerySampler', num_per_gt=32, spread=0.5)],
        test_max_duration=max_duration),
    cls_head=dict(type='SnippetClassificationHead', in_channels={{_base_.feat_channels}},
                  num_classes=20, feat_channels={{_base_.feat_channels}},
                  num_dilated_layers=8),
    test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))
max_epochs = 9
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-5))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7], gamma=0.1)]
train_dataloader = dict(batch_size=16)
