# The README numbers: `make demo`'s spec (configs/benchmark/thumos14_synth.py: the same methods,
# data, metric and schedules) with two seeds; the report gives mean +- std over them.
#   OMP_NUM_THREADS=1 python tools/benchmark.py configs/benchmark/thumos14_synth_2seeds.py
_base_ = ['./thumos14_synth.py']
name = 'thumos14_synth_2seeds'
work_dir = 'work_dirs/benchmark/thumos14_synth_2seeds'
seeds = [0, 1]
# validation curves in the report: each method validates at its own train_cfg.val_interval
validate = True
