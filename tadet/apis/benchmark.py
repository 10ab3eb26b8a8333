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
once, after training). The test data and evaluator of all methods must be identical after the
overrides (checked before anything runs).

The report (``report.md``, ``report.json``, printed tables, ``mAP_vs_tiou.png``,
``accuracy_vs_speed.png``, ``per_class_AP.png``) aggregates the runs: mAP mean +- std over seeds,
params, FLOPs, train time, inference speed, peak memory.
"""
import itertools
import json
import os
import os.path as osp
import re
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

SPEC_KEYS = {'name', 'work_dir', 'seeds', 'dataset', 'evaluator', 'schedule', 'profile',
             'methods', 'jobs'}
METHOD_KEYS = {'name', 'config', 'cfg_options'}
PROFILE_KEYS = {'length', 'repeat', 'warmup', 'device', 'threads', 'isolate'}
RESULT_FILE = 'result.json'
TRAIN_FILE = 'train_time.json'
TEST_FILE = 'test_result.json'
# top-level config keys that validation during training needs; None switches it off
NO_VALIDATION = {'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None}


def _check_keys(d: dict, allowed: set, where: str) -> None:
    unknown = set(d) - allowed
    if unknown:
        raise KeyError(f'{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}')


def load_spec(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read and validate a benchmark SPEC (see the module docstring); method config paths are
    resolved against the current directory, then the SPEC's folder."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'benchmark spec not found: {path}')
    spec = Config.fromfile(path)
    if cfg_options:
        spec.merge_from_dict(cfg_options)
    keys = {k for k in spec.keys() if not k.startswith('_')}
    _check_keys({k: None for k in keys}, SPEC_KEYS, f'benchmark spec {path}')
    if not spec.get('methods'):
        raise ValueError(f'benchmark spec {path}: "methods" lists no method')
    names = set()
    for i, m in enumerate(spec.methods):
        _check_keys(m, METHOD_KEYS, f'{path}: methods[{i}]')
        if 'name' not in m or 'config' not in m:
            raise KeyError(f'{path}: methods[{i}] needs "name" and "config"')
        if m['name'] in names:
            raise ValueError(f'{path}: method name {m["name"]!r} appears twice')
        if not m['name'] or '/' in m['name'] or m['name'] in ('.', '..'):
            raise ValueError(f'{path}: method name {m["name"]!r} is not a folder name')
        names.add(m['name'])
        cfg = m['config']
        if not osp.isfile(cfg) and osp.isfile(osp.join(osp.dirname(path), cfg)):
            cfg = osp.join(osp.dirname(path), cfg)
        if not osp.isfile(cfg):
            raise FileNotFoundError(f'{path}: config of method {m["name"]!r} not found: '
                                    f'{m["config"]}')
        m['config'] = cfg
    _check_keys(spec.get('profile') or {}, PROFILE_KEYS, f'{path}: profile')
    if not isinstance(spec.get('jobs', 1), int) or spec.get('jobs', 1) < 1:
        raise ValueError(f'{path}: jobs must be an integer >= 1, got {spec.get("jobs")!r}')
    seeds = spec.get('seeds', [0])
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f'{path}: seeds must be a non-empty list of distinct integers')
    spec.seeds = [int(s) for s in seeds]
    spec.setdefault('name', osp.splitext(osp.basename(path))[0])
    spec.setdefault('work_dir', osp.join('work_dirs', 'benchmark', spec.name))
    return spec


def run_dir(work_dir: str, method: str, seed: int) -> str:
    return osp.join(work_dir, method, f'seed_{seed}')


_LOGGER_IDS = itertools.count()


def run_options(spec: Config, method: dict, seed: int, out_dir: str,
                cfg_options: Optional[dict] = None) -> dict:
    """``cfg_options`` of one run, lowest to highest priority: shared dataset and evaluator,
    no validation, the SPEC's ``schedule``, the method's ``cfg_options``, the command line's,
    then the seed and the run's output files."""
    opts: Dict[str, object] = {}
    for split in ('train', 'test'):
        for k, v in (spec.get('dataset') or {}).items():
            opts[f'{split}_dataloader.dataset.{k}'] = v
    for k, v in (spec.get('evaluator') or {}).items():
        opts[f'test_evaluator.{k}'] = v
    opts.update(NO_VALIDATION)
    opts.update(spec.get('schedule') or {})
    opts.update(method.get('cfg_options') or {})
    opts.update(cfg_options or {})
    opts.update({'randomness.seed': int(seed),
                 'test_evaluator.out_file': osp.join(out_dir, 'predictions.json'),
                 'test_evaluator.out_result': osp.join(out_dir, 'eval_result.json'),
                 'test_evaluator.plot_dir': out_dir})
    return opts


