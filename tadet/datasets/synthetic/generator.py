"""Synthetic snippet features with realistic temporal-action structure (offline stand-in for
pre-extracted I3D/TSN features).

The generator writes one ``[T, C]`` float32 array per video of an ActivityNet-format annotation
file, with ``T = geometry.num_snippets(duration)``, so that every part of the toolbox (datasets,
models, evaluation) can be exercised end to end without the real features. The signal is
deliberately hard: classification is learnable but precise localisation (tIoU 0.7) is not
trivial, because boundaries are soft, blurred, jittered and sometimes missing, and the
background contains look-alike distractors.

Model (all directions are unit vectors in ``R^C``; "snippets" are continuous snippet
coordinates, snippet ``i`` covers ``[i, i + 1)`` and is sampled at its centre ``i + 0.5``; an
action ``[s, e]`` seconds spans ``[a, b] = geometry.seconds_to_snippets([s, e])``):

``x[i] = gain * (background[i] + actions[i] + transients[i] + distractors[i]) + white[i]``

* **Shared directions** (per ``seed`` and ``feat_dim``, see :func:`synthetic_prototypes`): one
  prototype per class, a start pattern, an end pattern and ``n_background`` background
  directions, all random Gaussian directions (so they are correlated as real features are).
* **Class evidence** (each annotated instance): direction ``normalize(P[c] + alpha * P[c2] +
  beta * u)`` with a random other class ``c2``, ``alpha ~ U(0, proto_mix)`` (prototype mixing),
  a random unit vector ``u`` and ``beta ~ instance_var * U(0.5, 1)`` (intra-class variation);
  amplitude ``class_amp * LogNormal(0, class_amp_jitter)``; temporal profile
  ``sigmoid((x - a) / r1) * sigmoid((b - x) / r2) * (1 + modulation * smooth_noise(x))`` with
  ramp widths ``r1, r2 ~ U(*ramp)`` snippets (capped at a quarter of the action length), so the
  evidence ramps up/down and crosses half height exactly at the (sub-snippet) boundary.
* **Start / end transients**: the start (end) pattern, plus ``0.4 *`` a random unit vector,
  with amplitude ``transient_amp * LogNormal(0, 0.3)``, as a Gaussian bump of width
  ``sigma ~ U(*transient_sigma)`` snippets centred at ``a (b) + N(0, transient_jitter)``; each is
  missing with probability ``transient_dropout``. Weaker and noisier than the class evidence.
* **Distractors** (outside annotated actions, 2-snippet margin): class-like bursts
  (``distractor_rate`` per 100 snippets; a class of the video with probability
  ``distractor_same_class``, else any class; length ``U(*distractor_len)`` snippets; amplitude
  ``class_amp * U(*distractor_amp)``; soft Gaussian-edged profile and no transients, except a
  start transient with probability ``distractor_partial`` = partial action evidence), and lone
  start or end transients (``fake_boundary_rate`` per 100 snippets).
* **Background**: a per-video scene offset (``scene_amp``) and a low-frequency drift
  (``drift_amp``, piecewise-linear between knots every ``drift_scale`` snippets) in the span of
  the background directions, plus ``context *`` the prototype of the video's most frequent
  class (scene context: background of a billiards video looks a bit like billiards).
* **Gain and noise**: a per-video gain ``LogNormal(0, video_gain)``, then i.i.d. Gaussian white
  noise of std ``noise`` in every dimension.

Everything is deterministic per ``(seed, video_name)``: the per-video generator is seeded with
``zlib.crc32(video_name)`` (never Python's salted ``hash``), so a video's features do not depend
on which other videos are generated or in which order.
"""
import zlib
from functools import lru_cache
from typing import Dict, Optional

import numpy as np

from tadet.structures.geometry import SnippetGeometry

GENERATOR_NAME = 'tadet.synthetic.v1'

#: Generator parameters (documented in the module docstring). ``noise`` may also be passed
#: directly; any other key can be overridden with ``params={...}``.
DEFAULT_PARAMS = dict(
    noise=1.0,
    class_amp=1.6,
    class_amp_jitter=0.35,
    proto_mix=0.35,
    instance_var=0.6,
    ramp=(0.4, 2.0),
    modulation=0.3,
    modulation_scale=6.0,
    transient_amp=1.0,
    transient_sigma=(0.6, 1.5),
    transient_jitter=0.6,
    transient_dropout=0.15,
    distractor_rate=0.6,
    distractor_same_class=0.7,
    distractor_len=(2.0, 15.0),
    distractor_amp=(0.35, 0.9),
    distractor_partial=0.3,
    fake_boundary_rate=0.5,
    n_background=8,
    scene_amp=1.0,
    drift_amp=0.8,
    drift_scale=40.0,
    context=0.35,
    video_gain=0.1,
)

_TAG = 2 ** 32  # keeps the shared-direction seed apart from per-video crc32 seeds


