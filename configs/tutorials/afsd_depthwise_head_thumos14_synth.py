# Tutorial (docs/tutorials/custom_head.md): the head contract lets one registered head serve
# several detectors. The AFSD synth config with AFSDHead replaced by the tutorial's
# DepthwiseAnchorFreeHead (configs/tutorials/depthwise_head.py) on AFSD's pyramid; the frame-level
# branch and AFSD's boundary consistency losses stay. A head without READS_FRAME_FEATURE gets the
# pyramid levels only.
_base_ = ['../afsd/afsd_thumos14_synth.py']

custom_imports = dict(imports=['configs.tutorials.depthwise_head'], allow_failed_imports=False)

channels = {{_base_.channels}}
model = dict(
    head=dict(
        _delete_=True,  # a new type: do not merge AFSDHead's keys into it
        type='DepthwiseAnchorFreeHead',
        # num_classes comes from the detector (model.num_classes)
        in_channels=(channels, ) * 6,
        feat_channels=channels,
        num_convs=2,
        dw_kernel_size=5,
        # AFSD's pyramid has strides 1..32 (A2Net's 2..64): the regressed lengths move down one
        # octave per level
        point_generator=dict(
            type='PointGenerator1d',
            regress_ranges=((0, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 1e4)))),
    # the one test_cfg without AFSDHead's own keys (refine_score_weight, use_quality_score)
    test_cfg=dict(_delete_=True, sliding_window={{_base_.test_sliding_window}},
                  window_batch_size=16, pre_nms_topk=300, score_thr=0.001,
                  nms=dict(method='gaussian', sigma=0.5, min_score=0.001, max_seg_num=200,
                           multiclass=True),
                  max_per_video=200))
