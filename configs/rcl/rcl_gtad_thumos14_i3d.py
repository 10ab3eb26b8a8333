# RCL on the G-TAD base, THUMOS14 I3D features: the encoder is G-TAD's (k3 grouped conv to 256
# + two GCNeXt blocks: temporal grouped conv + dynamic kNN semantic graph, k = 3, cardinality
# 32), the rest as rcl_bmn_thumos14_i3d.py (TEM, CAR + M = 2 refine, soft-NMS 0.3, top 200).
# Not run here (no features).
_base_ = ['./rcl_bmn_thumos14_i3d.py']

model = dict(encoder=dict(_delete_=True, type='GCNeXtEncoder', in_channels={{_base_.feat_dim}},
                       feat_channels={{_base_.feat_channels}}, num_blocks=2, in_groups=4, k=3,
                       groups=32, width_per_group=4))
