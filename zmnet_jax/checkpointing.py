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

"""orbax CheckpointManager: train state + data-iterator state; resume, or read params alone."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import dataclasses
import errno
import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile

import jax
import orbax.checkpoint as ocp

from zmnet_jax import files

# Written into each step's folder once orbax has finished it: {relative path: sha256}.
CHECKSUMS_FILE = 'zmnet_checksums.json'

log = logging.getLogger(__name__)


class CheckpointMismatch(ValueError):
  """A checkpoint whose arrays do not have the shapes the config gives; one line."""


class CheckpointUnreadable(ValueError):
  """A checkpoint that orbax cannot read (damaged or incomplete files); one line."""


class CheckpointCorrupt(CheckpointUnreadable):
  """A checkpoint whose files do not match the checksums written with it; one line."""


class CheckpointUnwritable(ValueError):
  """A step that cannot be saved (read-only folder, full disk); one line that names the
  folder, what the step needed, and the earlier checkpoint left intact."""


# Room a step needs beyond its arrays' bytes: orbax's metadata and the OCDBT index.
SAVE_OVERHEAD_BYTES = 1 << 20


def file_digests(folder: str) -> dict[str, str]:
  """{path relative to `folder`: sha256} of every file below it but the checksums file."""
  digests = {}
  for root, _, names in os.walk(folder):
    for name in sorted(names):
      path = os.path.join(root, name)
      relative = os.path.relpath(path, folder)
      if relative != CHECKSUMS_FILE:
        with open(path, 'rb') as f:
          digests[relative] = hashlib.file_digest(f, 'sha256').hexdigest()
  return digests


def step_folders(directory: str) -> list[int]:
  """The steps saved in a checkpoints folder (its integer-named subfolders), sorted."""
  if not os.path.isdir(directory):
    return []
  return sorted(int(n) for n in os.listdir(directory) if n.isdigit())


def first_difference(expected: dict[str, str], actual: dict[str, str]) -> str | None:
  """How a step's files differ from its checksums (None when they match)."""
  for name, digest in sorted(expected.items()):
    if name not in actual:
      return f'{name} is missing'
    if actual[name] != digest:
      return f'{name} does not match its checksum'
  extra = sorted(set(actual) - set(expected))
  return f'{extra[0]} was not written with it' if extra else None


def save_failure_reason(error: Exception) -> str:
  """What stopped a save, in words: an OSError's own, or the OS error TensorStore names."""
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  code = re.search(r"os_error_code='(\d+)'", str(error))
  return os.strerror(int(code.group(1))) if code else error_reason(error)


def error_reason(error: Exception) -> str:
  """The first line of an orbax/TensorStore error, without its long appendices."""
  text = str(error).strip()
  if not text:
    return type(error).__name__
  line = text.splitlines()[0]
  for appendix in (' See full TensorStore details', ' Truncating/padding'):
    line = line.split(appendix)[0]
  return line[:300]


def filter_closed_loop_echoes() -> Callable[[], None]:
  """Hides TensorStore's echoes of an aborted orbax operation.

  When one read or write fails, orbax closes its event loop while TensorStore still
  finishes the others; each then reports `RuntimeError('Event loop is closed')` through
  `sys.unraisablehook`: tracebacks on stderr around the real error. Returns the function
  that removes the filter.
  """
  previous = sys.unraisablehook

  def hook(unraisable):
    error = unraisable.exc_value
    if not (isinstance(error, RuntimeError) and str(error) == 'Event loop is closed'):
      previous(unraisable)

  sys.unraisablehook = hook

  def remove():
    if sys.unraisablehook is hook:
      sys.unraisablehook = previous

  return remove


@contextlib.contextmanager
def quiet_aborted_reads():
  """Silences the echoes of a failed restore, and only those. The filter stays after a
  failure (the echoes can come later) and is removed after a success."""
  remove = filter_closed_loop_echoes()
  yield
  remove()


class OrbaxFailureFilter(logging.Filter):
  """Drops the reports of a failed save: an ERROR with a traceback from each of orbax's
  worker threads, and asyncio's 'Task exception was never retrieved' for each of its
  writes at exit (hundreds of lines on a full disk). The Checkpointer raises the failure
  as one line instead; other records pass."""

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno < logging.ERROR:
      return True
    return f'{os.sep}orbax{os.sep}' not in f'{record.pathname} {record.getMessage()}'


def silence_save_failures() -> Callable[[], None]:
  """Hides the echoes of a failed save (orbax's records through absl and asyncio,
  TensorStore's closed-loop echoes) for a Checkpointer's life, and after a failure to
  the end of the process: they come from background threads and at exit. Returns the
  function that removes the filters."""
  loggers = [logging.getLogger(name) for name in ('absl', 'asyncio')]
  record_filter = OrbaxFailureFilter()
  for logger in loggers:
    logger.addFilter(record_filter)
  remove_echoes = filter_closed_loop_echoes()

  def remove():
    for logger in loggers:
      logger.removeFilter(record_filter)
    remove_echoes()

  return remove


