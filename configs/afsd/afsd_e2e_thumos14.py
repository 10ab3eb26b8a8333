# AFSD end to end on THUMOS14 frames, the authors' setting: RGB frames at 10 fps, 96x96 crops
# (frames pre-resized to 112x112), 256-frame windows with stride 30 in training and 128 at test,
# Adam lr 1e-5, weight decay 1e-3, 16 epochs, batch 1. Backbone: mmaction2's I3D (ResNet3d-50
# inflated) with the authors' pyramid taps and frozen BN (AFSD's BDNet.py / thumos14.yaml):
# - taps: the authors feed the pyramid from I3D Mixed_4f (T/4, 832 ch, 6x6) and Mixed_5c
#   (T/8, 1024 ch, 3x3); here the stages at the same places, layer3 (T/4, 1024 ch, 6x6) and
#   layer4 (T/8, 2048 ch, 3x3): conv1 and pool1 stride 2 in time, no pool2, layer4 temporal
#   stride 2. Level 1 = layer4, level 0 = layer3 + level 1 upsampled; 256 frames -> 64, 32,
#   16, 8, 4, 2.
# - frozen BN: BatchNorm3d in eval mode during training with its affine parameters frozen
#   (freeze_bn / freeze_bn_affine: true).
# Space is averaged per tap (the authors use a conv over the whole 6x6 / 3x3 map). Load
# Kinetics-pretrained weights via model.backbone.pretrained or init_cfg. (The authors use the
# Inception I3D and fuse RGB and flow models; this config is RGB only.)
# Earlier layout (last stage only, T/8, trainable BN): backbone out_indices=(3,),
# with_pool2=True, temporal_strides=(1, 1, 1, 1), norm_eval=False, BN requires_grad=True,
# model.backbone_taps=None, neck in_channels=2048.
# Frames: data/thumos14/frames/<video>/img_00001.jpg ... extracted at 10 fps.
# Not run here (no frames / GPU on this machine).
_base_ = ['../_base_/models/afsd.py', '../_base_/schedules/adam_step.py',
          '../_base_/default_runtime.py']

window = 256
model = dict(
    # level 0 at temporal stride 4, x 2^5 pyramid reductions
    data_preprocessor=dict(type='TADFramesDataPreprocessor', pad_to_multiple=128),
    backbone=dict(type='mmaction.ResNet3d', depth=50, pretrained=None, pretrained2d=False,
                  conv1_kernel=(5, 7, 7), conv1_stride_t=2, pool1_stride_t=2,
                  with_pool2=False, temporal_strides=(1, 1, 1, 2), out_indices=(2, 3),
                  inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
                  zero_init_residual=False,
                  norm_cfg=dict(type='BN3d', requires_grad=False), norm_eval=True),
    backbone_taps=(0, 1),
    neck=dict(in_channels=(1024, 2048)),
    test_cfg=dict(sliding_window=dict(size=window, stride=128), window_batch_size=4))

frames_root = 'data/thumos14/frames'
ann_file = 'data/thumos14/annotations/thumos_gt.json'
classes = 'data/thumos14/annotations/Class_Index_Detection.txt'
video_info = ('data/thumos14/annotations/val_video_info.csv',
              'data/thumos14/annotations/test_video_info.csv')
train_pipeline = [
    dict(type='LoadFrameWindow'),
    dict(type='ResizeFrames', size=(112, 112)),
    dict(type='RandomCropFrames', size=96),
    dict(type='RandomFlipFrames', prob=0.5),
    dict(type='NormalizeFrames'),
    dict(type='PackTADFrames'),
]
test_pipeline = [
    dict(type='LoadFrameWindow'),
    dict(type='ResizeFrames', size=(112, 112)),
    dict(type='CenterCropFrames', size=96),
    dict(type='NormalizeFrames'),
    dict(type='PackTADFrames'),
]
# THUMOS14: every CliffDiving instance is also a Diving one (Thumos14Dataset's default)
label_hierarchy = dict(CliffDiving='Diving')
train_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='FramesDataset', ann_file=ann_file, data_root=frames_root, subset='train',
                 classes=classes, video_info=video_info, fps=10.0,
                 label_hierarchy=label_hierarchy,
                 window=dict(size=window, stride=30, min_gt_coverage=0.75),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FramesDataset', ann_file=ann_file, data_root=frames_root, subset='test',
                 classes=classes, video_info=video_info, fps=10.0, test_mode=True,
                 label_hierarchy=label_hierarchy,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TADMetric', tiou_thresholds=[0.3, 0.4, 0.5, 0.6, 0.7])
test_evaluator = val_evaluator

max_epochs = 16
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-5, weight_decay=1e-3))
param_scheduler = []
