"""Print versions and which compiled ops are available: ``python -m tadet.utils.collect_env``."""
from typing import Dict

from mmengine.utils.dl_utils import collect_env as _mmengine_collect_env


def collect_env() -> Dict[str, str]:
    import mmaction
    import mmcv
    import numpy

    import tadet
    env = dict(_mmengine_collect_env())
    env['numpy'] = numpy.__version__
    env['mmcv'] = mmcv.__version__
    env['mmaction2'] = mmaction.__version__
    env['tadet'] = tadet.__version__
    try:
        from tadet import ops
        avail = ops.available()
        env['tadet ops'] = ', '.join(f'{k}={v}' for k, v in avail.items())
    except Exception as e:  # report, never crash: this is a diagnostics tool
        env['tadet ops'] = f'unavailable ({type(e).__name__}: {e})'
    return env


def main() -> None:
    for name, val in collect_env().items():
        print(f'{name}: {val}')


if __name__ == '__main__':
    main()
