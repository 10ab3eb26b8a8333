# Ablation of afsd_thumos14_synth.py: boundary mean pooling instead of boundary max pooling.
_base_ = ['./afsd_thumos14_synth.py']
model = dict(head=dict(refine_head=dict(pooling='mean')))
