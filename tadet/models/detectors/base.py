"""Base class of every tadet detector: the shared train / test plumbing.

A detector is ``extract_feat`` + the sum of its heads' ``loss`` + its heads' ``predict``
candidates (the head contract: :class:`tadet.models.dense_heads.BaseTADHead`). A subclass
builds its modules, implements ``extract_feat`` and lists its heads in ``loss_heads()``;
``predict_window`` pools the candidates of ``predict_heads()`` (override it where candidates
are fused, e.g. proposals x snippet class scores). This class cuts test-time sliding windows,
batches them, and sends every window's candidates through the one shared post-processing path
(:class:`tadet.models.post_processing.TADPostProcessor`).

Test-time options live in one ``test_cfg`` (validated here, each key read in one place):
``sliding_window``, ``window_batch_size``, ``pre_nms_topk`` / ``score_thr`` (per head and
window, when class scores become (segment, class) candidates), ``nms``, ``max_per_video``,
``external_classifier``, ``implied_labels`` (post-processing), plus the keys the heads list in
``TEST_CFG_KEYS``.
"""
from abc import ABCMeta
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from tadet.datasets.windows import SlidingWindow
from tadet.registry import MODELS, TASK_UTILS
from tadet.structures import TADDataSample

TEST_CFG_KEYS = frozenset({'sliding_window', 'window_batch_size', 'pre_nms_topk', 'score_thr',
                           'nms', 'max_per_video', 'external_classifier', 'implied_labels'})
POST_PROCESSING_KEYS = ('nms', 'max_per_video', 'external_classifier', 'implied_labels')
MIGRATION = ('test_cfg.post_processing was flattened into test_cfg: move its nms / max_per_video'
             ' / external_classifier (with num_classes inside external_classifier) up one level'
             '; pre_nms_topk / score_thr are now read once, where class scores become '
             'candidates (they replace the detector / head test_topk / test_score_thr); see '
             'docs/config.md "Migration"')


class _FinalizeAfterInit(ABCMeta):
    """Runs ``_finalize_test_cfg`` once the subclass ``__init__`` has built every head, so the
    test_cfg is validated against the keys of the heads actually built."""

    def __call__(cls, *args, **kwargs):
        obj = super().__call__(*args, **kwargs)
        obj._finalize_test_cfg()
        return obj


