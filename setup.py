"""Install tadet. Build with ``pip install --no-build-isolation -e .`` after installing torch.

torch is deliberately not a build requirement: pip would resolve a new (CUDA) torch into an
isolated build environment. The compiled ops extension is built against the installed torch.
"""
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


def get_extensions():
    """The compiled ops extension ``tadet._ext`` (owned by tadet/ops; see docs/ops.md)."""
    if os.environ.get('TADET_NO_EXT') == '1':
        return [], {}
    try:
        import torch  # noqa: F401
        from torch.utils.cpp_extension import BuildExtension  # noqa: F401
    except ImportError:
        print('tadet: torch not installed, building without compiled ops')
        return [], {}
    return [], {}


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
