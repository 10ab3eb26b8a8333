"""Frames dataset + frame transforms + frames data preprocessor on tiny synthetic clips."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from tadet.datasets import FramesDataset
from tadet.models.backbones import TADFramesDataPreprocessor

FPS = 10.0


def make_frames_dataset(root, num_frames=(24, 20), size=32, seed=0):
    """One folder of jpgs per video (``img_00001.jpg`` ...) at 10 fps + ActivityNet json."""
    rng = np.random.default_rng(seed)
    database = {}
    for i, n in enumerate(num_frames):
        name = f'video_{i}'
        folder = osp.join(root, 'frames', name)
        os.makedirs(folder, exist_ok=True)
        for f in range(n):
            img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            if 4 <= f < 12:  # the action: bright frames
                img[:] = 200
            img[0, 0] = (f * 10) % 256  # frame index marker (red channel after BGR->RGB swap)
            cv2.imwrite(osp.join(folder, f'img_{f + 1:05d}.jpg'), img[:, :, ::-1],
                        [cv2.IMWRITE_JPEG_QUALITY, 100])
        database[name] = dict(subset='train' if i == 0 else 'test', duration=n / FPS,
                              annotations=[dict(segment=[0.4, 1.2], label='jump')])
    ann = osp.join(root, 'ann.json')
    with open(ann, 'w') as f:
        json.dump(dict(database=database), f)
    return ann, osp.join(root, 'frames')


def pipeline(train=True, crop=24):
    crop_t = dict(type='RandomCropFrames' if train else 'CenterCropFrames', size=crop)
    return [dict(type='LoadFrameWindow'), crop_t, dict(type='NormalizeFrames'),
            dict(type='PackTADFrames')]


def test_frames_dataset_windows_and_packing(tmp_path):
    ann, frames = make_frames_dataset(str(tmp_path))
    ds = FramesDataset(ann, frames, subset='train', fps=FPS,
                       window=dict(size=16, stride=8, min_gt_coverage=0.5), pipeline=pipeline())
    assert len(ds) == 2  # windows at 0 and 8 of 24 frames, both hold >= 50 % of the action
    item = ds[0]
    assert item['inputs'].shape == (3, 16, 24, 24)
    assert item['inputs'].dtype == torch.float32 and item['inputs'].abs().max() <= 1.0 + 1e-6
    gt = item['data_samples'].gt_instances
    assert torch.allclose(gt.segments, torch.tensor([[4.5, 12.5]]))  # t * fps + 0.5
    meta = item['data_samples'].metainfo
    assert meta['fps'] == FPS and meta['window_start'] == 0 and meta['num_snippets'] == 24
    second = ds[1]
    assert torch.allclose(second['data_samples'].gt_instances.segments, torch.tensor([[0., 4.5]]))
    # the second window starts at frame 8: bright frames 8..11 first, then dark ones
    x = second['inputs']
    assert x[:, :4].mean() > 0.4 and x[:, 5:].mean() < 0.0


def test_frames_test_mode_and_padding(tmp_path):
    ann, frames = make_frames_dataset(str(tmp_path))
    ds = FramesDataset(ann, frames, subset='test', fps=FPS, test_mode=True,
                       pipeline=pipeline(train=False))
    item = ds[0]
    assert item['inputs'].shape == (3, 20, 24, 24)
    assert item['data_samples'].metainfo['valid_length'] == 20
    with pytest.raises(ValueError, match='window'):
        FramesDataset(ann, frames, subset='test', test_mode=True, window=dict(size=8))
    with pytest.raises(ValueError, match='bogus'):
        FramesDataset(ann, frames, subset='train', window=dict(size=8, bogus=1))
    # padding of a short last window + the preprocessor's masks
    ds = FramesDataset(ann, frames, subset='test', fps=FPS, window=dict(size=16, stride=16),
                       pipeline=pipeline())
    items = [ds[i] for i in range(len(ds))]
    last = items[-1]
    assert last['inputs'].shape[1] == 16
    pre = TADFramesDataPreprocessor(pad_to_multiple=8)
    batch = pre(dict(inputs=[it['inputs'] for it in items],
                     data_samples=[it['data_samples'] for it in items]))
    assert batch['inputs'].shape == (len(items), 3, 16, 24, 24)
    valid = [int(it['data_samples'].metainfo['valid_length']) for it in items]
    assert batch['masks'].sum(1).tolist() == valid


def test_source_fps_resampling(tmp_path):
    ann, frames = make_frames_dataset(str(tmp_path))
    # frames stored at 20 fps read at 10 fps: every other frame
    ds = FramesDataset(ann, frames, subset='train', fps=5.0, source_fps=10.0,
                       window=dict(size=4, stride=4, min_gt_coverage=0.0), test_mode=False,
                       pipeline=[dict(type='LoadFrameWindow')])
    item = ds.get_data_info(0)
    out = ds.pipeline(dict(item))
    marks = out['imgs'][:, 0, 0, 0].astype(int)
    assert np.allclose(marks, [0, 20, 40, 60], atol=6)


def test_video_source(tmp_path):
    path = osp.join(str(tmp_path), 'videos')
    os.makedirs(path)
    writer = cv2.VideoWriter(osp.join(path, 'clip.avi'), cv2.VideoWriter_fourcc(*'MJPG'), 10.0,
                             (32, 32))
    for f in range(12):
        writer.write(np.full((32, 32, 3), 20 * f, np.uint8))
    writer.release()
    ann = osp.join(str(tmp_path), 'ann.json')
    with open(ann, 'w') as f:
        json.dump(dict(database=dict(clip=dict(subset='test', duration=1.2, annotations=[
            dict(segment=[0.2, 0.6], label='a')]))), f)
    ds = FramesDataset(ann, path, subset='test', source='video', video_suffix='.avi',
                       test_mode=True, pipeline=pipeline(train=False, crop=16))
    item = ds[0]
    assert item['inputs'].shape == (3, 12, 16, 16)
