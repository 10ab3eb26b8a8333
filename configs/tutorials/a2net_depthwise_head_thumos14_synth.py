# Tutorial (docs/tutorials/custom_head.md): the A2Net synth config with its anchor-free head
# replaced by a head registered in our own module, configs/tutorials/depthwise_head.py.
_base_ = ['../a2net/a2net_thumos14_synth.py']

# imported when the config is loaded, which registers DepthwiseAnchorFreeHead in tadet's MODELS
custom_imports = dict(imports=['configs.tutorials.depthwise_head'], allow_failed_imports=False)

model = dict(
    anchor_free_head=dict(
        _delete_=True,  # a new type: do not merge the A2NetAnchorFreeHead keys into it
        type='DepthwiseAnchorFreeHead',
        num_classes={{_base_.num_classes}},
        in_channels={{_base_.pyramid_channels}},
        feat_channels=64,
        num_convs=2,
        dw_kernel_size=5,
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=30.0),
        loss_reg=dict(type='SmoothL1Loss', loss_weight=1.0)))
