"""One segment, several labels: a dataset's declared label hierarchy.

``{child_class_name: parent_class_name}`` states that every child instance is also a parent
instance (THUMOS14: every CliffDiving instance is also annotated Diving on exactly the same
segment). The dataset resolves it to ``((child_idx, parent_idx), ...)`` which every sample's
metainfo carries (``label_hierarchy``): softmax heads train the child label where both annotate
one segment (``unpack_gt_instances(label_rule='specific')``) and the post-processing emits the
parent again (``test_cfg.implied_labels``).
"""
import warnings
from collections import Counter
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

Pairs = Tuple[Tuple[int, int], ...]


def label_ancestors(pairs: Iterable[Sequence[int]]) -> Dict[int, List[int]]:
    """``{child: [parent, grandparent, ...]}`` (transitive) from ``(child, parent)`` pairs."""
    parent = {int(c): int(p) for c, p in pairs}
    out: Dict[int, List[int]] = {}
    for child in parent:
        chain, node = [], child
        while node in parent and parent[node] != child and parent[node] not in chain:
            node = parent[node]
            chain.append(node)
        out[child] = chain
    return out


def resolve_label_hierarchy(hierarchy: Optional[Mapping[str, str]], classes: Sequence[str],
                            owner: str = 'dataset') -> Pairs:
    """``{child_name: parent_name}`` -> ``((child_idx, parent_idx), ...)`` over ``classes``;
    ``None`` / ``{}`` -> ``()``. Unknown names, a class its own parent and cycles are errors."""
    if not hierarchy:
        return ()
    if not isinstance(hierarchy, Mapping):
        raise ValueError(f'{owner} label_hierarchy must be a dict {{child_class: parent_class}}'
                         f', got {hierarchy!r}')
    index = {str(c): i for i, c in enumerate(classes)}
    pairs = []
    for child, parent in hierarchy.items():
        for name in (child, parent):
            if str(name) not in index:
                raise ValueError(
                    f'{owner} label_hierarchy: key {child!r} names class {name!r}, which is not '
                    f'in the class map ({len(index)} classes); fix the name, or set '
                    f'label_hierarchy=None for a class map without it.')
        if str(child) == str(parent):
            raise ValueError(f'{owner} label_hierarchy: class {child!r} is its own parent')
        pairs.append((index[str(child)], index[str(parent)]))
    parent = dict(pairs)
    for child in parent:
        node, seen = child, set()
        while node in parent:  # a cycle never ends at a root
            if node in seen:
                raise ValueError(f'{owner} label_hierarchy has a cycle through class '
                                 f'{classes[child]!r}')
            seen.add(node)
            node = parent[node]
    return tuple(pairs)


def warn_unrelated_labels(videos: Sequence[dict], classes: Sequence[str], pairs: Pairs,
                          where: str) -> Counter:
    """One warning listing, per label pair, how many segments carry both labels where the
    hierarchy relates neither to the other (a softmax head then trains only one of them).
    Returns the counts ``{(name_a, name_b): n}``."""
    ancestors = label_ancestors(pairs)
    counts: Counter = Counter()
    for video in videos:
        by_segment: Dict[tuple, set] = {}
        for seg, lab in zip(video['segments'].tolist(), video['labels'].tolist()):
            by_segment.setdefault(tuple(seg), set()).add(int(lab))
        for labels in by_segment.values():
            labels = sorted(labels)
            for i, a in enumerate(labels):
                for b in labels[i + 1:]:
                    if b in ancestors.get(a, ()) or a in ancestors.get(b, ()):
                        continue
                    counts[(classes[a], classes[b])] += 1
    if counts:
        listed = ', '.join(f'{a} + {b}: {n}' for (a, b), n in sorted(counts.items()))
        warnings.warn(f'{where}: segments with several labels that label_hierarchy does not '
                      f'relate ({listed}); softmax heads train only the first annotation of '
                      f'such a segment: declare label_hierarchy={{child: parent}} if one label '
                      f'implies the other.')
    return counts
