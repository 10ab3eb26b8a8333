# Tutorial (docs/tutorials/compose_detector.md): a detector composed through config inheritance.
# Everything of the A2Net synth config (heads, losses, data, schedule, post-processing) except
# the neck, which is AFSD's pyramid: 6 GroupNorm levels of equal width at strides 1..32 instead
# of A2Net's base pool + widening levels at strides 2..64.
_base_ = ['../a2net/a2net_thumos14_synth.py']

channels = 64
levels = (channels, ) * 6
model = dict(
    # AFSD's pyramid halves the length 5 times: windows must be multiples of 32
    data_preprocessor=dict(pad_to_multiple=32),
    # _delete_: replace the inherited neck dict instead of merging into it (A2NetPyramidNeck's
    # base_channels / strides are no arguments of AFSDPyramidNeck)
    neck=dict(_delete_=True, type='AFSDPyramidNeck', in_channels={{_base_.feat_dim}},
              channels=channels, num_levels=6, norm_cfg=dict(type='GN', num_groups=8)),
    anchor_head=dict(in_channels=levels),
    # the heads read each level's stride from its length, so only the lengths each level
    # regresses move down one octave with the finer pyramid
    anchor_free_head=dict(
        in_channels=levels,
        point_generator=dict(
            regress_ranges=((0, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 1e4)))))
