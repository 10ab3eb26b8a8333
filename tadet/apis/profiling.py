"""Model cost measurements: parameters, FLOPs, inference time and peak memory per video.

Shared by ``tools/analysis/get_flops.py``, ``tools/benchmark_models.py`` and the benchmark
report (:mod:`tadet.apis.benchmark`).

Definitions (what each number means):

* ``params``: number of parameters of the detector.
* ``flops``: multiply-adds (mmengine/fvcore counting: one fused multiply-add = 1 FLOP) of the
  tensor-mode forward (``model._forward``) over the windows the detector cuts from a video of
  ``length`` snippets (one ``[1, C, length]`` input without a test sliding window). Excludes
  post-processing; ``None`` for detectors without a tensor mode.
* ``time_s``: median wall time of ``model.test_step`` on one video of ``length`` snippets
  (data preprocessor, sliding windows, network, the shared post-processing with NMS), after
  warm-up calls; ``snippets_per_s = length / time_s``, ``videos_per_s = 1 / time_s``.
* ``peak_mem_mb``: extra memory used by one such call (after the warm-up calls) above what was
  resident before it (model and input loaded). CPU: increase of the process's peak resident
  set size, measured in a fresh child process per measurement, after ``malloc_trim`` gave the
  memory the allocator kept from earlier calls back to the OS; the kernel's peak counter
  (``VmHWM``) is reset through ``/proc/self/clear_refs`` just before the call, falling back to
  ``ru_maxrss`` (not resettable, so possibly an underestimate) where that is not allowed. CUDA:
  ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` minus the memory
  allocated before the call.
"""
import logging
import os
import resource
import statistics
import time
import traceback
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from ._common import as_config, input_channels
from .inference import init_detector, make_test_sample

# THUMOS14 I3D geometry (fps, frames per snippet, frame of snippet 0's centre): only used to
# give the post-processor a consistent video; the cost does not depend on it
DEFAULT_GEOMETRY = dict(fps=30.0, feature_stride=4.0, offset_frames=8.0)


