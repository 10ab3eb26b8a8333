# RCL on the G-TAD base (GCNeXt encoder: k3 grouped conv + two GCNeXt blocks with a dynamic
# kNN semantic graph), CPU-sized, thumos14_synth; everything else as rcl_bmn_thumos14_synth.py.
_base_ = ['./rcl_bmn_thumos14_synth.py']

model = dict(encoder=dict(_delete_=True, type='GCNeXtEncoder', in_channels={{_base_.feat_dim}},
                       feat_channels={{_base_.channels}}, num_blocks=2, in_groups=4, k=3,
                       groups=8, width_per_group=4))
