"""Find the CUDA toolkit root for building the ops extension.

torch guesses ``CUDA_HOME`` from the ``nvcc`` on ``PATH`` as ``dirname(dirname(nvcc))``; when
that ``nvcc`` is a link or a wrapper script (e.g. ``/usr/local/bin/nvcc`` running
``/usr/local/cuda-13.0/bin/nvcc``) the guess is a directory without the CUDA headers and the
build fails late with a missing ``cuda_runtime_api.h``. This module asks nvcc itself. It is
imported by setup.py, so it must not import torch or tadet.
"""
import glob
import os
import os.path as osp
import shutil
import subprocess
from typing import List, Optional

HEADER = osp.join('include', 'cuda_runtime_api.h')


def is_cuda_root(path: Optional[str]) -> bool:
    return bool(path) and osp.isfile(osp.join(path, HEADER))


def _nvcc_roots(nvcc: str) -> List[str]:
    roots = [osp.dirname(osp.dirname(osp.realpath(nvcc)))]
    try:  # nvcc's dry run prints its own location: "#$ TOP=/usr/local/cuda-13.0/bin/.."
        out = subprocess.run([nvcc, '--dryrun', '-x', 'cu', '-c', os.devnull, '-o', os.devnull],
                             capture_output=True, text=True, timeout=60)
        for line in (out.stdout + out.stderr).splitlines():
            if line.startswith('#$ TOP='):
                roots.append(osp.normpath(line.split('=', 1)[1].strip()))
    except (OSError, subprocess.SubprocessError):
        pass
    return roots


def find_cuda_home() -> Optional[str]:
    """The toolkit root (the directory whose ``include/`` has ``cuda_runtime_api.h``): the
    ``CUDA_HOME`` / ``CUDA_PATH`` environment variable if set, else nvcc's own location, else
    ``/usr/local/cuda*``; ``None`` if none is found."""
    for var in ('CUDA_HOME', 'CUDA_PATH'):
        if os.environ.get(var):
            return os.environ[var]
    nvcc = shutil.which('nvcc')
    candidates = _nvcc_roots(nvcc) if nvcc else []
    candidates += sorted(glob.glob('/usr/local/cuda*'), reverse=True)
    return next((c for c in candidates if is_cuda_root(c)), None)
