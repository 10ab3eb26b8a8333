# Ablation of segtad_thumos14_synth.py: the PAG module without its atrous-conv (AC) branch.
_base_ = ['./segtad_thumos14_synth.py']

model = dict(neck=dict(use_atrous=False))