@MODELS.register_module()
class BaseTADDetector(BaseModel, metaclass=_FinalizeAfterInit):
    """Shared detector plumbing.

    Subclasses list the ``train_cfg`` keys they accept in ``TRAIN_CFG_KEYS`` and any
    detector-level ``test_cfg`` keys in ``DETECTOR_TEST_CFG_KEYS``; with the base keys (module
    docstring) and the heads' ``TEST_CFG_KEYS`` they are the only keys accepted (any other is an
    error naming it, raised when the model is built).

    Args:
        data_preprocessor: default ``TADDataPreprocessor``.
        train_cfg: detector-specific training options (validated by the subclass).
        test_cfg: ``sliding_window=dict(size, stride)`` (cut long test videos into windows;
            ``None`` = one window per sample), ``window_batch_size`` (windows per forward pass),
            ``pre_nms_topk`` / ``score_thr`` (candidates kept per head and window: the best
            ``pre_nms_topk`` (segment, class) pairs scoring above ``score_thr``), ``nms`` /
            ``max_per_video`` / ``external_classifier`` / ``implied_labels`` (emit the labels a
            detected child class implies, per the sample's ``label_hierarchy``;
            ``TADPostProcessor``), and the heads' own keys.
        init_cfg: mmengine weight init config.
    """

    TRAIN_CFG_KEYS: frozenset = frozenset()
    DETECTOR_TEST_CFG_KEYS: frozenset = frozenset()
    # old state-dict prefixes -> new ones, so checkpoints of earlier layouts still load
    STATE_DICT_RENAMES: Tuple[Tuple[str, str], ...] = ()

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
        if 'post_processing' in test_cfg:
            raise ValueError(f'{type(self).__name__}: {MIGRATION}')
        self.test_cfg = test_cfg
        sw = test_cfg.get('sliding_window')
        self.sliding_window = None if sw is None else SlidingWindow(**sw)
        self.window_batch_size = int(test_cfg.get('window_batch_size', 16))
        post = dict(type='TADPostProcessor',
                    **{k: test_cfg[k] for k in POST_PROCESSING_KEYS if k in test_cfg})
        self.post_processor = TASK_UTILS.build(post)

    def heads(self) -> List['BaseTADHead']:
        """Every head of the model (any depth), in construction order."""
        from tadet.models.dense_heads.base_tad_head import BaseTADHead
        return [m for m in self.modules() if isinstance(m, BaseTADHead)]

    def _finalize_test_cfg(self) -> None:
        heads = self.heads()
        allowed = set(TEST_CFG_KEYS) | set(self.DETECTOR_TEST_CFG_KEYS)
        for h in heads:
            allowed |= set(h.TEST_CFG_KEYS)
        unknown = set(self.test_cfg) - allowed
        if unknown:
            raise ValueError(f'{type(self).__name__} test_cfg: unknown key(s) {sorted(unknown)}; '
                             f'allowed: {sorted(allowed)}')
        for h in heads:
            h.test_cfg = {k: v for k, v in self.test_cfg.items() if k in h.TEST_CFG_KEYS}

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for old, new in self.STATE_DICT_RENAMES:
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                state_dict[prefix + new + key[len(prefix + old):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- to implement -------------------------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor, masks: torch.Tensor) -> Any:
        """Features the heads read (a map ``[B, C, T]`` or a pyramid of ``[B, C_l, T_l]``).
        A detector that overrides ``loss`` and ``predict_window`` itself need not have one."""
        raise NotImplementedError(f'{type(self).__name__} implements neither extract_feat nor '
                                  f'its own loss / predict_window')

    def loss_heads(self) -> List[Any]:
        """Heads whose losses are summed, in order (default: every head directly on the
        detector, in construction order)."""
        from tadet.models.dense_heads.base_tad_head import BaseTADHead
        return [m for m in self.children() if isinstance(m, BaseTADHead)]

    def predict_heads(self) -> List[Any]:
        """Heads whose candidates are pooled at inference (default: ``loss_heads()``)."""
        return self.loss_heads()

    def loss(self, inputs: torch.Tensor, masks: torch.Tensor,
             data_samples: List[TADDataSample]) -> Dict[str, torch.Tensor]:
        """Losses of a batch: the sum of the heads' ``loss``. ``inputs [B, C, T]``,
        ``masks [B, T]`` (True = real snippet)."""
        feats = self.extract_feat(inputs, masks)
        losses: Dict[str, torch.Tensor] = {}
        for head in self.loss_heads():
            losses.update(head.loss(feats, masks, data_samples))
        return losses

    @torch.no_grad()
    def predict_window(self, inputs: torch.Tensor, masks: torch.Tensor) -> List[dict]:
        """Candidates of each window: dict(segments ``[N, 2]`` window snippet coordinates,
        scores ``[N]``, labels ``[N]``), the heads' candidates pooled. ``inputs [W, C, L]``,
        ``masks [W, L]``."""
        feats = self.extract_feat(inputs, masks)
        per_head = [head.predict(feats, masks) for head in self.predict_heads()]
        return [{k: torch.cat([res[w][k] for res in per_head]) for k in per_head[0][w]}
                for w in range(inputs.shape[0])]

    def _forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None):
        """Raw network outputs (``mode='tensor'``), e.g. for FLOPs counting: every head's
        forward on the features."""
        if masks is None:
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[2]), dtype=torch.bool)
        feats = self.extract_feat(inputs, masks)
        return tuple(head(feats, masks) for head in self.loss_heads())

    # -- shared -------------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, masks: Optional[torch.Tensor] = None,
                data_samples: Optional[List[TADDataSample]] = None, mode: str = 'tensor'):
        if masks is None:  # time is dim 2 of both [B, C, T] features and [B, 3, T, H, W] frames
            masks = inputs.new_ones((inputs.shape[0], inputs.shape[2]), dtype=torch.bool)
        if mode == 'loss':
            return self.loss(inputs, masks, data_samples)
        if mode == 'predict':
            return self.predict(inputs, masks, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, masks)
        raise ValueError(f'Invalid mode {mode!r}; use loss, predict or tensor')

    def _cut_windows(self, inputs: torch.Tensor, masks: torch.Tensor) -> list:
        """(sample index, start, window [C, L] (features) or [3, L, H, W] (frames), mask [L])
        for every test window: windows are cut along time, dim 1 of a sample."""
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
                pad = size - feats.shape[1]
                if pad > 0:  # short video: pad time to the window size
                    # F.pad lists dims from the last: leave the ones after time unpadded
                    feats = torch.nn.functional.pad(feats, (0, 0) * (feats.dim() - 2) + (0, pad))
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
