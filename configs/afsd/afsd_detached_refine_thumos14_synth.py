# AFSD on synthetic THUMOS14 features with the refinement side detached from the shared
# features (`refine_feature_grad=0`): the pyramid and coarse head learn only from the coarse
# losses, as in the coarse-only baseline, and the refinement head, frame-level branch and BCL
# learn on top of them. The authors train everything jointly (`refine_feature_grad=1`, the
# default); see README.md for why this variant exists.
_base_ = ['./afsd_thumos14_synth.py']

model = dict(refine_feature_grad=0.0)
