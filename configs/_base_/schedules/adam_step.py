# Adam with a step decay (A2Net style: 40 epochs, x0.1 at 30).
max_epochs = 40
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
                     clip_grad=None)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30], gamma=0.1)]
auto_scale_lr = dict(enable=False, base_batch_size=16)
