# Copyright 2026 The zmnet_jax Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""What a training workdir holds, by name: its config beside the orbax checkpoints, and
the lock that keeps a second run out of it."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import errno
import fcntl
import json
import logging
import os
import socket

import ml_collections

from zmnet_jax import files

CONFIG_FILE = 'config.json'
CHECKPOINTS = 'checkpoints'
LOCK_FILE = '.lock'

log = logging.getLogger(__name__)


class WorkdirError(ValueError):
  """A workdir that this run must not use (locked, or holding another run); one line."""


def save_config(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Writes the config as JSON into the workdir (atomically); returns the path."""
  path = os.path.join(workdir, CONFIG_FILE)
  return files.write_json(path, json.loads(config.to_json_best_effort()))


def read_config(path: str) -> ml_collections.ConfigDict:
  """A config saved by `save_config` (raises OSError or ValueError)."""
  return ml_collections.ConfigDict(files.read_json(path))


def config_difference(saved: dict, new: dict, prefix: str = '') -> str | None:
  """The first field where two config dicts differ, as 'a.b: saved vs new', or None."""
  for key in sorted(set(saved) | set(new)):
    a, b = saved.get(key, '<absent>'), new.get(key, '<absent>')
    if isinstance(a, dict) and isinstance(b, dict):
      if found := config_difference(a, b, f'{prefix}{key}.'):
        return found
    elif a != b:
      return f'{prefix}{key}: {_brief(a)} there, {_brief(b)} now'
  return None


def _brief(value) -> str:
  text = value if value == '<absent>' else json.dumps(value)
  return text if len(text) <= 40 else text[:37] + '...'


def check_fresh_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """For a run with no checkpoint to resume: WorkdirError when the workdir already holds
  a different config.json (another run's, which saving would silently replace)."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.lexists(path):
    return
  try:
    saved = files.read_json(path)
  except (OSError, ValueError) as e:
    raise WorkdirError(f'{path}: exists but is not a readable config ({e}); move it away') from e
  difference = config_difference(saved, json.loads(config.to_json_best_effort()))
  if difference:
    raise WorkdirError(
      f'{path}: belongs to another run (no checkpoint beside it) and differs from this '
      f'config ({difference}); use a new --workdir or move that file away'
    )


@contextlib.contextmanager
def locked(workdir: str) -> Iterator[None]:
  """Holds an advisory lock on the workdir for a run (creating the folder).

  A second run on the same workdir gets WorkdirError naming the holder's PID and host. The
  kernel drops the lock when its process dies, so a stale lock file never blocks. Where
  the file system has no locks (some network mounts) the run goes on with a warning. A
  workdir this run created and left holding only the lock (a run refused before it wrote
  anything) is removed: its retry finds the place as it was.
  """
  created = not os.path.isdir(workdir)
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, LOCK_FILE)
  with _lock_file(path, workdir):
    try:
      yield
    finally:
      if created and os.listdir(workdir) == [LOCK_FILE]:  # still locked: no run between
        os.remove(path)
        os.rmdir(workdir)


@contextlib.contextmanager
def _lock_file(path: str, workdir: str) -> Iterator[None]:
  """Holds the lock file `path` of `workdir` (see `locked`)."""
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.pread(fd, 200, 0).decode('utf-8', 'replace').strip() or 'unknown'
      raise WorkdirError(
        f'{workdir}: another run is using it ({holder}); wait for it, stop it, or train in '
        f'another --workdir'
      ) from None
    except OSError as e:
      if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
        raise
      log.warning('%s: this file system has no locks; nothing stops a second run here', path)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f'PID {os.getpid()} on {socket.gethostname()}\n'.encode(), 0)
    yield
  finally:
    os.close(fd)  # releases the lock
