# Ablation of segtad_thumos14_synth.py: the PAG module without its graph-conv (GC) branch (the
# edge conv on the dynamic kNN graph).
_base_ = ['./segtad_thumos14_synth.py']

model = dict(neck=dict(use_graph=False))
