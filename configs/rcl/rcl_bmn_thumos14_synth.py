# CPU-sized RCL on the BMN base, THUMOS14 annotations with synthetic 64-d features (window 128):
# the full method (BMN encoder + TEM, continuous anchoring representation, M = 2 GRU refine
# iterations, the three query samplers, all losses) with 64 / 16 channels, sampled training
# queries (128 grid + 128 random + 16 per gt per window), a test grid up to 64 snippets
# restricted to BMN's TEM boundary candidates with the best 100 CAR queries per window refined,
# and a snippet classification head for THUMOS14 class labels (see configs/rcl/README.md for
# the curve and timings).
_base_ = ['../_base_/models/rcl.py', '../_base_/datasets/thumos14_synth.py',
          '../_base_/schedules/adam_step.py', '../_base_/default_runtime.py']

channels = 64
max_duration = 64
model = dict(
    encoder=dict(in_channels={{_base_.feat_dim}}, feat_channels=channels),
    proposal_head=dict(
        in_channels=channels, roi_channels=16, hidden_channels=64,
        tem_head=dict(in_channels=channels, feat_channels=channels),
        proposal_align=dict(inner_bins=4, context_bins=4, sampling_ratio=2),
        query_samplers=[dict(type='GridQuerySampler', max_duration=max_duration, max_num=128),
                        dict(type='RandomQuerySampler', jitter=0.5, max_duration=max_duration,
                             max_num=128),
                        dict(type='ScaleInvariantQuerySampler', num_per_gt=16, spread=0.5)],
        test_max_duration=max_duration,
        test_peak_ratio=0.5,
        test_refine_topk=100),
    # the class-score stand-in of BMN's synth config (128 channels, 8 dilated residual layers)
    cls_head=dict(type='SnippetClassificationHead', in_channels=channels, num_classes=20,
                  feat_channels=128, num_dilated_layers=8),
    test_cfg=dict(sliding_window={{_base_.test_sliding_window}}, window_batch_size=32))

# Adam 2e-3 with the paper's 1e-5 L2 as weight decay; 10 epochs, x0.1 at 8; validation every 2
max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=1e-5))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[8], gamma=0.1)]
train_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=False)
val_dataloader = dict(num_workers=1, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_epochs))
