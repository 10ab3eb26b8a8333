# CPU-sized G-TAD on THUMOS14 annotations with synthetic 64-d features (window 128, proposals up
# to the whole window, D = 128, as BMN's synth config): the paper's structure (GCNeXt encoder,
# TEM, GCNeXt + SGAlign + 2D convs, BMN's losses) with 64 channels (cardinality 8 x 4), 8 align
# channels, SGAlign with 4 feature + 4 semantic-context bins (one point each), 2D convs 32 -> 16,
# 8 epochs; class labels from the snippet classification head. See README.md for timings (the
# former plain alignment: align=dict(_delete_=True, type='ProposalAlign1d', inner_bins=4,
# context_bins=2, sampling_ratio=1)).
_base_ = ['../_base_/models/gtad.py', '../_base_/datasets/thumos14_synth.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

ch = 64
model = dict(
    encoder=dict(in_channels={{_base_.feat_dim}}, feat_channels=ch, groups=8),
    proposal_head=dict(in_channels=ch, max_duration=128, groups=8, align_channels=8,
                       align=dict(temporal_bins=4, semantic_bins=4, sampling_ratio=1),
                       mid_channels=32, map_channels=16, num_map_convs=2,
                       tem_head=dict(in_channels=ch, feat_channels=ch)),
    # the class-score stand-in of BMN's synth config (128 channels, 8 dilated residual layers)
    cls_head=dict(in_channels=ch, feat_channels=128, num_dilated_layers=8),
    test_cfg=dict(sliding_window={{_base_.test_sliding_window}}))

# the BMN synth schedule: batch 8, Adam 2e-3, 8 epochs, x0.1 for the last; validation every 2
max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7], gamma=0.1)]
train_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=False)
val_dataloader = dict(num_workers=1, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_epochs))
