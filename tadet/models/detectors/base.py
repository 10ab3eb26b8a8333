"""Base class of every tadet detector: the shared train / test plumbing.

A detector implements ``loss(inputs, masks, data_samples)`` and
``predict_window(inputs, masks) -> list of candidate dicts``; this class cuts test-time sliding
windows, batches them, and sends every window's candidates through the one shared
post-processing path (:class:`tadet.models.post_processing.TADPostProcessor`).
"""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel

from tadet.datasets.windows import SlidingWindow
from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

TEST_CFG_KEYS = {'sliding_window', 'window_batch_size', 'post_processing'}


@MODELS.register_module()
class BaseTADDetector(BaseModel, metaclass=ABCMeta):
    """Shared detector plumbing.

    Subclasses list the ``train_cfg`` keys they accept in ``TRAIN_CFG_KEYS``; any other key is
    an error naming it.

    Args:
        data_preprocessor: default ``TADDataPreprocessor``.
        train_cfg: detector-specific training options (validated by the subclass).
        test_cfg: ``sliding_window=dict(size, stride)`` (cut long test videos into windows;
            ``None`` = one window per sample), ``window_batch_size`` (windows per forward pass),
            ``post_processing`` (``TADPostProcessor`` arguments).
        init_cfg: mmengine weight init config.
    """

    TRAIN_CFG_KEYS: frozenset = frozenset()

    def __init__(self, data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        unknown = set(train_cfg or {}) - set(self.TRAIN_CFG_KEYS)
        if unknown:
            raise ValueError(f'{type(self).__name__} train_cfg: unknown key(s) {sorted(unknown)};'
                             f' allowed: {sorted(self.TRAIN_CFG_KEYS)}')
        if data_preprocessor is None:
            data_preprocessor = dict(type='TADDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # tadet's registry, so models build outside a Runner (no default scope) too
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.train_cfg = dict(train_cfg or {})
        test_cfg = dict(test_cfg or {})
        unknown = set(test_cfg) - TEST_CFG_KEYS
        if unknown:
            raise ValueError(f'{type(self).__name__} test_cfg: unknown key(s) {sorted(unknown)}; '
                             f'allowed: {sorted(TEST_CFG_KEYS)}')
        self.test_cfg = test_cfg
        sw = test_cfg.get('sliding_window')
        self.sliding_window = None if sw is None else SlidingWindow(**sw)
        self.window_batch_size = int(test_cfg.get('window_batch_size', 16))
        post = dict(type='TADPostProcessor', **test_cfg.get('post_processing', {}))
        self.post_processor = TASK_UTILS.build(post)

    # -- to implement -------------------------------------------------------------------------
    @abstractmethod
    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """Losses of a batch. ``inputs [B, C, T]``, ``masks [B, T]`` (True = real snippet)."""

    @abstractmethod
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """Candidates of each window: dict(segments ``[N, 2]`` window snippet coordinates,
        scores ``[N]``, labels ``[N]``). ``inputs [W, C, L]``, ``masks [W, L]``."""

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None):
        """Raw network outputs (``mode='tensor'``), e.g. for FLOPs counting."""
        raise NotImplementedError(f'{type(self).__name__} has no tensor mode')

    # -- shared -------------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None,
                data_samples: Optional[List[TADDataSample]] = None, mode: str = 'tensor'):
        if masks is None:
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[-1]), dtype=torch.bool)
        if mode == 'loss':
            return self.loss(inputs, masks, data_samples)
        if mode == 'predict':
            return self.predict(inputs, masks, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, masks)
        raise ValueError(f'Invalid mode {mode!r}; use loss, predict or tensor')

    def _cut_windows(self, inputs: torch.Tensor, masks: torch.Tensor) -> list:
        """(sample index, start, feats [C, L], mask [L]) for every test window."""
        out = []
        for b in range(inputs.shape[0]):
            valid = int(masks[b].sum())
            if self.sliding_window is None:
                out.append((b, 0, inputs[b], masks[b]))
                continue
            size = self.sliding_window.size
            for start in self.sliding_window.starts(valid):
                feats = inputs[b, :, start:start + size]
                mask = masks[b, start:start + size]
                if feats.shape[-1] < size:  # short video: pad to the window size
                    pad = size - feats.shape[-1]
                    feats = torch.nn.functional.pad(feats, (0, pad))
                    mask = torch.nn.functional.pad(mask, (0, pad), value=False)
                out.append((b, start, feats, mask))
        return out

    def predict(self, inputs: torch.Tensor, masks: torch.Tensor,
                data_samples: List[TADDataSample]) -> List[TADDataSample]:
        """Detections in seconds for each sample (``pred_instances``: segments, scores,
        labels)."""
        windows = self._cut_windows(inputs, masks)
        per_sample: List[list] = [[] for _ in range(inputs.shape[0])]
        bs = self.window_batch_size
        for i in range(0, len(windows), bs):
            chunk = windows[i:i + bs]
            feats = torch.stack([w[2] for w in chunk])
            mask = torch.stack([w[3] for w in chunk])
            for (b, start, _, _), cand in zip(chunk, self.predict_window(feats, mask)):
                per_sample[b].append((cand, start))
        for b, sample in enumerate(data_samples):
            cands = [c for c, _ in per_sample[b]]
            # window starts are in input snippets; map through the sample's own offset
            starts = [float(sample.metainfo.get('window_start', 0)) +
                      s * float(sample.metainfo.get('snippet_scale', 1.0))
                      for _, s in per_sample[b]]
            sample.pred_instances = self.post_processor(cands, starts, sample.metainfo)
        return data_samples