class SyntheticDataError(ValueError):
    """The output directory holds something other than what was asked for (or bad input)."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


@lru_cache(maxsize=32)
def _prototypes_cached(num_classes: int, feat_dim: int, seed: int, n_background: int):
    rng = np.random.default_rng([int(seed), _TAG, int(feat_dim)])
    # fixed-size draws first, so class k's prototype does not depend on num_classes
    start = _unit(rng.standard_normal(feat_dim))
    end = _unit(rng.standard_normal(feat_dim))
    background = _unit(rng.standard_normal((n_background, feat_dim)))
    classes = _unit(rng.standard_normal((num_classes, feat_dim)))
    out = dict(classes=classes, start=start, end=end, background=background)
    for v in out.values():
        v.setflags(write=False)
    return out


def synthetic_prototypes(num_classes: int, feat_dim: int = 64, seed: int = 0,
                         n_background: int = DEFAULT_PARAMS['n_background']
                         ) -> Dict[str, np.ndarray]:
    """Shared unit directions of the generator: ``classes [K, C]``, ``start [C]``, ``end [C]``,
    ``background [n_background, C]`` (read-only float64 arrays)."""
    return _prototypes_cached(int(num_classes), int(feat_dim), int(seed), int(n_background))


def _merge_params(noise: Optional[float], params: Optional[dict]) -> dict:
    out = dict(DEFAULT_PARAMS)
    if params:
        unknown = set(params) - set(DEFAULT_PARAMS)
        if unknown:
            raise ValueError(f'unknown synthetic generator parameter(s) {sorted(unknown)}; '
                             f'known: {sorted(DEFAULT_PARAMS)}')
        out.update(params)
    if noise is not None:
        out['noise'] = noise
    if not float(out['noise']) >= 0:
        raise ValueError(f'noise must be >= 0, got {out["noise"]}')
    for k, v in out.items():  # canonical JSON-friendly values (tuples -> lists, numbers -> float)
        out[k] = [float(x) for x in v] if isinstance(v, (list, tuple)) else (
            int(v) if k == 'n_background' else float(v))
    return out


def _video_seed(video_name: str) -> int:
    return zlib.crc32(str(video_name).encode('utf-8'))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _smooth_noise(rng: np.random.Generator, x: np.ndarray, scale: float) -> np.ndarray:
    """Unit-variance-ish noise, piecewise linear between knots every ``scale`` snippets."""
    if x.size == 0:
        return x.copy()
    x0 = x[0]
    n = int(np.ceil((x[-1] - x0) / scale)) + 2
    knots = rng.standard_normal(n)
    return np.interp(x, x0 + scale * np.arange(n), knots)


def _window(a: float, b: float, pad: float, T: int) -> slice:
    lo = max(int(np.floor(a - pad)), 0)
    hi = min(int(np.ceil(b + pad)) + 1, T)
    return slice(lo, max(lo, hi))


def synthesize_video_features(duration: float,
                              segments: np.ndarray,
                              labels: np.ndarray,
                              num_classes: int,
                              geometry: SnippetGeometry,
                              feat_dim: int = 64,
                              seed: int = 0,
                              noise: Optional[float] = None,
                              video_name: str = '',
                              params: Optional[dict] = None) -> np.ndarray:
    """Features ``float32 [T, feat_dim]`` (``T = geometry.num_snippets(duration)``) of one video.

    Args:
        duration: video length in seconds.
        segments: ``[N, 2]`` action boundaries in seconds.
        labels: ``[N]`` class indices in ``[0, num_classes)``.
        num_classes: number of classes (size of the prototype table).
        geometry: the snippet grid (:class:`SnippetGeometry`).
        feat_dim: feature channels ``C``.
        seed: dataset seed (shared directions and, with ``video_name``, the per-video RNG).
        noise: white-noise std (default ``DEFAULT_PARAMS['noise']``).
        video_name: name hashed (crc32) into the per-video RNG seed.
        params: overrides of :data:`DEFAULT_PARAMS` (see the module docstring).
    """
    if isinstance(geometry, dict):
        geometry = SnippetGeometry(**geometry)
    p = _merge_params(noise, params)
    segments = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(segments) != len(labels):
        raise ValueError(f'{len(segments)} segments but {len(labels)} labels')
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'labels must lie in [0, {num_classes}), got {labels.tolist()}')
    if int(feat_dim) < 1:
        raise ValueError(f'feat_dim must be >= 1, got {feat_dim}')
    feat_dim = int(feat_dim)
    T = geometry.num_snippets(float(duration))
    protos = synthetic_prototypes(num_classes, feat_dim, seed, p['n_background'])
    P, B = protos['classes'], protos['background']
    rng = np.random.default_rng([int(seed), _video_seed(video_name)])
    x = np.arange(T, dtype=np.float64) + 0.5  # snippet centres, continuous coordinates
    signal = np.zeros((T, feat_dim), dtype=np.float64)
    ab = np.asarray(geometry.seconds_to_snippets(segments), dtype=np.float64).reshape(-1, 2)

    # background: scene offset + low-frequency drift in the background span + class context
    nb = B.shape[0]
    scene = p['scene_amp'] * rng.standard_normal(nb) / np.sqrt(nb)
    n_knots = int(np.ceil(T / p['drift_scale'])) + 2
    knots = p['drift_amp'] * rng.standard_normal((n_knots, nb)) / np.sqrt(nb)
    kx = p['drift_scale'] * np.arange(n_knots) - rng.uniform(0, p['drift_scale'])
    drift = np.stack([np.interp(x, kx, knots[:, j]) for j in range(nb)], axis=1)
    signal += (drift + scene) @ B
    if len(labels):
        main = int(np.bincount(labels, minlength=num_classes).argmax())
        signal += p['context'] * P[main]

    def bump(dst_dir: np.ndarray, centre: float, sigma: float, amp: float) -> None:
        sl = _window(centre, centre, 4 * sigma + 1, T)
        prof = np.exp(-0.5 * ((x[sl] - centre) / sigma) ** 2)
        signal[sl] += (amp * prof)[:, None] * dst_dir

    def transient(pattern: np.ndarray, at: float) -> None:
        d = _unit(pattern + 0.4 * _unit(rng.standard_normal(feat_dim)))
        amp = p['transient_amp'] * rng.lognormal(0.0, 0.3)
        sigma = rng.uniform(*p['transient_sigma'])
        pos = at + rng.normal(0.0, p['transient_jitter'])
        if rng.random() >= p['transient_dropout']:
            bump(d, pos, sigma, amp)

    # class evidence + boundary transients of every annotated instance
    for (a, b), c in zip(ab, labels):
        c2 = int(rng.integers(num_classes))
        alpha = rng.uniform(0.0, p['proto_mix'])
        beta = p['instance_var'] * rng.uniform(0.5, 1.0)
        d = _unit(P[c] + alpha * P[c2] + beta * _unit(rng.standard_normal(feat_dim)))
        amp = p['class_amp'] * rng.lognormal(0.0, p['class_amp_jitter'])
        cap = max(0.15, (b - a) / 4.0)
        r1 = min(rng.uniform(*p['ramp']), cap)
        r2 = min(rng.uniform(*p['ramp']), cap)
        sl = _window(a, b, 6 * max(r1, r2) + 1, T)
        xs = x[sl]
        prof = _sigmoid((xs - a) / r1) * _sigmoid((b - xs) / r2)
        prof = prof * np.maximum(
            1.0 + p['modulation'] * _smooth_noise(rng, xs, p['modulation_scale']), 0.0)
        signal[sl] += (amp * prof)[:, None] * d
        transient(protos['start'], a)
        transient(protos['end'], b)

    # distractors outside the annotated actions (2-snippet margin)
    busy = np.concatenate([ab[:, :1] - 2.0, ab[:, 1:] + 2.0], axis=1)

    def free_spot(length: float) -> Optional[float]:
        for _ in range(20):
            s = rng.uniform(0.0, max(T - length, 0.0))
            if not np.any((busy[:, 0] < s + length) & (busy[:, 1] > s)):
                return s
        return None

    n_burst = rng.poisson(p['distractor_rate'] * T / 100.0)
    for _ in range(n_burst):
        length = rng.uniform(*p['distractor_len'])
        s = free_spot(length)
        if s is None:
            continue
        if len(labels) and rng.random() < p['distractor_same_class']:
            c = int(rng.choice(labels))
        else:
            c = int(rng.integers(num_classes))
        d = _unit(P[c] + p['instance_var'] * rng.uniform(0.5, 1.0)
                  * _unit(rng.standard_normal(feat_dim)))
        amp = p['class_amp'] * rng.uniform(*p['distractor_amp'])
        edge = max(0.5, length / 4.0)
        sl = _window(s, s + length, 3 * edge + 1, T)
        xs = x[sl]
        # Gaussian-edged plateau: no sharp onset/offset to hang a boundary on
        prof = np.exp(-0.5 * (np.maximum(np.maximum(s + edge - xs, xs - (s + length - edge)),
                                         0.0) / edge) ** 2)
        signal[sl] += (amp * prof)[:, None] * d
        if rng.random() < p['distractor_partial']:
            transient(protos['start'], s)

    n_fake = rng.poisson(p['fake_boundary_rate'] * T / 100.0)
    for _ in range(n_fake):
        s = free_spot(1.0)
        if s is not None:
            transient(protos['start'] if rng.random() < 0.5 else protos['end'], s + 0.5)

    gain = rng.lognormal(0.0, p['video_gain'])
    out = (gain * signal).astype(np.float32)
    if p['noise'] > 0:
        out += np.float32(p['noise']) * rng.standard_normal((T, feat_dim), dtype=np.float32)
    return out