class TensorModeWrapper(nn.Module):
    """Wraps a detector so that ``forward(x)`` is its ``_forward(x, all-true mask)``
    (``x [B, C, T]``), as FLOPs counters call ``forward``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        masks = torch.ones((x.shape[0], x.shape[-1]), dtype=torch.bool, device=x.device)
        return self.model._forward(x, masks)


def build_model(cfg: Config, checkpoint: Optional[str] = None,
                device: str = 'cpu') -> nn.Module:
    """The config's detector in eval mode on ``device`` (see
    :func:`tadet.apis.inference.init_detector`)."""
    return init_detector(cfg, checkpoint, device)


def has_tensor_mode(model: nn.Module) -> bool:
    from tadet.models import BaseTADDetector
    if type(model)._forward is not BaseTADDetector._forward:
        return True
    # the base tensor mode runs extract_feat + every head's forward
    return (type(model).extract_feat is not BaseTADDetector.extract_feat
            and bool(model.loss_heads()))


def window_batch(model: nn.Module, length: int, in_channels: int) -> torch.Tensor:
    """Zero input ``[W, C, L']`` of the windows the detector runs on a ``length``-snippet video
    (``W`` test windows of its sliding window size, else one input padded like the data
    preprocessor pads)."""
    sw = getattr(model, 'sliding_window', None)
    if sw is not None:
        return torch.zeros(len(sw.starts(length)), in_channels, sw.size)
    m = int(getattr(model.data_preprocessor, 'pad_to_multiple', 1))
    return torch.zeros(1, in_channels, (length + m - 1) // m * m)


def count_flops(cfg: Union[str, Config], length: int, in_channels: Optional[int] = None,
                batch: int = 1, per_video: bool = False, model: Optional[nn.Module] = None,
                cfg_options: Optional[dict] = None, quiet: bool = False) -> dict:
    """Parameters and FLOPs of ``cfg.model``'s tensor-mode forward.

    Args:
        cfg: config (object or path).
        length: snippets of the input.
        in_channels: feature channels (default: :func:`input_channels`).
        batch: batch size of the ``[batch, C, length]`` input (ignored with ``per_video``).
        per_video: count over the windows the detector cuts from one video of ``length``
            snippets (:func:`window_batch`) instead of one ``[batch, C, length]`` input.
        model: an already built model of ``cfg`` (built otherwise).
        quiet: hide the counter's warnings (unsupported elementwise operators, unused loss
            modules).
    Returns:
        dict(flops, params, flops_str, params_str, table, in_channels, input_shape).
    Raises:
        NotImplementedError: the detector has no ``_forward`` (tensor mode).
    """
    from mmengine.analysis import get_model_complexity_info
    cfg = as_config(cfg, cfg_options)
    c = in_channels or input_channels(cfg)
    if model is None:
        model = build_model(cfg)
    if not has_tensor_mode(model):
        raise NotImplementedError(f'{type(model).__name__} has no _forward (tensor mode)')
    x = window_batch(model, length, c) if per_video else torch.zeros(batch, c, length)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad(), _quiet_mmengine(quiet):
        info = get_model_complexity_info(TensorModeWrapper(model), inputs=(x.to(device),),
                                         show_table=True, show_arch=False)
    model.train(was_training)
    return dict(flops=int(info['flops']), params=int(info['params']),
                flops_str=info['flops_str'], params_str=info['params_str'],
                table=info['out_table'], in_channels=c, input_shape=list(x.shape))


@contextmanager
def _quiet_mmengine(quiet: bool) -> Iterator[None]:
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def make_video(in_channels: int, length: int, seed: int = 0,
               geometry: Optional[dict] = None) -> dict:
    """One test video for ``model.test_step``: ``dict(inputs=[feats [C, length]],
    data_samples=[TADDataSample])`` with standard-normal features."""
    geo = dict(DEFAULT_GEOMETRY, **(geometry or {}))
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(in_channels, length, generator=g)
    return make_test_sample(feats, video_name=f'profile_{length}', **geo)


def _read_status_kb(key: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False if not possible."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return _read_status_kb('VmHWM') is not None
    except OSError:
        return False


def _malloc_trim() -> None:
    """Give memory freed by earlier calls back to the OS (glibc), so that the next call's
    allocations show up in the resident set again."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _CpuPeak:
    """Peak resident memory added by the code run inside the ``with`` block (bytes)."""

    def __enter__(self):
        import gc
        gc.collect()
        _malloc_trim()
        self.method = 'VmHWM' if _reset_peak_rss() else 'ru_maxrss'
        if self.method == 'VmHWM':
            self.before = _read_status_kb('VmRSS')
        else:  # peak so far: only growth beyond it is seen
            self.before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc):
        after = (_read_status_kb('VmHWM') if self.method == 'VmHWM' else
                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        self.bytes = max(after - self.before, 0) * 1024
        return False


def profile_inference(cfg: Union[str, Config], length: int, repeat: int = 5, warmup: int = 2,
                      device: str = 'cpu', checkpoint: Optional[str] = None,
                      cfg_options: Optional[dict] = None, flops: bool = True,
                      threads: Optional[int] = None, seed: int = 0) -> dict:
    """Measure one config at one video length in this process (see the module docstring).

    Returns dict(params, flops (``None`` without a tensor mode), length, time_s (median),
    times_s (all repeats), snippets_per_s, videos_per_s, peak_mem_mb, mem_method, device,
    threads, num_detections).
    """
    if repeat < 1 or warmup < 0:
        raise ValueError(f'repeat must be >= 1 and warmup >= 0, got {repeat}, {warmup}')
    if length < 1:
        raise ValueError(f'length must be >= 1, got {length}')
    if threads:
        torch.set_num_threads(int(threads))
    cfg = as_config(cfg, cfg_options)
    c = input_channels(cfg)
    model = build_model(cfg, checkpoint, device)
    out = dict(length=int(length), params=sum(p.numel() for p in model.parameters()),
               device=str(device), threads=torch.get_num_threads(), flops=None)
    data = make_video(c, length, seed)
    cuda = str(device).startswith('cuda')

    def call():
        with torch.no_grad():
            return model.test_step(data)

    if flops and has_tensor_mode(model):
        out['flops'] = count_flops(cfg, length, c, per_video=True, model=model,
                                   quiet=True)['flops']
    for _ in range(warmup):  # also does one-time lazy initialisation before the memory call
        call()
    if cuda:
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        call()
        torch.cuda.synchronize(device)
        out['peak_mem_mb'] = (torch.cuda.max_memory_allocated(device) - before) / 2**20
        out['mem_method'] = 'cuda.max_memory_allocated'
    else:
        with _CpuPeak() as peak:
            call()
        out['peak_mem_mb'] = peak.bytes / 2**20
        out['mem_method'] = peak.method
    times: List[float] = []
    for _ in range(repeat):
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        res = call()
        if cuda:
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    out['num_detections'] = int(len(res[0].pred_instances.scores))
    med = statistics.median(times)
    out.update(time_s=med, times_s=times, snippets_per_s=length / med, videos_per_s=1.0 / med)
    return out


def _child(conn, args: tuple, kwargs: dict) -> None:
    try:
        conn.send(('ok', profile_inference(*args, **kwargs)))
    except BaseException as e:  # sent back and re-raised in the parent
        conn.send(('error', f'{type(e).__name__}: {e}', traceback.format_exc()))
    finally:
        conn.close()


def profile(cfg: Union[str, Config], length: int, isolate: bool = True, **kwargs) -> dict:
    """:func:`profile_inference` in a fresh child process (``isolate=True``, default: a clean
    allocator and peak-memory counter per measurement) or in this process."""
    if not isolate:
        return profile_inference(cfg, length, **kwargs)
    import multiprocessing as mp
    ctx = mp.get_context('spawn')  # fork after torch/OpenMP initialisation can hang
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, (cfg, length), kwargs), daemon=True)
    proc.start()
    child.close()
    try:
        msg = parent.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f'profiling child process died (exit code {proc.exitcode}) on '
                           f'{cfg if isinstance(cfg, str) else "config"} at length {length}')
    proc.join()
    if msg[0] == 'error':
        if os.environ.get('TADET_DEBUG') == '1':
            print(msg[2])
        raise RuntimeError(msg[1])
    return msg[1]