def _protocol(cfg: Config) -> dict:
    """What must be equal across methods: the test data (minus the pipeline) and metric."""
    ds = {k: v for k, v in cfg.test_dataloader.dataset.items() if k != 'pipeline'}
    ev = {k: v for k, v in cfg.test_evaluator.items()
          if k not in ('out_file', 'out_result', 'plot_dir')}
    return json.loads(json.dumps(dict(test_dataset=ds, test_evaluator=ev), default=str))


def check_protocol(spec: Config, cfg_options: Optional[dict] = None) -> Dict[str, Config]:
    """Load every method's final config (seed of the first run) and check they share the test
    data and evaluator. Returns ``{method name: Config}``."""
    from .runner import prepare_config
    cfgs, ref = {}, None
    for m in spec.methods:
        opts = run_options(spec, m, spec.seeds[0], run_dir(spec.work_dir, m['name'],
                                                           spec.seeds[0]), cfg_options)
        cfg = prepare_config(m['config'], cfg_options=opts)
        cfgs[m['name']] = cfg
        proto = _protocol(cfg)
        if ref is None:
            ref = (m['name'], proto)
            continue
        for part in ('test_dataset', 'test_evaluator'):
            a, b = ref[1][part], proto[part]
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            if diff:
                raise ValueError(
                    f'benchmark protocol: methods {ref[0]!r} and {m["name"]!r} differ in '
                    f'{part} key(s) {diff} ({[a.get(k) for k in diff]} vs '
                    f'{[b.get(k) for k in diff]}); set them in the spec\'s dataset/evaluator')
    return cfgs


def video_lengths_of_test_set(cfg: Config) -> List[int]:
    """Snippets of every video of ``cfg``'s test set (feature datasets)."""
    from mmengine.registry import init_default_scope

    import tadet.datasets  # noqa: F401
    from tadet.datasets.transforms.loading import feature_length
    from tadet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'tadet'))
    ds_cfg = dict(cfg.test_dataloader.dataset)
    ds_cfg['pipeline'] = []
    ds = DATASETS.build(ds_cfg)
    if not hasattr(ds, 'feature_layout'):
        raise TypeError(f'{type(ds).__name__} is not a feature dataset; set profile.length')
    lengths = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        lengths.append(min(feature_length(p, info['video_name'], ds.feature_layout)
                           for p in info['feature_paths']))
    return lengths


