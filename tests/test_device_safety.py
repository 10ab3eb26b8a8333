"""Device safety, checked on CPU: model, op and post-processing code must create tensors on
its input's device. A ``torch`` factory call (``torch.zeros``, ``torch.arange``,
``torch.tensor``, ...) without ``device=`` lands on the default device (the CPU) and breaks or
silently slows a GPU run; ``x.new_zeros`` / ``torch.zeros_like`` / ``device=x.device`` do not.
Deliberate CPU tensors are listed in ALLOWED with the reason."""
import ast
import os.path as osp
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / 'tadet'
CHECKED = [ROOT / 'models', ROOT / 'ops']
FACTORIES = {'zeros', 'ones', 'empty', 'full', 'arange', 'tensor', 'as_tensor', 'rand',
             'randn', 'randint', 'randperm', 'linspace', 'eye'}
# (file relative to tadet/, enclosing function): why a default-device tensor is right there
ALLOWED = {
    ('models/dense_heads/afsd_coarse_head.py', '__init__'):
        'a Parameter: moves with the module',
    ('models/dense_heads/snippet_baseline_head.py', '__init__'):
        'a Python float for the bias init',
    ('models/detectors/afsd.py', '_splice'):
        'a random Python int (offset of the background chunk) from the CPU generator',
    ('models/task_modules/afsd_splice.py', '_randint'):
        'a random Python int (splice positions) from the CPU generator',
    ('models/roi_heads/bm_head.py', 'bm_sampling_matrix'):
        'built on the CPU once per window length, then moved and cached per device',
    ('models/task_modules/rcl_query_samplers.py', '_subsample'):
        'CPU generator so queries are the same on every device; indices moved with .to()',
    ('models/task_modules/rcl_query_samplers.py', '__call__'):
        'CPU generator so queries are the same on every device; noise moved with .to()',
    ('models/post_processing/post_processor.py', 'video_scores'):
        "JSON scores are read on the CPU; fuse() moves them to the candidates' device",
    ('models/post_processing/post_processor.py', '__call__'):
        'the empty result of a video without windows (detections go to the CPU metric)',
}


def factory_calls_without_device(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                else func
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and isinstance(child.func.value, ast.Name) and child.func.value.id == 'torch'
                    and child.func.attr in FACTORIES
                    and not any(k.arg == 'device' for k in child.keywords)
                    and not any(k.arg is None for k in child.keywords)):  # **kwargs may hold it
                found.append((child.lineno, func, child.func.attr))
            visit(child, name)

    visit(tree, '<module>')
    return found


def offenders():
    out = []
    for base in CHECKED:
        for path in sorted(base.rglob('*.py')):
            rel = str(path.relative_to(ROOT))
            for line, func, name in factory_calls_without_device(path):
                if (rel, func) not in ALLOWED:
                    out.append(f'tadet/{rel}:{line} in {func}(): torch.{name}(...) without device=')
    return out


def test_checker_finds_a_default_device_tensor(tmp_path):
    p = tmp_path / 'm.py'
    p.write_text('import torch\ndef f(x):\n    a = torch.zeros(3)\n'
                 '    b = torch.arange(3, device=x.device)\n    return x.new_zeros(2)\n')
    assert factory_calls_without_device(p) == [(3, 'f', 'zeros')]


def test_no_default_device_tensors_in_model_code():
    bad = offenders()
    assert not bad, 'tensors created on the default device:\n' + '\n'.join(bad)
