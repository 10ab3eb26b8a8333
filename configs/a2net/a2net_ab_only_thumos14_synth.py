# Ablation: the anchor-based branch alone ("AB only"), otherwise a2net_thumos14_synth.
_base_ = ['./a2net_thumos14_synth.py']
model = dict(use_anchor_free=False)
