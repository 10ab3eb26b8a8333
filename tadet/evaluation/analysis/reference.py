"""Ground truth, video durations and class names for the analysis tools."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

StrOrList = Union[str, Sequence[str], None]


def load_reference(config: Optional[str] = None, ann_file: Optional[str] = None,
                   subset: StrOrList = None, video_info: StrOrList = None,
                   classes: StrOrList = None,
                   cfg_options: Optional[dict] = None) -> Tuple[Dict, Dict, List[str]]:
    """``(ground_truth, durations, classes)`` of the evaluated videos.

    Either from a config (its ``test_dataloader.dataset``, built without a pipeline: the same
    annotation file, subset, durations and class map as ``tools/test.py``) or from an
    ActivityNet-format ``ann_file`` (+ ``subset``, ``video_info`` CSVs for durations when the file
    has none, ``classes``).

    Returns:
        ground_truth ``video -> [{"segment": [s, e], "label": name}]`` (seconds),
        durations ``video -> seconds or None``, class names.
    """
    from tadet.datasets.annotations import load_annotation_file
    if config is not None:
        from mmengine.registry import init_default_scope

        import tadet.datasets  # noqa: F401
        from tadet.apis.cli import load_config
        from tadet.registry import DATASETS
        cfg = load_config(config, cfg_options)
        init_default_scope(cfg.get('default_scope', 'tadet'))
        ds_cfg = dict(cfg.test_dataloader.dataset, pipeline=[], lazy_init=True)
        ds = DATASETS.build(ds_cfg)
        videos, names = ds._videos, list(ds.metainfo['classes'])
    elif ann_file is not None:
        durations = None
        if video_info is not None:
            from tadet.datasets.video_info import load_video_info
            durations = {k: v['duration'] for k, v in load_video_info(video_info).items()}
        videos, names = load_annotation_file(ann_file, subset=subset, classes=classes,
                                             durations=durations)
    else:
        raise ValueError('load_reference needs a config or an annotation file')
    gt = {v['video_name']: [dict(segment=[float(s), float(e)], label=names[int(lab)])
                            for (s, e), lab in zip(v['segments'], v['labels'])]
          for v in videos}
    durations = {v['video_name']: v.get('duration') for v in videos}
    return gt, durations, [str(n) for n in names]
