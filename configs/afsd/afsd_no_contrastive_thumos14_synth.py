# Ablation of afsd_thumos14_synth.py: without the boundary contrastive loss.
_base_ = ['./afsd_thumos14_synth.py']
model = dict(use_contrastive=False)
