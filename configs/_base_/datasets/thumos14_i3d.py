# THUMOS14 with I3D RGB+flow features (2048-d, 30 fps, 4-frame stride, 16-frame clips) as
# published by others: one [T, 2048] .npy per video in data/thumos14/features/i3d
# (see docs/data_preparation.md).
dataset_type = 'Thumos14Dataset'
feature_root = 'data/thumos14/features/i3d'
feat_dim = 2048
window_size = 128

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
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, subset='train', feature_root=feature_root,
                 window=dict(size=window_size, stride=window_size // 4, min_gt_coverage=0.75),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, subset='test', feature_root=feature_root, test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TADMetric', tiou_thresholds=[0.3, 0.4, 0.5, 0.6, 0.7])
test_evaluator = val_evaluator
test_sliding_window = dict(size=window_size, stride=window_size // 2)
