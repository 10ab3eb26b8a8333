"""Side-by-side benchmarking: train and evaluate several detectors under one protocol.

A benchmark SPEC is a config file::

    name = 'thumos14_synth'                       # title of the report
    work_dir = 'work_dirs/benchmark/thumos14_synth'
    seeds = [0]                                   # one run per method and seed
    # merged into every method's train and test dataset (the shared data)
    dataset = dict(feature_root='data/thumos14/features_synth')
    # every method's test evaluator (the shared metric)
    evaluator = dict(type='TADMetric', tiou_thresholds=[0.3, 0.4, 0.5, 0.6, 0.7])
    # --cfg-options style overrides for every method (e.g. a shorter schedule)
    schedule = dict()
    # validate during training (each config's train_cfg.val_interval) on the shared data and
    # metric; the report gets the validation curves (default False: no validation)
    validate = False
    # inference cost measured with tadet.apis.profiling on one video per method
    profile = dict(length='median', repeat=5, warmup=2, device='cpu')
    methods = [
        dict(name='AFSD', config='configs/afsd/afsd_thumos14_synth.py'),
        dict(name='A2Net', config='configs/a2net/a2net_thumos14_synth.py',
             cfg_options={'train_cfg.max_epochs': 6}),   # per-method overrides
    ]

Each run (method, seed) goes through :func:`tadet.apis.runner.run` (the machinery of
``tools/train.py`` / ``tools/test.py``) in ``work_dir/<method>/seed_<seed>/`` and ends with an
atomically written ``result.json``; a run with that file is finished and is not redone, so an
interrupted benchmark resumes where it stopped (a run interrupted during training resumes from
its latest checkpoint). Validation during training is switched off (the test set is evaluated
once, after training) unless ``validate=True``: then each method validates at its own
``train_cfg.val_interval`` on the shared dataset and evaluator (``val_dataloader.dataset`` and
``val_evaluator`` get them as the test side does; ``schedule`` may set other
``val_dataloader.*`` keys) and the report adds the curves (:mod:`.curves`). The test data and
evaluator of all methods (and with ``validate`` the val ones) must be identical after the
overrides (checked before anything runs).

The report (``report.md``, ``report.json``, printed tables, ``mAP_vs_tiou.png``,
``accuracy_vs_speed.png``, ``per_class_AP.png``, with ``validate`` ``val_curves.png``)
aggregates the runs: mAP mean +- std over seeds, params, FLOPs, train time, inference speed,
peak memory, and the validation average mAP per epoch (or iteration) mean +- std over seeds.
"""
from .curves import attach_val_curves, format_curves_markdown
from .plots import save_plots, save_val_curves
from .report import format_markdown, format_report, report_rows, summarize, write_report
from .runs import (RESULT_FILE, TEST_FILE, TRAIN_FILE, run_benchmark, run_one, train_and_test,
                   train_and_test_parallel)
from .spec import (METHOD_KEYS, NO_VALIDATION, PROFILE_KEYS, SPEC_KEYS, check_protocol, load_spec,
                   run_dir, run_options, video_lengths_of_test_set)

__all__ = [
    'METHOD_KEYS', 'NO_VALIDATION', 'PROFILE_KEYS', 'RESULT_FILE', 'SPEC_KEYS', 'TEST_FILE',
    'TRAIN_FILE', 'check_protocol', 'format_markdown', 'format_report', 'load_spec',
    'report_rows', 'run_benchmark', 'run_dir', 'run_one', 'run_options', 'save_plots',
    'summarize', 'train_and_test', 'train_and_test_parallel', 'video_lengths_of_test_set',
    'write_report', 'attach_val_curves', 'format_curves_markdown', 'save_val_curves'
]
