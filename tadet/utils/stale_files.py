"""Removing the temporaries a killed run left behind.

tadet writes checkpoints and prediction files atomically: into a temporary file in the same
folder, renamed over the target when complete. A process killed with SIGKILL (or a machine that
loses power) leaves the temporary behind:

- checkpoints: ``NAME.tmp-PID`` (:func:`tadet.utils.compat.atomic_save_checkpoint`),
- JSON files (predictions, results): ``.NAME.PID.RANDOM.tmp``
  (:func:`tadet.evaluation.functional.write_json_atomic`); files of the older pattern
  ``.NAME.RANDOM.tmp`` (no PID) count as stale when untouched for an hour.

:func:`remove_stale_temporaries` removes those of processes that no longer run. It is called
when ``tools/train.py`` / ``tools/test.py`` start, on the work dir and on the folder of the
prediction file, before anything is written. The PID test is local: two machines writing into
one shared work dir at the same time are not supported anyway (one run per work dir).
"""
import os
import os.path as osp
import re
import time
from typing import Iterable, List, Optional

CKPT_TMP = re.compile(r'^(?P<name>.+)\.tmp-(?P<pid>\d+)$')
JSON_TMP = re.compile(r'^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$')
LEGACY_JSON_TMP = re.compile(r'^\.(?P<name>.+\.json)\.[A-Za-z0-9_]{8}\.tmp$')
LEGACY_MAX_AGE_S = 3600.0


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs on this machine (our own PID counts as alive)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return True
    return True


def stale_temporaries(folder: str, names: Optional[Iterable[str]] = None) -> List[str]:
    """Paths of the stale temporaries in ``folder`` (not recursive). With ``names``, only
    temporaries of those target file names count (e.g. the prediction file's basename)."""
    if not osp.isdir(folder):
        return []
    wanted = None if names is None else set(names)
    stale = []
    now = time.time()
    for entry in os.listdir(folder):
        path = osp.join(folder, entry)
        m = CKPT_TMP.match(entry) or JSON_TMP.match(entry)
        if m is not None:
            if wanted is not None and m.group('name') not in wanted:
                continue
            if not pid_alive(int(m.group('pid'))) and osp.isfile(path):
                stale.append(path)
            continue
        m = LEGACY_JSON_TMP.match(entry)
        if m is not None and (wanted is None or m.group('name') in wanted):
            try:
                if now - os.stat(path).st_mtime > LEGACY_MAX_AGE_S and osp.isfile(path):
                    stale.append(path)
            except OSError:
                pass
    return sorted(stale)


def remove_stale_temporaries(folder: str, names: Optional[Iterable[str]] = None,
                             logger=None) -> List[str]:
    """Remove :func:`stale_temporaries`; return what was removed (one log line if any)."""
    removed = []
    for path in stale_temporaries(folder, names):
        try:
            size = os.path.getsize(path)
            os.remove(path)
        except FileNotFoundError:  # another process removed it first
            continue
        removed.append(path)
        msg = (f'removed {path} ({size / 1e6:.1f} MB), a temporary file left by a killed '
               f'process')
        if logger is not None:
            logger.info(msg)
        else:
            print(msg, flush=True)
    return removed
