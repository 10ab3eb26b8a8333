# The fidelity changes of issue 16 measured: each changed method in its earlier variant (the
# options named in the method README's "Fidelity" section), same data, metric, schedules and
# seeds as configs/benchmark/thumos14_synth_2seeds.py, whose rows are the paper-faithful
# defaults. Read the two reports side by side.
_base_ = ['./thumos14_synth_2seeds.py']
name = 'thumos14_synth_fidelity'
work_dir = 'work_dirs/benchmark/thumos14_synth_fidelity'
methods = [
    dict(name='AFSD-earlier', config='configs/afsd/afsd_thumos14_synth.py',
         cfg_options={'model.head.refine_cls_avg': 'coarse', 'model.bcl_level0_weight': 0.0,
                      'model.contrastive_mode': 'range', 'model.contrastive_weights': (1.0, )}),
    dict(name='A2Net-earlier', config='configs/a2net/a2net_prefidelity_thumos14_synth.py'),
    dict(name='SegTAD-earlier', config='configs/segtad/segtad_thumos14_synth.py',
         cfg_options={'model.roi_head.loss_tiou.loss_weight': 10.0}),
    dict(name='G-TAD-earlier', config='configs/gtad/gtad_plainalign_thumos14_synth.py'),
]
