# Ablation of afsd_thumos14_synth.py: without the activation-guided boundary loss.
_base_ = ['./afsd_thumos14_synth.py']
model = dict(use_boundary_loss=False)