def _last_checkpoint(out_dir: str) -> Optional[str]:
    marker = osp.join(out_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = f.read().strip()
    if not osp.isabs(path) and not osp.isfile(path):
        path = osp.join(out_dir, osp.basename(path))
    return path if osp.isfile(path) else None


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def _changed_keys(saved: Optional[dict], opts: dict) -> List[str]:
    """Option keys whose value differs from those a finished run recorded (none recorded:
    nothing to compare)."""
    if saved is None:
        return []
    now = _jsonable(opts)
    return sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (data loader workers)."""
    import resource
    return sum(getattr(resource.getrusage(who), f)
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ('ru_utime', 'ru_stime'))


def _read_json(path: str):
    with open(path) as f:
        return json.load(f)


def train_and_test(spec: Config, method: dict, seed: int,
                   cfg_options: Optional[dict] = None, eval_only: bool = False,
                   log=print, retest: Optional[bool] = None, parallel_runs: int = 1) -> dict:
    """Train (unless ``eval_only`` or trained earlier) and test one run; writes
    ``train_time.json`` (with ``parallel_runs``, the runs training at the same time) and
    ``test_result.json`` and returns the test record. A run already tested on its latest
    checkpoint with the same options is not tested again unless ``retest`` (default:
    ``eval_only``)."""
    from tadet.evaluation.functional import write_json_atomic

    from .runner import run
    out_dir = run_dir(spec.work_dir, method['name'], seed)
    opts = run_options(spec, method, seed, out_dir, cfg_options)
    train_file, test_file = osp.join(out_dir, TRAIN_FILE), osp.join(out_dir, TEST_FILE)
    if not eval_only and not osp.isfile(train_file):
        resume = 'auto' if _last_checkpoint(out_dir) else None
        log(f'{method["name"]} seed {seed}: training ({method["config"]} -> {out_dir}'
            + (', resuming from its latest checkpoint)' if resume else ')'))
        t0, c0 = time.time(), _cpu_seconds()
        run(method['config'], 'train', work_dir=out_dir, cfg_options=opts, resume=resume)
        # CPU seconds too: on a shared machine wall time depends on the other jobs
        write_json_atomic(dict(train_time_s=time.time() - t0, train_cpu_s=_cpu_seconds() - c0,
                               resumed=bool(resume), parallel_runs=parallel_runs),
                          train_file)
    ckpt = _last_checkpoint(out_dir)
    if ckpt is None:
        raise FileNotFoundError(f'{method["name"]} seed {seed}: no checkpoint in {out_dir} '
                                f'(last_checkpoint); train it first (run without --eval-only)')
    if osp.isfile(test_file) and not (eval_only if retest is None else retest):
        tested = _read_json(test_file)
        if tested.get('checkpoint') == ckpt and tested.get('options') == _jsonable(opts):
            return tested
    log(f'{method["name"]} seed {seed}: testing {ckpt}')
    t0, c0 = time.time(), _cpu_seconds()
    metrics = run(method['config'], 'test', work_dir=out_dir, cfg_options=opts, checkpoint=ckpt)
    tested = dict(checkpoint=ckpt, options=_jsonable(opts),
                  metrics={k: float(v) for k, v in metrics.items()},
                  test_time_s=time.time() - t0, test_cpu_s=_cpu_seconds() - c0)
    write_json_atomic(tested, test_file)
    return tested


def run_one(spec: Config, method: dict, seed: int, profile_length: int,
            cfg_options: Optional[dict] = None, eval_only: bool = False,
            log=print, retest: Optional[bool] = None) -> dict:
    """Train (unless ``eval_only``), test (see :func:`train_and_test`) and profile one method
    with one seed; returns and writes ``result.json`` (returns the existing one if the run is
    finished)."""
    from tadet.evaluation.functional import write_json_atomic

    from .profiling import profile
    out_dir = run_dir(spec.work_dir, method['name'], seed)
    result_file = osp.join(out_dir, RESULT_FILE)
    opts = run_options(spec, method, seed, out_dir, cfg_options)
    if osp.isfile(result_file):
        log(f'{method["name"]} seed {seed}: finished earlier ({result_file}), not redone')
        done = _read_json(result_file)
        changed = _changed_keys(done.get('options'), opts)
        if changed:
            log(f'WARNING: {method["name"]} seed {seed} finished with other settings than the '
                f'spec / options now give ({changed}); delete {out_dir} to run it again')
        return done
    tested = train_and_test(spec, method, seed, cfg_options, eval_only, log, retest)
    train_file = osp.join(out_dir, TRAIN_FILE)
    trained = _read_json(train_file) if osp.isfile(train_file) else {}
    evaluation = _read_json(osp.join(out_dir, 'eval_result.json'))
    prof_cfg = dict(spec.get('profile') or {})
    prof_cfg.pop('length', None)
    log(f'{method["name"]} seed {seed}: profiling inference on one {profile_length}-snippet '
        f'video')
    try:
        cost = profile(method['config'], profile_length, checkpoint=tested['checkpoint'],
                       cfg_options=opts, **prof_cfg)
    except Exception as e:  # e.g. a method without tensor mode: the run still counts
        raise RuntimeError(f'{method["name"]}: profiling failed: {e}') from e
    result = dict(
        method=method['name'], seed=int(seed), config=method['config'],
        checkpoint=tested['checkpoint'], tiou_thresholds=evaluation['tiou_thresholds'],
        mAP=evaluation['mAP'], average_mAP=evaluation['average_mAP'],
        per_class_AP=evaluation['per_class_AP'], metrics=tested['metrics'],
        train_time_s=trained.get('train_time_s'), options=_jsonable(opts),
        test_time_s=tested['test_time_s'], test_cpu_s=tested['test_cpu_s'],
        train_cpu_s=trained.get('train_cpu_s'),
        train_parallel_runs=trained.get('parallel_runs', 1),
        num_test_videos=evaluation.get('num_videos'), profile=cost)
    write_json_atomic(result, result_file, indent=1)
    return result


_STATUS = re.compile(r'Epoch\((train|test)\)\s*((?:\[\d+\])?\[\s*\d+/\d+\])')
_ETA = re.compile(r'eta: (\S+)')


def _train_and_test_worker(spec_path: str, work_dir: str, method: dict, seed: int,
                           cfg_options: Optional[dict], eval_only: bool, log_file: str,
                           parallel_runs: int) -> None:
    """One run in a worker process of a parallel benchmark; its output goes to ``log_file``
    so that parallel runs do not interleave on the terminal."""
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(fd, 1), os.dup2(fd, 2)
    spec = load_spec(spec_path)
    spec.work_dir = work_dir
    train_and_test(spec, method, seed, cfg_options, eval_only, parallel_runs=parallel_runs)


def _run_status(log_file: str) -> Optional[str]:
    """Where a run is, from the last progress line of its log (``train [3][ 50/164] eta
    0:01:32``); ``'starting'`` before the first one, None if the run has no log yet."""
    try:
        with open(log_file, 'rb') as f:
            f.seek(max(0, os.path.getsize(log_file) - 20000))
            lines = f.read().decode('utf-8', 'replace').splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        m = _STATUS.search(line)
        if m:
            eta = _ETA.search(line)
            return f'{m.group(1)} {m.group(2)}' + (f' eta {eta.group(1)}' if eta else '')
    return 'starting'


def train_and_test_parallel(spec_path: str, spec: Config, runs: Sequence[tuple],
                            num_jobs: int, cfg_options: Optional[dict] = None,
                            eval_only: bool = False, log=print,
                            status_interval: float = 60.0) -> None:
    """Train and test ``runs`` (``(method, seed)`` pairs) ``num_jobs`` at a time in worker
    processes (spawned: each run starts from a fresh interpreter, as with ``tools/train.py``).
    Each run's output goes to ``WORK_DIR/<method>/seed_<seed>/run.log``; a status line per
    running run is logged every ``status_interval`` seconds. The first failure stops the
    benchmark (queued runs are cancelled, running ones finish) with its error."""
    import concurrent.futures as cf
    import multiprocessing as mp
    futures = {}
    with cf.ProcessPoolExecutor(num_jobs, mp_context=mp.get_context('spawn')) as pool:
        for m, s in runs:
            log_file = osp.join(run_dir(spec.work_dir, m['name'], s), 'run.log')
            fut = pool.submit(_train_and_test_worker, spec_path, spec.work_dir, dict(m), s,
                              cfg_options, eval_only, log_file, min(num_jobs, len(runs)))
            futures[fut] = (m['name'], s, log_file)
        what = 'testing' if eval_only else 'training and testing'
        log(f'{len(runs)} run(s) {what} {num_jobs} at a time; each run\'s output: '
            f'WORK_DIR/<method>/seed_<seed>/run.log')
        pending, start = set(futures), time.time()
        while pending:
            done, pending = cf.wait(pending, timeout=status_interval,
                                    return_when=cf.FIRST_COMPLETED)
            for fut in done:
                name, s, log_file = futures[fut]
                err = fut.exception()
                if err is not None:
                    for f in pending:
                        f.cancel()
                    if isinstance(err, cf.process.BrokenProcessPool):
                        err = RuntimeError(f'the process of a run died ({err}); see the run.log '
                                           f'files under {spec.work_dir}')
                    msg = f'{name} seed {s}: {err} (log: {log_file})'
                    try:
                        wrapped = type(err)(msg)
                    except Exception:  # an exception type with other constructor arguments
                        wrapped = RuntimeError(msg)
                    raise wrapped from err
                log(f'{name} seed {s}: trained and tested ({time.time() - start:.0f} s '
                    f'elapsed)')
            # a queued run can count as running (the pool pre-fetches): only runs with a log
            status = [(n, s, _run_status(lf)) for n, s, lf in
                      (futures[f] for f in pending if f.running())]
            status = [f'{n} seed {s}: {st}' for n, s, st in status if st is not None]
            if status and not done:
                log('running: ' + '; '.join(status))


def _mean_std(values: Sequence[float]) -> tuple:
    values = [float(v) for v in values]
    return (statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0)


def summarize(results: Sequence[dict], spec: Config) -> dict:
    """Aggregate the runs per method (mean +- std over seeds) in SPEC order."""
    methods = []
    for m in spec.methods:
        runs = [r for r in results if r['method'] == m['name']]
        if not runs:
            continue
        thr = runs[0]['tiou_thresholds']
        maps = np.asarray([r['mAP'] for r in runs], dtype=np.float64)  # [S, K]
        classes = list(runs[0]['per_class_AP'])
        per_class = {c: float(np.mean([np.mean(r['per_class_AP'][c]) for r in runs]))
                     for c in classes}
        avg = _mean_std([r['average_mAP'] for r in runs])
        trains = [r['train_time_s'] for r in runs if r['train_time_s'] is not None]
        cpus = [r['train_cpu_s'] for r in runs if r.get('train_cpu_s') is not None]
        cost = runs[0]['profile']
        methods.append(dict(
            name=m['name'], config=m['config'], seeds=[r['seed'] for r in runs],
            tiou_thresholds=thr, mAP_mean=maps.mean(0).tolist(),
            mAP_std=(maps.std(0) if len(runs) > 1 else np.zeros(len(thr))).tolist(),
            average_mAP_mean=avg[0], average_mAP_std=avg[1], per_class_AP=per_class,
            params=cost['params'], flops=cost['flops'],
            train_time_s=statistics.fmean(trains) if trains else None,
            train_cpu_s=statistics.fmean(cpus) if cpus else None,
            train_parallel_runs=max(r.get('train_parallel_runs') or 1 for r in runs),
            profile_length=cost['length'],
            snippets_per_s=statistics.fmean(r['profile']['snippets_per_s'] for r in runs),
            videos_per_s=statistics.fmean(r['profile']['videos_per_s'] for r in runs),
            peak_mem_mb=max(r['profile']['peak_mem_mb'] for r in runs),
            mem_method=cost['mem_method'], device=cost['device'], threads=cost['threads']))
    return dict(name=spec.name, work_dir=spec.work_dir, seeds=list(spec.seeds),
                methods=methods, runs=list(results))


def _pm(mean: float, std: float, n: int, scale: float = 100.0) -> str:
    return f'{scale * mean:.2f}' if n < 2 else f'{scale * mean:.2f} +- {scale * std:.2f}'


def report_rows(summary: dict) -> tuple:
    """(accuracy rows, cost rows), each with its header row first."""
    from .profiling import _fmt_count
    methods = summary['methods']
    thr = methods[0]['tiou_thresholds'] if methods else []
    acc = [['method'] + [f'mAP@{t:.2f}' for t in thr] + ['average mAP', 'seeds']]
    cost = [['method', 'params', 'FLOPs', 'train time (s)', 'train CPU (s)', 'snippets/s',
             'videos/s', 'peak mem (MB)']]
    for m in methods:
        n = len(m['seeds'])
        acc.append([m['name']] + [_pm(a, s, n) for a, s in zip(m['mAP_mean'], m['mAP_std'])] +
                   [_pm(m['average_mAP_mean'], m['average_mAP_std'], n),
                    ' '.join(str(s) for s in m['seeds'])])
        cost.append([m['name'], _fmt_count(m['params']), _fmt_count(m['flops']),
                     'n/a' if m['train_time_s'] is None else f'{m["train_time_s"]:.0f}',
                     'n/a' if m.get('train_cpu_s') is None else f'{m["train_cpu_s"]:.0f}',
                     f'{m["snippets_per_s"]:.0f}', f'{m["videos_per_s"]:.2f}',
                     f'{m["peak_mem_mb"]:.1f}'])
    return acc, cost


def format_report(summary: dict) -> str:
    """The printed report: an accuracy and a cost table (terminaltables), one row per method."""
    from terminaltables import AsciiTable
    acc, cost = report_rows(summary)
    tables = []
    for rows, title in ((acc, f' {summary["name"]}: mAP (%) '),
                        (cost, f' {summary["name"]}: cost ')):
        t = AsciiTable(rows, title=title)
        for j in range(1, len(rows[0])):
            t.justify_columns[j] = 'right'
        tables.append(t.table)
    return '\n'.join(tables) + '\n' + _cost_note(summary)


def _cost_note(summary: dict) -> str:
    if not summary['methods']:
        return ''
    m = summary['methods'][0]
    return (f'FLOPs and speed per test video of {m["profile_length"]} snippets '
            f'(median length of the test set unless set), {m["device"]}, {m["threads"]} '
            f'thread(s); speed = median time of model.test_step incl. post-processing; '
            f'peak mem = extra memory of one call ({m["mem_method"]}); train CPU = CPU seconds '
            f'of the training run and its data loader workers; mAP mean +- std over seeds.'
            + _parallel_note(summary))


def _parallel_note(summary: dict) -> str:
    n = max(m.get('train_parallel_runs', 1) for m in summary['methods'])
    return (f' Runs were trained and tested up to {n} at a time (jobs={n}): train time is '
            f'wall time shared with the other runs; speed and memory were profiled one run '
            f'at a time.' if n > 1 else '')


def format_markdown(summary: dict) -> str:
    acc, cost = report_rows(summary)

    def md(rows):
        lines = ['| ' + ' | '.join(rows[0]) + ' |',
                 '|' + '|'.join(['---'] + ['---:'] * (len(rows[0]) - 1)) + '|']
        lines += ['| ' + ' | '.join(r) + ' |' for r in rows[1:]]
        return '\n'.join(lines)
    return (f'# Benchmark {summary["name"]}\n\n## mAP (%)\n\n{md(acc)}\n\n## Cost\n\n'
            f'{md(cost)}\n\n{_cost_note(summary)}\n\n'
            f'![mAP vs tIoU](mAP_vs_tiou.png)\n![accuracy vs speed](accuracy_vs_speed.png)\n'
            f'![per-class AP](per_class_AP.png)\n')


def save_plots(summary: dict, out_dir: str) -> List[str]:
    """``mAP_vs_tiou.png``, ``accuracy_vs_speed.png``, ``per_class_AP.png`` (Agg backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    methods = summary['methods']
    os.makedirs(out_dir, exist_ok=True)
    paths = []

    def save(fig, name):
        fig.tight_layout()
        path = osp.join(out_dir, name)
        fig.savefig(path, dpi=100)
        paths.append(path)

    fig = Figure(figsize=(6, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for m in methods:
        mean, std = 100 * np.asarray(m['mAP_mean']), 100 * np.asarray(m['mAP_std'])
        ax.errorbar(m['tiou_thresholds'], mean, yerr=std if len(m['seeds']) > 1 else None,
                    marker='o', capsize=3,
                    label=f'{m["name"]} (avg {100 * m["average_mAP_mean"]:.1f})')
    ax.set_xlabel('tIoU threshold')
    ax.set_ylabel('mAP (%)')
    ax.set_title(f'{summary["name"]}: mAP vs tIoU')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, 'mAP_vs_tiou.png')

    fig = Figure(figsize=(6, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for m in methods:
        ax.scatter([m['snippets_per_s']], [100 * m['average_mAP_mean']], s=60)
        ax.annotate(m['name'], (m['snippets_per_s'], 100 * m['average_mAP_mean']),
                    textcoords='offset points', xytext=(5, 5), fontsize=9)
    ax.set_xscale('log')
    ax.set_xlabel('inference speed (snippets/s, log scale)')
    ax.set_ylabel('average mAP (%)')
    ax.set_title(f'{summary["name"]}: accuracy vs speed')
    ax.grid(alpha=0.3, which='both')
    save(fig, 'accuracy_vs_speed.png')

    classes = list(methods[0]['per_class_AP']) if methods else []
    fig = Figure(figsize=(min(24.0, max(8.0, 0.12 * len(classes) * max(1, len(methods)) + 3)),
                          4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(classes))
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        ax.bar(x + (i - (len(methods) - 1) / 2) * width,
               [100 * m['per_class_AP'].get(c, 0.0) for c in classes], width, label=m['name'])
    ax.set_xticks(x)
    ax.set_xticklabels(classes, rotation=60, ha='right', fontsize=7)
    ax.set_ylabel('AP (%), mean over tIoU and seeds')
    ax.set_title(f'{summary["name"]}: per-class AP')
    ax.legend(fontsize=7, ncol=min(3, max(1, len(methods))))
    save(fig, 'per_class_AP.png')
    return paths


def write_report(summary: dict, out_dir: str) -> dict:
    """``report.json``, ``report.md`` and the plots in ``out_dir``; returns their paths."""
    from tadet.evaluation.functional import write_json_atomic
    write_json_atomic(summary, osp.join(out_dir, 'report.json'), indent=1)
    md_path = osp.join(out_dir, 'report.md')
    tmp = md_path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(format_markdown(summary))
    os.replace(tmp, md_path)
    plots = save_plots(summary, out_dir) if summary['methods'] else []
    return dict(json=osp.join(out_dir, 'report.json'), markdown=md_path, plots=plots)


def run_benchmark(spec_path: str, work_dir: Optional[str] = None,
                  seeds: Optional[Sequence[int]] = None, cfg_options: Optional[dict] = None,
                  eval_only: bool = False, methods: Optional[Sequence[str]] = None,
                  log: Optional[Callable[[str], None]] = None,
                  jobs: Optional[int] = None) -> dict:
    """Run every (method, seed) of a SPEC (finished runs are skipped) and write the report.
    ``jobs`` (default: the SPEC's ``jobs``, else 1) runs train + test that many at a time in
    worker processes (:func:`train_and_test_parallel`); the speed / memory profiles always run
    one after another, so that parallel runs do not disturb them. Progress goes to ``log``
    (default: an mmengine logger printing to the terminal and ``WORK_DIR/benchmark.log``).
    Returns the summary (see :func:`summarize`)."""
    spec = load_spec(spec_path)
    if work_dir is not None:
        spec.work_dir = work_dir
    # checked before the work dir and its log exist: a bad option leaves nothing behind
    if seeds is not None:
        spec.seeds = [int(s) for s in seeds]
    if methods:
        unknown = set(methods) - {m['name'] for m in spec.methods}
        if unknown:
            raise KeyError(f'--methods: {sorted(unknown)} not in the spec '
                           f'({[m["name"] for m in spec.methods]})')
        spec.methods = [m for m in spec.methods if m['name'] in methods]
    num_jobs = int(jobs if jobs is not None else spec.get('jobs', 1))
    if num_jobs < 1:
        raise ValueError(f'jobs must be >= 1, got {num_jobs}')
    cfgs = check_protocol(spec, cfg_options)
    if log is None:
        from mmengine.logging import MMLogger
        os.makedirs(spec.work_dir, exist_ok=True)
        # a fresh current logger: the datasets' messages go to this terminal and file too
        log = MMLogger.get_instance(f'benchmark_{next(_LOGGER_IDS)}', log_level='INFO',
                                    log_file=osp.join(spec.work_dir, 'benchmark.log')).info
    length = (spec.get('profile') or {}).get('length', 'median')
    if length == 'median':
        lengths = video_lengths_of_test_set(next(iter(cfgs.values())))
        length = int(statistics.median(lengths))
        log(f'benchmark {spec.name}: {len(lengths)} test videos, median length {length} '
            f'snippets (used for the speed and memory measurements)')
    runs = [(m, s) for m in spec.methods for s in spec.seeds]
    todo = [(m, s) for m, s in runs
            if not osp.isfile(osp.join(run_dir(spec.work_dir, m['name'], s), RESULT_FILE))]
    start = time.time()
    if num_jobs > 1 and len(todo) > 1:
        if (spec.get('profile') or {}).get('length', 'median') != 'median':
            try:  # builds the test set: generated (synthetic) features exist before runs start
                video_lengths_of_test_set(next(iter(cfgs.values())))
            except TypeError:
                pass
        train_and_test_parallel(spec_path, spec, todo, num_jobs, cfg_options, eval_only, log)
        tested_now = {(m['name'], s) for m, s in todo}
    else:
        tested_now = set()
    results = []
    for i, (m, s) in enumerate(runs):
        log(f'[{i + 1}/{len(runs)}] {m["name"]} seed {s} '
            f'(elapsed {time.time() - start:.0f} s)')
        r = run_one(spec, m, s, int(length), cfg_options, eval_only, log,
                    retest=False if (m['name'], s) in tested_now else None)
        results.append(r)
        log(f'[{i + 1}/{len(runs)}] {m["name"]} seed {s}: average mAP '
            f'{100 * r["average_mAP"]:.2f}%')
    summary = summarize(results, spec)
    files = write_report(summary, spec.work_dir)
    log(format_report(summary))
    log(f'report: {files["markdown"]}, {files["json"]}; plots: {", ".join(files["plots"])}; '
        f'total {time.time() - start:.0f} s')
    return summary
