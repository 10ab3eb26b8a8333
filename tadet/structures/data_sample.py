"""Data sample passed between dataset, detector and metric."""
from mmengine.structures import BaseDataElement, InstanceData


class TADDataSample(BaseDataElement):
    """One window (training) or one video (testing).

    Metainfo keys set by the data pipeline (see ``PackTADInputs``): ``video_name``,
    ``duration`` (s), ``fps``, ``feature_stride``, ``offset_frames``, ``num_snippets`` (of the whole
    video), ``window_start`` (snippet index of input position 0), ``window_size`` (input length),
    ``valid_length`` (unpadded input length), ``snippet_scale`` (original snippets per input
    position, 1 unless features were resized), ``classes``.

    Fields:
        gt_instances (InstanceData): ``segments [N, 2]`` in input (window) snippet coordinates,
            ``labels [N]`` class indices.
        gt_seconds (InstanceData): the video's ground truth in seconds (testing), ``segments
            [M, 2]``, ``labels [M]``, used by the metric.
        pred_instances (InstanceData): detections in seconds: ``segments [K, 2]``,
            ``scores [K]``, ``labels [K]``.
    """

    @property
    def gt_instances(self) -> InstanceData:
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_gt_instances', dtype=InstanceData)

    @gt_instances.deleter
    def gt_instances(self) -> None:
        del self._gt_instances

    @property
    def gt_seconds(self) -> InstanceData:
        return self._gt_seconds

    @gt_seconds.setter
    def gt_seconds(self, value: InstanceData) -> None:
        self.set_field(value, '_gt_seconds', dtype=InstanceData)

    @gt_seconds.deleter
    def gt_seconds(self) -> None:
        del self._gt_seconds

    @property
    def pred_instances(self) -> InstanceData:
        return self._pred_instances

    @pred_instances.setter
    def pred_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_pred_instances', dtype=InstanceData)

    @pred_instances.deleter
    def pred_instances(self) -> None:
        del self._pred_instances
