"""The version fixes in tadet.utils.compat."""
import pytest
import torch

import tadet  # noqa: F401  (applies the fixes)
from tadet.utils.compat import CheckpointError, load_checkpoint_file


def test_import_mmaction_models_works():
    import mmaction.models  # noqa: F401  (fails on the 1.2.0 wheel without the fix)
    from mmaction.models import ResNet3d
    assert ResNet3d.__name__ == 'ResNet3d'


def test_mmaction_backbone_resolves_through_tadet_registry():
    from tadet.registry import MODELS
    net = MODELS.build(dict(type='mmaction.ResNet3d', depth=18, pretrained=None,
                            pretrained2d=False, in_channels=3, base_channels=8,
                            num_stages=1, out_indices=(0,), stage_blocks=(1,),
                            spatial_strides=(1,), temporal_strides=(1,), dilations=(1,),
                            conv1_kernel=(1, 3, 3), inflate=(0,)))
    out = net(torch.zeros(1, 3, 2, 16, 16))
    assert out.shape[1] == 8


def test_checkpoint_with_objects_loads(tmp_path):
    # torch >= 2.6 refuses arbitrary objects with weights_only=True; mmengine checkpoints hold
    # such objects (message hub, numpy scalars)
    import numpy as np
    path = tmp_path / 'ckpt.pth'
    torch.save({'meta': {'seed': np.int64(3), 'arr': np.zeros(2)}, 'state_dict': {}}, path)
    from mmengine.runner.checkpoint import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert int(ckpt['meta']['seed']) == 3


def test_corrupt_checkpoint_clear_error(tmp_path):
    path = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or not a PyTorch checkpoint'):
        load_checkpoint_file(str(path))
    with pytest.raises(FileNotFoundError, match='Checkpoint not found'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_collect_env_reports_ops(capsys):
    from tadet.utils.collect_env import collect_env, main
    env = collect_env()
    assert 'tadet ops' in env and 'mmaction2' in env
    main()
    assert 'tadet ops' in capsys.readouterr().out
