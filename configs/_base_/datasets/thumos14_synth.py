# THUMOS14 annotations (train on `train` = validation videos, test on `test`) with synthetic
# features at THUMOS I3D geometry (30 fps, stride 4, offset 8), generated on first use.
dataset_type = 'Thumos14Dataset'
feature_root = 'data/thumos14/features_synth'
feat_dim = 64
window_size = 128
synthetic = dict(feat_dim=feat_dim, seed=0)

train_pipeline = [
    dict(type='LoadFeatures', feat_dim=feat_dim),
    dict(type='PadFeatures', size=window_size),
    dict(type='PackTADInputs'),
]
test_pipeline = [
    dict(type='LoadFeatures', feat_dim=feat_dim),
    dict(type='PackTADInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, subset='train', feature_root=feature_root,
                 synthetic=synthetic,
                 window=dict(size=window_size, stride=window_size // 2, min_gt_coverage=0.75),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, subset='test', feature_root=feature_root,
                 synthetic=synthetic, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TADMetric', tiou_thresholds=[0.3, 0.4, 0.5, 0.6, 0.7])
test_evaluator = val_evaluator
# detectors cut test windows of the training size (model.test_cfg.sliding_window)
test_sliding_window = dict(size=window_size, stride=window_size // 2)
