# Ablation: CAR only (no refine module, M = 0) on rcl_bmn_thumos14_synth.py; everything else
# equal. Base -> +CAR -> +refine = bmn_thumos14_synth.py -> this -> rcl_bmn_thumos14_synth.py.
_base_ = ['./rcl_bmn_thumos14_synth.py']

model = dict(proposal_head=dict(num_iters=0))