def array_shapes(tree) -> dict[str, tuple[int, ...]]:
  """{'params/transformer/conv1/conv/kernel': shape, ...} of a state or its metadata."""

  def name(key):
    for attr in ('key', 'name', 'idx'):
      if hasattr(key, attr):
        return str(getattr(key, attr))
    return str(key)

  return {
    '/'.join(name(k) for k in path): tuple(leaf.shape)
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
  }


def check_shapes(stored: dict, wanted: dict, step: int) -> None:
  """Raises CheckpointMismatch naming the first array that differs, and how many do.

  Only the parts of the checkpoint that `wanted` restores are compared (its top-level
  names): reading the params alone ignores the optimizer state, and a state without
  the old unused `rng` reads checkpoints that still hold one.
  """
  parts = {name.split('/')[0] for name in wanted}
  stored = {name: shape for name, shape in stored.items() if name.split('/')[0] in parts}
  problems = [
    f'step {step} has no {name}'
    if name not in stored
    else f'{name} is {list(stored[name])} in step {step} but {list(shape)} in the config'
    for name, shape in wanted.items()
    if stored.get(name) != shape
  ]
  problems += [
    f'step {step} has {name}, which the config does not'
    for name in sorted(set(stored) - set(wanted))
  ]
  if problems:
    more = f', and {len(problems) - 1} more arrays differ' if len(problems) > 1 else ''
    raise CheckpointMismatch(problems[0] + more)


def state_dict(state) -> dict:
  """A train state's fields as a dict, the form it is saved in."""
  return {field.name: getattr(state, field.name) for field in dataclasses.fields(state)}


