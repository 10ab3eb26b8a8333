# Ablation of segtad_thumos14_synth.py: the PAG module without its global-pooling (GP) branch.
_base_ = ['./segtad_thumos14_synth.py']

model = dict(neck=dict(use_global=False))
