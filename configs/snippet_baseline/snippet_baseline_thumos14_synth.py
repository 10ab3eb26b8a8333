# SnippetBaseline on THUMOS14 annotations with synthetic 64-d features: random 256-snippet crops
# of whole training videos, batch 16, Adam 1e-3, 1,500 iterations (x0.1 at 1,200); test on
# sliding windows of 256 with stride 128. The floor every method is read against (README.md).
_base_ = ['../_base_/models/snippet_baseline.py', '../_base_/datasets/thumos14_synth.py',
          '../_base_/default_runtime.py']

crop_size = 256
model = dict(in_channels={{_base_.feat_dim}},
             test_cfg=dict(sliding_window=dict(size=crop_size, stride=crop_size // 2)))

# per-video training entries, one random crop per draw (videos shorter than the crop padded);
# every action overlapping the crop is kept (truncated): a snippet classifier must not see the
# snippets of a partly cropped action as background
train_pipeline = [
    dict(type='LoadFeatures', feat_dim={{_base_.feat_dim}}),
    dict(type='RandomTruncate', size=crop_size, min_gt_coverage=0.0),
    dict(type='PadFeatures', size=crop_size),
    dict(type='PackTADInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(window=None, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, persistent_workers=False)
test_dataloader = val_dataloader

max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4), clip_grad=None)
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[1200], gamma=0.1)]
auto_scale_lr = dict(enable=False, base_batch_size=16)
log_processor = dict(by_epoch=False)
default_hooks = dict(logger=dict(interval=100),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
