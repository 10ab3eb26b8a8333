# `make demo`: the detectors side by side on THUMOS14 annotations with synthetic 64-d features
# (tools/benchmark.py; protocol in docs/benchmark.md). Every method runs its own
# `<method>_thumos14_synth.py` recipe as it is: no per-method schedule cuts.
name = 'thumos14_synth'
work_dir = 'work_dirs/benchmark/thumos14_synth'
seeds = [0]
# two runs train and test at a time (each one OpenMP thread + one data loader process, so the
# 2-core machine is used fully); speed and memory are profiled one run at a time afterwards
jobs = 2

# the shared data: merged into every method's train and test dataset
dataset = dict(type='Thumos14Dataset', feature_root='data/thumos14/features_synth',
               synthetic=dict(feat_dim=64, seed=0))
# the shared metric: every method's test evaluator
evaluator = dict(type='TADMetric', tiou_thresholds=[0.3, 0.4, 0.5, 0.6, 0.7])
# overrides for every method (--cfg-options syntax); one data loader process each
schedule = {
    'train_dataloader.num_workers': 1, 'train_dataloader.persistent_workers': False,
    'test_dataloader.num_workers': 1, 'test_dataloader.persistent_workers': False,
    'default_hooks.logger.interval': 50,
}
# speed and memory on one test video of the median test length (tadet.apis.profiling)
profile = dict(length='median', repeat=3, warmup=1, device='cpu')

methods = [
    # row 0, the floor every method is read against: a snippet classifier + threshold grouping
    # (configs/snippet_baseline/README.md)
    dict(name='Baseline', config='configs/snippet_baseline/snippet_baseline_thumos14_synth.py'),
    dict(name='AFSD', config='configs/afsd/afsd_thumos14_synth.py'),
    dict(name='A2Net', config='configs/a2net/a2net_thumos14_synth.py'),
    dict(name='SegTAD', config='configs/segtad/segtad_thumos14_synth.py'),
    dict(name='RCL', config='configs/rcl/rcl_bmn_thumos14_synth.py'),
    dict(name='BMN', config='configs/bmn/bmn_thumos14_synth.py'),
    dict(name='G-TAD', config='configs/gtad/gtad_thumos14_synth.py'),
]
