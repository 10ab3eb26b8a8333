# gtad_thumos14_synth.py with the former plain alignment instead of SGAlign's semantic context
# (Fidelity option, see README.md): 4 inner bins over the cell + 2 context bins over the cell
# extended by half its length on each side, both of the features only (one point each).
_base_ = ['./gtad_thumos14_synth.py']

model = dict(
    proposal_head=dict(
        align=dict(_delete_=True, type='ProposalAlign1d', inner_bins=4, context_bins=2,
                   context_ratio=0.5, sampling_ratio=1)))
