"""tools/infer.py writes the results format tools/evaluate.py, plot_timeline.py and
diagnose_detections.py read (issue 17)."""
import importlib.util
import json
import os.path as osp
import sys

from tadet_testing import REPO, tiny_config_text

sys.path.insert(0, osp.join(REPO, 'tools'))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
import infer as infer_tool  # noqa: E402
import plot_timeline  # noqa: E402
import train as train_tool  # noqa: E402


def _evaluate_tool():
    spec = importlib.util.spec_from_file_location('tadet_tools_evaluate_infer',
                                                  osp.join(REPO, 'tools', 'evaluate.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_infer_output_is_read_by_evaluate_and_plot_timeline(tmp_path, tiny_data,
                                                             custom_module_dir, capsys):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(tiny_config_text(tiny_data, epochs=1))
    work = tmp_path / 'w'
    assert train_tool.main([str(cfg), '--work-dir', str(work)]) == 0
    feat = osp.join(tiny_data['feature_root'], 'test_video_1.npy')
    out = tmp_path / 'infer.json'
    assert infer_tool.main([str(cfg), str(work / 'epoch_1.pth'), feat, '--out', str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res['results']) == {'test_video_1'} and res['results']['test_video_1']
    assert res['external_data'] == {} and res['version']
    capsys.readouterr()

    evaluate = _evaluate_tool()
    result = tmp_path / 'eval.json'
    assert evaluate.main([str(out), '--ann', tiny_data['ann_file'], '--subset', 'test',
                          '--classes', tiny_data['classes'], '--out', str(result)]) == 0
    assert json.loads(result.read_text())['num_predictions'] == len(
        res['results']['test_video_1'])
    png = tmp_path / 'timeline.png'
    assert plot_timeline.main([str(out), '--ann', tiny_data['ann_file'], '--subset', 'test',
                               '--video', 'test_video_1', '--out', str(png)]) == 0
    assert png.is_file()
