"""tadet registries: children of mmaction2's, scope ``tadet``.

Names registered in mmaction2 (e.g. its I3D backbone ``mmaction.ResNet3d``) resolve through the
parent; ``locations`` make every tadet component importable on first lookup, so configs never
need manual imports.
"""
from mmaction.registry import DATA_SAMPLERS as MMA_DATA_SAMPLERS
from mmaction.registry import DATASETS as MMA_DATASETS
from mmaction.registry import EVALUATOR as MMA_EVALUATOR
from mmaction.registry import FUNCTION as MMA_FUNCTION
from mmaction.registry import HOOKS as MMA_HOOKS
from mmaction.registry import LOG_PROCESSORS as MMA_LOG_PROCESSORS
from mmaction.registry import LOOPS as MMA_LOOPS
from mmaction.registry import METRICS as MMA_METRICS
from mmaction.registry import MODEL_WRAPPERS as MMA_MODEL_WRAPPERS
from mmaction.registry import MODELS as MMA_MODELS
from mmaction.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMA_OPTIM_WRAPPER_CONSTRUCTORS
from mmaction.registry import OPTIM_WRAPPERS as MMA_OPTIM_WRAPPERS
from mmaction.registry import OPTIMIZERS as MMA_OPTIMIZERS
from mmaction.registry import PARAM_SCHEDULERS as MMA_PARAM_SCHEDULERS
from mmaction.registry import RUNNERS as MMA_RUNNERS
from mmaction.registry import TASK_UTILS as MMA_TASK_UTILS
from mmaction.registry import TRANSFORMS as MMA_TRANSFORMS
from mmaction.registry import VISBACKENDS as MMA_VISBACKENDS
from mmaction.registry import VISUALIZERS as MMA_VISUALIZERS
from mmaction.registry import WEIGHT_INITIALIZERS as MMA_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMA_RUNNERS, scope='tadet', locations=['tadet.engine'])
LOOPS = Registry('loop', parent=MMA_LOOPS, scope='tadet', locations=['tadet.engine'])
# mmengine builds the Runner's log_processor in the default scope; without a tadet child
# registry it warned 'Failed to search registry with scope "tadet" in the "log_processor"
# registry tree' on every start
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMA_LOG_PROCESSORS, scope='tadet', locations=['tadet.engine'])
HOOKS = Registry('hook', parent=MMA_HOOKS, scope='tadet', locations=['tadet.engine'])
DATASETS = Registry('dataset', parent=MMA_DATASETS, scope='tadet', locations=['tadet.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMA_DATA_SAMPLERS, scope='tadet', locations=['tadet.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMA_TRANSFORMS, scope='tadet', locations=['tadet.datasets.transforms'])
MODELS = Registry('model', parent=MMA_MODELS, scope='tadet', locations=['tadet.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMA_MODEL_WRAPPERS, scope='tadet', locations=['tadet.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMA_WEIGHT_INITIALIZERS, scope='tadet', locations=['tadet.models'])
OPTIMIZERS = Registry('optimizer', parent=MMA_OPTIMIZERS, scope='tadet', locations=['tadet.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMA_OPTIM_WRAPPERS, scope='tadet', locations=['tadet.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMA_OPTIM_WRAPPER_CONSTRUCTORS, scope='tadet',
    locations=['tadet.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMA_PARAM_SCHEDULERS, scope='tadet', locations=['tadet.engine'])
METRICS = Registry('metric', parent=MMA_METRICS, scope='tadet', locations=['tadet.evaluation'])
EVALUATOR = Registry(
    'evaluator', parent=MMA_EVALUATOR, scope='tadet', locations=['tadet.evaluation'])
TASK_UTILS = Registry(
    'task util', parent=MMA_TASK_UTILS, scope='tadet',
    locations=['tadet.models.task_modules', 'tadet.models.post_processing'])
VISUALIZERS = Registry(
    'visualizer', parent=MMA_VISUALIZERS, scope='tadet', locations=['tadet.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMA_VISBACKENDS, scope='tadet', locations=['tadet.visualization'])
FUNCTION = Registry('function', parent=MMA_FUNCTION, scope='tadet')
