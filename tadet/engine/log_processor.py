"""The Runner's log processor: metric lines in the unit of the metric tables.

TADMetric returns fractions (``tad/mAP@0.30 = 0.0049``; checkpoints' ``save_best``, the
benchmark and JSON logs keep them), while its tables print percent (``0.49``). mmengine's
``LogProcessor`` printed the end-of-epoch line as ``tad/mAP@0.30: 0.0049`` right under the
table. :class:`TADLogProcessor` prints those metrics in percent with the unit
(``tad/mAP@0.30: 0.49%``); the values handed to the visualizer backends stay fractions.

Registered in tadet's scope also as ``LogProcessor``, so the configs' ``dict(type=
'LogProcessor')`` (``default_scope = 'tadet'``) get it.
"""
import re

from mmengine.runner import LogProcessor

from tadet.registry import LOG_PROCESSORS

_FRACTION_METRIC = re.compile(
    r'(?P<key>(?:[\w-]+/)?(?:mAP@[\d.]+|average_mAP|AR@\d+|AUC)): (?P<val>-?\d+(?:\.\d+)?)'
    r'(?=\s|$)')


def metrics_in_percent(log_str: str) -> str:
    """``tad/mAP@0.30: 0.0049`` -> ``tad/mAP@0.30: 0.49%`` (mAP, average_mAP, AR@N, AUC)."""
    return _FRACTION_METRIC.sub(
        lambda m: f'{m.group("key")}: {100 * float(m.group("val")):.2f}%', log_str)


@LOG_PROCESSORS.register_module(name=['TADLogProcessor', 'LogProcessor'])
class TADLogProcessor(LogProcessor):
    """mmengine's ``LogProcessor``; the end-of-epoch line gives mAP / AR / AUC in percent."""

    def get_log_after_epoch(self, runner, batch_idx: int, mode: str,
                            with_non_scalar: bool = False):
        tag, log_str = super().get_log_after_epoch(runner, batch_idx, mode, with_non_scalar)
        return tag, metrics_in_percent(log_str)
