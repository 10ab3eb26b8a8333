"""Benchmark runs: train, test and profile one (method, seed) run, resumably; train and test
several at a time in worker processes; :func:`run_benchmark`, the whole benchmark."""
import itertools
import json
import os
import os.path as osp
import re
import statistics
import sys
import time
from typing import Callable, List, Optional, Sequence

from mmengine.config import Config

from .curves import attach_val_curves
from .report import format_report, summarize, write_report
from .spec import (check_protocol, load_spec, run_dir, run_options, run_output_options,
                   video_lengths_of_test_set)

RESULT_FILE = 'result.json'
TRAIN_FILE = 'train_time.json'
TEST_FILE = 'test_result.json'

_LOGGER_IDS = itertools.count()


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
    nothing to compare). The run's own output files are not settings: they follow the run
    dir, so a work dir that was moved or copied does not differ."""
    if saved is None:
        return []
    now = _jsonable(opts)
    outputs = set(run_output_options(''))
    return sorted(k for k in (set(saved) | set(now)) - outputs if saved.get(k) != now.get(k))


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

    from ..runner import run
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

    from ..profiling import profile
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


# epoch-based loops log "Epoch(train) [3][ 50/164]", iteration-based ones "Iter(train) [ 600/1500]"
_STATUS = re.compile(r'(?:Epoch|Iter)\((train|val|test)\)\s*((?:\[\d+\])?\[\s*\d+/\d+\])')
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
    # max_tasks_per_child=1: a worker serves one run, so every run really starts from a fresh
    # interpreter (no state, and no code imported earlier, carried over from the previous run)
    with cf.ProcessPoolExecutor(num_jobs, mp_context=mp.get_context('spawn'),
                                max_tasks_per_child=1) as pool:
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


def run_benchmark(spec_path: str, work_dir: Optional[str] = None,
                  seeds: Optional[Sequence[int]] = None, cfg_options: Optional[dict] = None,
                  eval_only: bool = False, methods: Optional[Sequence[str]] = None,
                  log: Optional[Callable[[str], None]] = None,
                  jobs: Optional[int] = None) -> dict:
    """Run every (method, seed) of a SPEC (finished runs are skipped) and write the report.
    ``jobs`` (default: the SPEC's ``jobs``, else 1) runs train + test that many at a time in
    worker processes (:func:`train_and_test_parallel`); the speed / memory profiles always run
    one after another, so that parallel runs do not disturb them. With the SPEC's ``validate``
    each run's validation curve is read from its logs into the report. Progress goes to ``log``
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
    # from the run dirs' logs, also with --eval-only (the runs validated when they trained)
    results = attach_val_curves(results, spec, cfgs, log)
    summary = summarize(results, spec)
    files = write_report(summary, spec.work_dir)
    log(format_report(summary))
    log(f'report: {files["markdown"]}, {files["json"]}; plots: {", ".join(files["plots"])}; '
        f'total {time.time() - start:.0f} s')
    return summary
