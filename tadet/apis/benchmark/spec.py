"""Benchmark SPEC: loading and validation, the per-run config options and the shared test
protocol (see :mod:`tadet.apis.benchmark` for the SPEC format)."""
import json
import os.path as osp
from typing import Dict, List, Optional

from mmengine.config import Config

SPEC_KEYS = {'name', 'work_dir', 'seeds', 'dataset', 'evaluator', 'schedule', 'profile',
             'methods', 'jobs', 'validate'}
METHOD_KEYS = {'name', 'config', 'cfg_options'}
PROFILE_KEYS = {'length', 'repeat', 'warmup', 'device', 'threads', 'isolate'}
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
    validate = spec.get('validate', False)
    if not isinstance(validate, bool):
        raise TypeError(f'{path}: validate must be True or False, got {validate!r} '
                        f'({type(validate).__name__}); True validates during training and '
                        f'puts the curves in the report, False (default) does not')
    spec.validate = validate
    seeds = spec.get('seeds', [0])
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f'{path}: seeds must be a non-empty list of distinct integers')
    spec.seeds = [int(s) for s in seeds]
    spec.setdefault('name', osp.splitext(osp.basename(path))[0])
    spec.setdefault('work_dir', osp.join('work_dirs', 'benchmark', spec.name))
    return spec


def run_dir(work_dir: str, method: str, seed: int) -> str:
    return osp.join(work_dir, method, f'seed_{seed}')


def run_options(spec: Config, method: dict, seed: int, out_dir: str,
                cfg_options: Optional[dict] = None) -> dict:
    """``cfg_options`` of one run, lowest to highest priority: shared dataset and evaluator,
    no validation (unless the SPEC's ``validate``), the SPEC's ``schedule``, the method's
    ``cfg_options``, the command line's, then the seed and the run's output files. Without
    ``validate`` the overrides' ``val_dataloader`` / ``val_cfg`` / ``val_evaluator`` keys are
    dropped.

    With ``validate`` the method config's own validation stays (its ``train_cfg.val_interval``,
    ``val_cfg``, the val dataloader's loader settings) and its data and metric become the
    shared ones, as for the test: ``val_dataloader.dataset.<k>`` / ``val_evaluator.<k>`` for
    every key of the SPEC's ``dataset`` / ``evaluator``.
    """
    validate = bool(spec.get('validate', False))
    opts: Dict[str, object] = {}
    for split in ('train', 'val', 'test') if validate else ('train', 'test'):
        for k, v in (spec.get('dataset') or {}).items():
            opts[f'{split}_dataloader.dataset.{k}'] = v
    for k, v in (spec.get('evaluator') or {}).items():
        opts[f'test_evaluator.{k}'] = v
        if validate:
            opts[f'val_evaluator.{k}'] = v
    if not validate:
        opts.update(NO_VALIDATION)
    for overrides in (spec.get('schedule'), method.get('cfg_options'), cfg_options):
        # without validation its settings have nothing to set (and mmengine cannot merge a
        # key into a None section): one schedule serves specs with and without validate
        opts.update({k: v for k, v in (overrides or {}).items()
                     if validate or k.split('.')[0] not in NO_VALIDATION})
    opts.update({'randomness.seed': int(seed), **run_output_options(out_dir)})
    return opts


def run_output_options(out_dir: str) -> dict:
    """``cfg_options`` of the test evaluator's files written per run into ``out_dir``: not
    settings of the run (they follow its dir) and not part of the protocol."""
    return {'test_evaluator.out_file': osp.join(out_dir, 'predictions.json'),
            'test_evaluator.out_result': osp.join(out_dir, 'eval_result.json'),
            'test_evaluator.plot_dir': out_dir}


# their evaluator keys
_RUN_OUTPUTS = tuple(k.split('.', 1)[1] for k in run_output_options(''))


def _protocol(cfg: Config, validate: bool = False) -> dict:
    """What must be equal across methods: the test data (minus the pipeline) and metric, and
    with ``validate`` the validation data and metric (the curves are compared too)."""
    splits = ('test', 'val') if validate else ('test',)
    proto = {}
    for split in splits:
        ds = cfg[f'{split}_dataloader'].dataset
        proto[f'{split}_dataset'] = {k: v for k, v in ds.items() if k != 'pipeline'}
        proto[f'{split}_evaluator'] = {k: v for k, v in cfg[f'{split}_evaluator'].items()
                                       if k not in _RUN_OUTPUTS}
    return json.loads(json.dumps(proto, default=str))


def _check_has_validation(method: dict) -> None:
    """A clear error instead of mmengine's when ``validate`` meets a config without it."""
    raw = Config.fromfile(method['config'])
    missing = [k for k in ('val_dataloader', 'val_evaluator', 'val_cfg') if not raw.get(k)]
    if missing:
        raise KeyError(f'benchmark spec: validate=True, but the config of method '
                       f'{method["name"]!r} ({method["config"]}) has no {missing}; give it '
                       f'validation (and train_cfg.val_interval) or set validate=False')


def check_protocol(spec: Config, cfg_options: Optional[dict] = None) -> Dict[str, Config]:
    """Load every method's final config (seed of the first run) and check they share the test
    data and evaluator (and with ``validate`` the val ones). Returns ``{method name: Config}``."""
    from ..runner import prepare_config
    validate = bool(spec.get('validate', False))
    cfgs, ref = {}, None
    for m in spec.methods:
        if validate:
            _check_has_validation(m)
        opts = run_options(spec, m, spec.seeds[0], run_dir(spec.work_dir, m['name'],
                                                           spec.seeds[0]), cfg_options)
        cfg = prepare_config(m['config'], cfg_options=opts)
        cfgs[m['name']] = cfg
        proto = _protocol(cfg, validate)
        if ref is None:
            ref = (m['name'], proto)
            continue
        for part in proto:
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
