# G-TAD (Xu et al., CVPR 2020) with the paper's hyper-parameters: input k3 conv (256, 4 groups)
# + one GCNeXt block (k = 3 semantic neighbours, cardinality 32, width 4 per group), TEM on it;
# detection head: one more GCNeXt block, SGAlign of every (start, duration) cell (authors'
# goi_style=1: over the cell extended by half its length on each side, 16 bins of the features
# + 16 bins of their semantic context = features averaged over the k = 3 nearest snippets in
# feature space; align=dict(type='ProposalAlign1d', inner_bins=16, context_bins=16,
# context_ratio=0.5, _delete_=True) is the former plain alignment), 512 -> 128 -> 2 x 3x3 ->
# 2 maps; BMN's targets and losses (TEM + 10 * reg + cls). THUMOS14 windows of 128 snippets
# with proposals up to 64 snippets; class labels from a snippet classification head.
num_classes = 20
feat_channels = 256
max_duration = 64
model = dict(
    type='GTAD',
    encoder=dict(type='GCNeXtEncoder', in_channels=2048, feat_channels=feat_channels,
                 num_blocks=1, in_groups=4, k=3, groups=32, width_per_group=4),
    proposal_head=dict(
        type='GTADHead', in_channels=feat_channels, max_duration=max_duration,
        tem_head=dict(type='TEMHead', in_channels=feat_channels, feat_channels=feat_channels,
                      num_convs=1, groups=4, region_width=3.0,
                      loss=dict(type='BalancedBCELoss', pos_thr=0.5)),
        num_blocks=1, k=3, groups=32, width_per_group=4, align_channels=feat_channels,
        align=dict(type='SGAlign1d', temporal_bins=16, semantic_bins=16, context_ratio=0.5, k=3),
        mid_channels=512, map_channels=128, num_map_convs=2,
        reg_high_thr=0.7, reg_low_thr=0.3,
        loss_cls=dict(type='BalancedBCELoss', pos_thr=0.9, loss_weight=1.0),
        loss_reg=dict(type='MSELoss', loss_weight=10.0)),
    cls_head=dict(type='SnippetClassificationHead', in_channels=feat_channels,
                  num_classes=num_classes, feat_channels=feat_channels, num_convs=1,
                  # 8 dilated residual layers: 61 snippets of context (issue 16)
                  num_dilated_layers=8),
    train_cfg=None,
    test_cfg=dict(
        sliding_window=dict(size=128, stride=64),
        window_batch_size=16,
        # BMN's boundary candidates (TEM peaks or > 0.5 x max), the best 1000 proposals,
        # then the best 2000 (proposal, class) candidates above 1e-4 per window
        peak_ratio=0.5,
        max_proposals=1000,
        pre_nms_topk=2000,
        score_thr=0.0001,
        # per-class Gaussian soft-NMS; top 200 per video (THUMOS14)
        nms=dict(method='gaussian', sigma=0.5, min_score=0.0001, max_seg_num=200,
                 multiclass=True),
        max_per_video=200))
