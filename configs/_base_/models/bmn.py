# BMN (Lin et al., ICCV 2019) with the paper's hyper-parameters: base module 2 x (k3 conv, 256
# channels, 4 groups), TEM one k3 grouped conv per branch, BM layer with 32 bins x 3 points and
# 0.5 context on each side, 3D conv to 512, 2D convs 128; losses TEM + 10 * pem_reg + pem_cls.
# THUMOS14 windows of 128 snippets with proposals up to 64 snippets; class labels from a
# per-snippet classification head (k3 conv + 8 dilated residual layers; normalized mean
# probabilities inside each proposal).
num_classes = 20
feat_channels = 256
max_duration = 64
model = dict(
    type='BMN',
    encoder=dict(type='BMNEncoder', in_channels=2048, feat_channels=feat_channels,
                 num_convs=2, groups=4),
    proposal_head=dict(
        type='BMHead', in_channels=feat_channels, max_duration=max_duration,
        tem_head=dict(type='TEMHead', in_channels=feat_channels, feat_channels=feat_channels,
                      num_convs=1, groups=4, region_width=3.0,
                      loss=dict(type='BalancedBCELoss', pos_thr=0.5)),
        feat_channels=feat_channels, num_samples=32, num_samples_per_bin=3,
        prop_boundary_ratio=0.5, bm_channels=512, map_channels=128, num_map_convs=2,
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
