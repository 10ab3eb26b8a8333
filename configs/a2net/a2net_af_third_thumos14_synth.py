# Variant (not the paper's): the anchor-free losses scaled by 1/3 (classification 30 -> 10,
# regression 1 -> 1/3), otherwise a2net_thumos14_synth. With the paper's weights the anchor-free
# terms are 2.5-4.7x the anchor-based ones through training and the jointly trained model stays
# below its anchor-based branch trained alone (README.md, "Branch ablation with the recipe").
_base_ = ['./a2net_thumos14_synth.py']
model = dict(anchor_free_head=dict(loss_cls=dict(loss_weight=10.0),
                                   loss_reg=dict(loss_weight=1.0 / 3)))
