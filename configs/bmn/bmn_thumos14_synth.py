# CPU-sized BMN on THUMOS14 annotations with synthetic 64-d features (window 128, proposals up
# to the whole window, D = 128: at this snippet rate 12 % of THUMOS14 test actions are longer
# than 64 snippets): the paper's structure (grouped base convs, TEM, BM layer + 3D conv, PEM 2D
# convs, balanced BCE / stratified MSE losses) with 64 channels, 8 bins per proposal, 8 epochs;
# class labels from the snippet classification head. See README.md for the curve and timings.
_base_ = ['../_base_/models/bmn.py', '../_base_/datasets/thumos14_synth.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

ch = 64
model = dict(
    encoder=dict(in_channels={{_base_.feat_dim}}, feat_channels=ch),
    proposal_head=dict(in_channels=ch, feat_channels=ch, max_duration=128, num_samples=8,
                       bm_channels=32, map_channels=16, num_map_convs=2,
                       tem_head=dict(in_channels=ch, feat_channels=ch)),
    # the stand-in for the external video-level classifier of the paper's THUMOS14 protocol:
    # 128 channels with 8 dilated residual layers (receptive field 61 snippets, as the snippet
    # baseline); one k3 conv (7 snippets) left rare classes near 0 AP
    cls_head=dict(in_channels=ch, feat_channels=128, num_dilated_layers=8),
    test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))

# BMN: Adam 1e-3, batch 16, x0.1 after 7 of 9 epochs. Here batch 8 (more updates for the same
# compute) with Adam 2e-3, 8 epochs, x0.1 for the last; validation every 2 epochs
max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7], gamma=0.1)]
train_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=False)
val_dataloader = dict(num_workers=1, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_epochs))
