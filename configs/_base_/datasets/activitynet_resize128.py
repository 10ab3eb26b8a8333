# ActivityNet v1.3 with per-video features (e.g. TSP 512-d or TSN 400-d) resized to 128
# snippets. Annotations: data/activitynet/annotations/activity_net.v1-3.min.json (download it,
# see docs/data_preparation.md). Evaluated at tIoU 0.5:0.05:0.95.
dataset_type = 'ActivityNetDataset'
feature_root = 'data/activitynet/features/tsp'
feat_dim = 512
resize_length = 128

train_pipeline = [
    dict(type='LoadFeatures', feat_dim=feat_dim),
    dict(type='ResizeFeatures', length=resize_length),
    dict(type='PackTADInputs'),
]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, subset='training', feature_root=feature_root,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, subset='validation', feature_root=feature_root,
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TADMetric',
                     tiou_thresholds=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator
test_sliding_window = None