def profile_configs(configs: Sequence[Union[str, Config]], lengths: Sequence[int],
                    **kwargs) -> List[Dict]:
    """:func:`profile` for every (config, length); each result gets ``config`` (the path or
    ``name`` given) added."""
    out = []
    for cfg in configs:
        for length in lengths:
            r = profile(cfg, int(length), **kwargs)
            r['config'] = cfg if isinstance(cfg, str) else cfg.get('filename', 'config')
            out.append(r)
    return out


def _fmt_count(n: Optional[float], unit: str = '') -> str:
    if n is None:
        return 'n/a'
    for div, suffix in ((1e9, 'G'), (1e6, 'M'), (1e3, 'K')):
        if abs(n) >= div:
            return f'{n / div:.2f} {suffix}{unit}'
    return f'{n:.0f} {unit}'.strip()


def _ratio(value, base) -> str:
    if value is None or base in (None, 0):
        return ''
    return f' (x{value / base:.2f})'


def format_profile_table(results: Sequence[dict], names: Optional[Sequence[str]] = None,
                         title: str = ' model cost per video ') -> str:
    """terminaltables table of :func:`profile_configs` results with ratios against the first
    config (the baseline) at the same length."""
    from terminaltables import AsciiTable
    header = ['config', 'snippets', 'params', 'FLOPs', 'time / video (ms)', 'snippets/s',
              'peak mem (MB)']
    base = {}
    for r in results:
        base.setdefault(r['length'], r) if r['config'] == results[0]['config'] else None
    rows = [header]
    for i, r in enumerate(results):
        b = base.get(r['length'])
        name = names[i] if names else os.path.splitext(os.path.basename(str(r['config'])))[0]
        rows.append([
            name, str(r['length']),
            _fmt_count(r['params']) + _ratio(r['params'], b and b['params']),
            _fmt_count(r['flops']) + _ratio(r['flops'], b and b['flops']),
            f'{1000 * r["time_s"]:.1f}' + _ratio(r['time_s'], b and b['time_s']),
            f'{r["snippets_per_s"]:.0f}' + _ratio(r['snippets_per_s'], b and b['snippets_per_s']),
            f'{r["peak_mem_mb"]:.1f}' + _ratio(r['peak_mem_mb'], b and b['peak_mem_mb'])])
    table = AsciiTable(rows, title=title)
    for j in range(1, len(header)):
        table.justify_columns[j] = 'right'
    return table.table
