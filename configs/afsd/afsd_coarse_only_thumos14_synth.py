# Coarse-only baseline of afsd_thumos14_synth.py: no refinement head, no quality branch (score =
# softmax of the coarse head); everything else identical.
_base_ = ['./afsd_thumos14_synth.py']
model = dict(use_refinement=False)
