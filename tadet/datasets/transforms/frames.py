"""Frame transforms for end-to-end detection: load a window of frames at a target fps, crop,
normalise and pack ``inputs [3, T, H, W]`` with a ``TADDataSample``.

Frames come from a folder of images (``img_00001.jpg`` ...) extracted at ``source_fps``, or from
a video file decoded with decord (OpenCV as fallback). Target frame ``i`` (time ``i / fps``) reads
source frame ``round(i * source_fps / fps)``.
"""
import os.path as osp
from typing import Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from tadet.registry import TRANSFORMS

from .formatting import PackTADInputs


def _read_image(path: str) -> np.ndarray:
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read frame {path}')
    return img[:, :, ::-1]  # BGR -> RGB


def _read_video_frames(path: str, indices: np.ndarray) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')
    try:
        import decord
        vr = decord.VideoReader(path)
        idx = np.clip(indices, 0, len(vr) - 1)
        return vr.get_batch(list(idx)).asnumpy()
    except ImportError:  # pragma: no cover - decord is optional
        import cv2
        cap = cv2.VideoCapture(path)
        frames = []
        while True:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(f[:, :, ::-1])
        cap.release()
        if not frames:
            raise ValueError(f'could not decode {path}')
        return np.stack([frames[min(i, len(frames) - 1)] for i in indices])


@TRANSFORMS.register_module()
class LoadFrameWindow(BaseTransform):
    """Load target frames ``[window_start, window_start + window_size)`` (the whole video when
    the sample has no ``window_size``) into ``imgs [T, H, W, 3]`` uint8.

    Reads ``frame_dir`` + ``filename_tmpl`` (1-based index) or ``video_path``, ``source_fps``,
    ``fps`` and ``num_frames`` (target frames in the video) from the sample. Frames past the end
    of the video are zeros and not counted in ``valid_length``.

    Args:
        pad_to_window: pad short windows to ``window_size`` with zero frames.
    """

    def __init__(self, pad_to_window: bool = True) -> None:
        self.pad_to_window = bool(pad_to_window)

    def transform(self, results: dict) -> dict:
        num = int(results['num_frames'])
        start = int(results.get('window_start', 0))
        size = int(results.get('window_size') or num)
        stop = min(start + size, num)
        target = np.arange(start, stop)
        ratio = float(results['source_fps']) / float(results['fps'])
        src = np.round(target * ratio).astype(np.int64)
        if results.get('video_path'):
            imgs = _read_video_frames(results['video_path'], src)
        else:
            total = int(results['num_source_frames'])
            tmpl = results['filename_tmpl']
            src = np.clip(src, 0, total - 1)
            imgs = np.stack([_read_image(osp.join(results['frame_dir'], tmpl.format(i + 1)))
                             for i in src])
        valid = imgs.shape[0]
        if self.pad_to_window and valid < size:
            pad = np.zeros((size - valid,) + imgs.shape[1:], dtype=imgs.dtype)
            imgs = np.concatenate([imgs, pad])
        results['imgs'] = imgs
        results['valid_length'] = valid
        results['window_size'] = size
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(pad_to_window={self.pad_to_window})'


@TRANSFORMS.register_module()
class ResizeFrames(BaseTransform):
    """Resize every frame to ``size = (h, w)`` (bilinear)."""

    def __init__(self, size: Tuple[int, int]) -> None:
        self.size = (int(size[0]), int(size[1]))

    def transform(self, results: dict) -> dict:
        import cv2
        h, w = self.size
        results['imgs'] = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)
                                    for f in results['imgs']])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size})'


class _CropFrames(BaseTransform):

    def __init__(self, size: int) -> None:
        if int(size) < 1:
            raise ValueError(f'{type(self).__name__}: size must be >= 1')
        self.size = int(size)

    def _offset(self, h: int, w: int) -> Tuple[int, int]:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        if h < self.size or w < self.size:
            raise ValueError(f'{type(self).__name__}: frames {h}x{w} smaller than the crop '
                             f'{self.size}; add ResizeFrames before it')
        y, x = self._offset(h, w)
        results['imgs'] = imgs[:, y:y + self.size, x:x + self.size]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size})'


@TRANSFORMS.register_module()
class RandomCropFrames(_CropFrames):
    """The same random ``size x size`` crop on every frame of the window (training)."""

    def _offset(self, h, w):
        return (int(np.random.randint(0, h - self.size + 1)),
                int(np.random.randint(0, w - self.size + 1)))


@TRANSFORMS.register_module()
class CenterCropFrames(_CropFrames):
    """Centre ``size x size`` crop (testing)."""

    def _offset(self, h, w):
        return (h - self.size) // 2, (w - self.size) // 2


@TRANSFORMS.register_module()
class RandomFlipFrames(BaseTransform):
    """Horizontal flip of the whole window with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = float(prob)

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            results['imgs'] = results['imgs'][:, :, ::-1]
        return results


@TRANSFORMS.register_module()
class NormalizeFrames(BaseTransform):
    """``(imgs - mean) / std`` per RGB channel -> float32 (AFSD: pixels to [-1, 1], i.e.
    ``mean=std=127.5``)."""

    def __init__(self, mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5)) -> None:
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('NormalizeFrames: mean and std need 3 values (RGB)')
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def transform(self, results: dict) -> dict:
        results['imgs'] = (results['imgs'].astype(np.float32) - self.mean) / self.std
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mean={self.mean.tolist()}, std={self.std.tolist()})'


@TRANSFORMS.register_module()
class PackTADFrames(PackTADInputs):
    """Pack ``imgs [T, H, W, 3]`` into ``inputs`` float32 ``[3, T, H, W]`` and a
    ``TADDataSample`` (ground truth in window frame coordinates, as ``PackTADInputs``)."""

    def pack_inputs(self, results: dict) -> torch.Tensor:
        imgs = np.asarray(results['imgs'], dtype=np.float32)
        return torch.from_numpy(np.ascontiguousarray(imgs.transpose(3, 0, 1, 2)))