class Checkpointer:
  """Saves every `every` steps (and when asked), keeps the last `keep`. The folder is
  made by the first save: a run refused before it leaves none."""

  def __init__(self, directory: str, every: int, keep: int):
    self.directory = os.path.abspath(directory)
    self.every = every
    self._manager = ocp.CheckpointManager(
      self.directory,
      options=ocp.CheckpointManagerOptions(
        max_to_keep=keep, create=False, cleanup_tmp_directories=True
      ),
      item_handlers={
        'state': ocp.PyTreeCheckpointHandler(),
        'data': ocp.JsonCheckpointHandler(),
        'run': ocp.JsonCheckpointHandler(),
      },
    )
    self.restored_run = {}  # the `run` dict of the step restore_latest read ({} if none)
    self._unsealed = []  # steps saved whose checksums are still to be written
    self._failed = False  # a save failed: nothing more is written or waited for
    self._needed = SAVE_OVERHEAD_BYTES  # bytes the last step saved needed (estimate)
    self._remove_filters = silence_save_failures()

  def should_save(self, step: int) -> bool:
    return bool(self.every) and step % self.every == 0

  def save(self, step: int, state, train_input, run: dict | None = None) -> None:
    """Saves the state, the input's position and `run` (facts a resume must keep, e.g.
    the fixed schedule length). CheckpointUnwritable when it cannot be saved: checked
    before orbax starts (a writable folder, room for the arrays), or orbax's failure."""
    data_state = train_input.get_state() if train_input is not None else {}
    self._seal()
    self._needed = SAVE_OVERHEAD_BYTES + sum(leaf.nbytes for leaf in jax.tree.leaves(state))
    self._check_room(step)
    try:
      self._manager.save(
        step,
        args=ocp.args.Composite(
          state=ocp.args.PyTreeSave(state_dict(state)),
          data=ocp.args.JsonSave(data_state),
          run=ocp.args.JsonSave(dict(run or {})),
        ),
        force=True,
      )
    except Exception as e:  # OSError, TensorStore's ValueError, ...
      raise self._unsaved(step, e) from e
    self._unsealed.append(step)

  def _check_room(self, step: int) -> None:
    """CheckpointUnwritable, before anything is written, when the folder cannot take a
    file or has less free space than the step's arrays need (orbax would fail in its
    worker threads, or wait for them for minutes)."""
    try:
      os.makedirs(self.directory, exist_ok=True)
      fd, probe = tempfile.mkstemp(dir=self.directory, prefix='.write-probe-')
      os.close(fd)
      os.remove(probe)
      free = shutil.disk_usage(self.directory).free
    except OSError as e:
      raise self._unsaved(step, e) from e
    if free < self._needed:
      raise self._unsaved(step, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

  def _unsaved(self, step: int, error: Exception) -> CheckpointUnwritable:
    """The one-line error for a step that could not be saved: the folder, the reason,
    the room it needed, the step left intact. Removes orbax's partial folder."""
    self._failed = True
    self._unsealed = []
    if jax.process_index() == 0:
      for partial in (f'{step}.orbax-checkpoint-tmp', str(step)):
        shutil.rmtree(os.path.join(self.directory, partial), ignore_errors=True)
    reason = save_failure_reason(error)
    if reason == os.strerror(errno.ENOSPC):
      with contextlib.suppress(OSError):
        free = shutil.disk_usage(self.directory).free
        reason += f': it needs ~{self._needed / 1e6:.1f} MB, {free / 1e6:.1f} MB are free'
    earlier = [s for s in step_folders(self.directory) if s < step]
    intact = f'step {max(earlier)} is intact' if earlier else 'no earlier step was saved'
    return CheckpointUnwritable(
      f'{self.directory}: step {step} could not be saved ({reason}); {intact}'
    )

  def _seal(self) -> None:
    """Waits for orbax to finish the steps saved, then writes their checksums."""
    if not self._unsealed:
      return
    try:
      self._manager.wait_until_finished()
    except Exception as e:  # the background save's failure
      raise self._unsaved(self._unsealed[-1], e) from e
    if jax.process_index() == 0:
      for step in self._unsealed:
        folder = os.path.join(self.directory, str(step))
        if os.path.isdir(folder):  # max_to_keep may have removed it already
          files.write_json(os.path.join(folder, CHECKSUMS_FILE), file_digests(folder))
    self._unsealed = []

  def verify(self, step: int) -> None:
    """CheckpointCorrupt when a step's files differ from the checksums written with them
    (a step saved before checksums existed, or cut off before they were written, passes)."""
    folder = os.path.join(self.directory, str(step))
    try:
      expected = files.read_json(os.path.join(folder, CHECKSUMS_FILE))
    except FileNotFoundError:
      log.info('%s: no checksums to verify (saved before they were written)', folder)
      return
    except (OSError, ValueError) as e:
      raise self._unreadable(step, e, CheckpointCorrupt) from e
    difference = first_difference(expected, file_digests(folder))
    if difference:
      raise self._unreadable(step, ValueError(f'damaged: {difference}'), CheckpointCorrupt)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def restore_latest(self, state, train_input=None):
    """Restores the latest step into `state`'s shardings (a state or its abstract shape);
    returns `state` itself when there is no checkpoint."""
    step = self._manager.latest_step()
    if step is None:
      return state
    self.verify(step)
    restored = self._restore(state_dict(state), step, with_data=True)
    if train_input is not None and restored['data']:
      train_input.set_state(restored['data'])
    self.restored_run = dict(restored.get('run') or {})
    return state.replace(**restored['state'])

  def restore_params(self, abstract_params, step: int | None = None):
    """(params, step): the params alone, on the default device; latest step by default."""
    step = self._manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'{self.directory}: no checkpoint found')
    self.verify(step)
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), abstract_params
    )
    return self._restore({'params': abstract}, step, with_data=False)['state']['params'], step

  def _restore(self, parts: dict, step: int, with_data: bool):
    """Restores the named parts of the state (e.g. {'params': ...}) of one step.

    Checks the shapes against the checkpoint's metadata first. Raises CheckpointMismatch
    before any array is read, or CheckpointUnreadable.
    """
    with quiet_aborted_reads():
      try:
        stored = array_shapes(self._manager.item_metadata(step)['state'])
      except Exception as e:  # many types for bad files
        raise self._unreadable(step, e) from e
      check_shapes(stored, array_shapes(parts), step)
      abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, parts)
      items = {
        'state': ocp.args.PyTreeRestore(
          item=abstract,
          restore_args=ocp.checkpoint_utils.construct_restore_args(abstract),
          partial_restore=True,
        )
      }
      if with_data:
        items['data'] = ocp.args.JsonRestore()
        if os.path.isdir(os.path.join(self.directory, str(step), 'run')):  # none before 2026-12
          items['run'] = ocp.args.JsonRestore()
      try:
        return self._manager.restore(step, args=ocp.args.Composite(**items))
      except Exception as e:  # many types for bad files
        raise self._unreadable(step, e) from e

  def _unreadable(
    self, step: int, error: Exception, kind: type = CheckpointUnreadable
  ) -> CheckpointUnreadable:
    folder = os.path.join(self.directory, str(step))
    earlier = [s for s in self._manager.all_steps() if s < step]
    advice = f'; move that folder away to use step {max(earlier)}' if earlier else ''
    return kind(f'{folder}: checkpoint cannot be read ({error_reason(error)}){advice}')

  def wait(self) -> None:
    self._seal()

  def close(self) -> None:
    """Finishes the saves under way; after a failed save, only lets go of orbax (its
    worker threads may still be waiting: the command's exit does not wait for them)."""
    if self._failed:
      return
    self._seal()
    self._manager.close()
    self._remove_filters()
