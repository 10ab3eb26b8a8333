# ActivityNet v1.3 with per-video features (e.g. TSN 400-d or TSP 512-d) resized to 1000
# snippets (SegTAD's setting). Annotations: data/activitynet/annotations/activity_net.v1-3.min.json
# (download it, see docs/data_preparation.md). Evaluated at tIoU 0.5:0.05:0.95.
_base_ = ['./activitynet_resize128.py']

resize_length = 1000
train_pipeline = [
    dict(type='LoadFeatures', feat_dim={{_base_.feat_dim}}),
    dict(type='ResizeFeatures', length=resize_length),
    dict(type='PackTADInputs'),
]
test_pipeline = train_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
