# A2Net synth config with every fidelity change of issue 16 turned back to the earlier variant
# (README "Fidelity"): regression on the (c, w) deltas, matching on the default anchors, the
# per-window HardNegativeSampler and MSE overlap loss, anchor-free regression in stride units
# averaged per coordinate, one candidate per (prior, class). For measuring the changes only.
_base_ = ['./a2net_thumos14_synth.py']

model = dict(
    anchor_head=dict(
        match_on='anchors',
        sampler=dict(_delete_=True, type='HardNegativeSampler', neg_pos_ratio=1.0, min_neg=0,
                     hard_fraction=1.0),
        reg_loss_space='deltas',
        candidates='per_class',
        loss_overlap=dict(_delete_=True, type='MSELoss', loss_weight=10.0)),
    anchor_free_head=dict(regress_unit='stride', reg_avg='coords', candidates='per_class'))
