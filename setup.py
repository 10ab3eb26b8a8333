"""Install tadet. Build with ``pip install --no-build-isolation -e .`` after installing torch.

torch is deliberately not a build requirement: pip would resolve a new (CUDA) torch into an
isolated build environment. The compiled ops extension is built against the installed torch.
"""
import glob
import os
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    reqs = []
    with open(osp.join(HERE, 'requirements', name)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'tadet', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def _load_cuda_home_module():
    """tadet/utils/cuda_home.py without importing tadet (not installed yet)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'tadet_cuda_home', osp.join(HERE, 'tadet', 'utils', 'cuda_home.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def get_extensions():
    """The compiled ops extension ``tadet._ext`` (owned by tadet/ops; see docs/ops.md).

    CPU kernels always (``tadet/ops/csrc/*.cpp``: one file per op, ``bindings.cpp`` and the
    declarations they share in ``ext.h``); CUDA kernels (``tadet/ops/csrc/cuda/*.cu``) and their
    ATen glue only when the installed torch has CUDA and ``CUDA_HOME`` is found, or
    ``FORCE_CUDA=1``.
    ``TADET_NO_EXT=1`` skips the extension (the ops then use their pure-torch references).
    """
    if os.environ.get('TADET_NO_EXT') == '1':
        return [], {}
    force_cuda = os.environ.get('FORCE_CUDA') == '1'
    try:
        import torch
        if (force_cuda or torch.version.cuda is not None) and not os.environ.get('CUDA_HOME'):
            # before torch.utils.cpp_extension reads it: torch's own guess from a linked or
            # wrapped nvcc finds no headers (tadet/utils/cuda_home.py)
            cuda_home = _load_cuda_home_module().find_cuda_home()
            if cuda_home is not None:
                os.environ['CUDA_HOME'] = cuda_home
        from torch.utils.cpp_extension import (CUDA_HOME, BuildExtension, CppExtension,
                                               CUDAExtension)
    except ImportError:
        print('tadet: torch not installed, building without compiled ops')
        return [], {}
    csrc = osp.join('tadet', 'ops', 'csrc')
    cuda_glue = osp.join(csrc, 'cuda_glue.cpp')
    sources = [f for f in sorted(glob.glob(osp.join(csrc, '*.cpp'))) if f != cuda_glue]
    # headers: in the sdist, and a change rebuilds the extension
    depends = sorted(glob.glob(osp.join(csrc, '*.h')) + glob.glob(osp.join(csrc, 'cuda', '*.cuh')))
    cxx_flags = ['-O3', '-fopenmp']
    with_cuda = force_cuda or (torch.version.cuda is not None and CUDA_HOME is not None)
    if with_cuda and not _load_cuda_home_module().is_cuda_root(CUDA_HOME):
        raise SystemExit(f'tadet: building the CUDA ops needs the CUDA toolkit root in CUDA_HOME '
                         f'(the directory whose include/ has cuda_runtime_api.h); found '
                         f'CUDA_HOME={CUDA_HOME!r}. Set CUDA_HOME=/path/to/cuda (e.g. '
                         f'/usr/local/cuda-13.0), or unset FORCE_CUDA for a CPU-only build.')
    if with_cuda and not torch.cuda.is_available() and not os.environ.get('TORCH_CUDA_ARCH_LIST'):
        # torch takes the architectures from the visible GPU; without one its list is empty
        raise SystemExit('tadet: building the CUDA ops without a visible GPU needs '
                         'TORCH_CUDA_ARCH_LIST (the GPU architectures to compile for), e.g. '
                         'TORCH_CUDA_ARCH_LIST="8.0;9.0" for A100 and H100/H200.')
    if with_cuda:
        sources += [cuda_glue]
        sources += sorted(glob.glob(osp.join(csrc, 'cuda', '*.cu')))
        ext = CUDAExtension(
            'tadet._ext',
            sources,
            depends=depends,
            define_macros=[('WITH_CUDA', None)],
            extra_compile_args={'cxx': cxx_flags, 'nvcc': ['-O3']},
            extra_link_args=['-fopenmp'])
    else:
        ext = CppExtension(
            'tadet._ext', sources, depends=depends, extra_compile_args={'cxx': cxx_flags},
            extra_link_args=['-fopenmp'])
    return [ext], {'build_ext': BuildExtension.with_options(use_ninja=True)}


ext_modules, cmdclass = get_extensions()

setup(
    name='tadet',
    version=get_version(),
    description='Temporal action detection toolbox: AFSD, A2Net, SegTAD, RCL on mmengine',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.exists(
        osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
    },
    ext_modules=ext_modules,
    cmdclass=cmdclass,
    zip_safe=False,
)
