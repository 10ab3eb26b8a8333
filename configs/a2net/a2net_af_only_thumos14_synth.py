# Ablation: the anchor-free branch alone ("AF only"), otherwise a2net_thumos14_synth.
_base_ = ['./a2net_thumos14_synth.py']
model = dict(use_anchor_based=False)
