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

"""Writing files safely: a reader never sees half of one (write a temporary, then rename),
an output never replaces an input, and an unwritable output is found before any work."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import contextlib
import fcntl
import json
import os
from pathlib import Path
import re
import shutil
import tempfile
import time
from typing import Any


class OutputError(ValueError):
  """An output path that must not or cannot be written; the message is one line."""


@contextlib.contextmanager
def naming_output(path: str | os.PathLike, temporary: str | None = None) -> Iterator[None]:
  """Re-raises an OSError inside as one that names the user's `path`: the disk-full
  error of a write names no file, and one about the hidden `temporary` (a file, or a
  folder and what is in it) would name a path the user never gave."""
  try:
    yield
  except OSError as e:
    named = str(e.filename) if e.filename else ''
    if named and not (temporary and named.startswith(temporary)):
      raise
    if temporary and named.startswith(temporary + os.sep):
      path = os.path.join(path, os.path.relpath(named, temporary))
    raise OSError(e.errno, e.strerror or str(e), str(path)) from e


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
  """Yields a temporary path beside `path` (same suffix); renamed onto it on success.

  On an exception the temporary is removed and `path` is left as it was. The file gets
  the usual permissions (0o644), not mkstemp's 0o600. An OSError names `path`.
  """
  path = Path(path)
  with naming_output(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = temporary_affixes(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    os.close(fd)
  try:
    with naming_output(path, tmp):
      yield tmp
      os.chmod(tmp, 0o644)
      os.replace(tmp, path)
  except BaseException:
    Path(tmp).unlink(missing_ok=True)
    raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, overwrite: bool = False) -> Iterator[str]:
  """Yields a hidden temporary folder beside the folder `path`; it takes `path`'s place
  on success (an existing `path`, with `overwrite`, is replaced only then).

  On an exception the temporary is removed and `path` is left as it was. The folder gets
  the umask's permissions, not mkdtemp's 0o700; an OSError names `path` (or the file in
  it), never the temporary.
  """
  path = os.path.abspath(path)
  parent, name = os.path.split(path)
  with naming_output(path):
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{name}.', suffix='.tmp', dir=parent)
    os.chmod(staging, 0o777 & ~current_umask())
  try:
    with naming_output(path, staging):
      yield staging
      replace_folder(staging, path, overwrite)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise


def replace_folder(new: str, path: str, overwrite: bool) -> None:
  """Moves the folder `new` to `path`; an existing `path` (with `overwrite`) is first
  moved aside under a unique hidden name, then removed."""
  if not os.path.lexists(path):
    os.replace(new, path)
    return
  if not overwrite:
    raise OutputError(f'{path}: exists; --overwrite replaces it')
  parent, name = os.path.split(path)
  aside = tempfile.mkdtemp(prefix=f'.{name}.', suffix='.old', dir=parent)
  os.replace(path, aside)  # onto the empty folder mkdtemp made
  os.replace(new, path)
  shutil.rmtree(aside, ignore_errors=True)


def current_umask() -> int:
  mask = os.umask(0o022)
  os.umask(mask)
  return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> str:
  """Writes `data` to `path` atomically; returns `path` as a string."""
  with atomic_path(path) as tmp, open(tmp, 'wb') as f:
    f.write(data)
  return str(path)


def write_plain(path: str | os.PathLike, data: bytes | str) -> None:
  """Writes `data` to `path` in place: for the files of a folder that is itself written
  under a temporary name (`atomic_folder`)."""
  with open(path, 'wb') as f:
    f.write(data.encode('utf-8') if isinstance(data, str) else data)


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> str:
  """Writes `obj` as JSON to `path` atomically."""
  return write_bytes(path, (json.dumps(obj, indent=indent) + '\n').encode('utf-8'))


def read_json(path: str | os.PathLike) -> Any:
  """The JSON value in a file (OSError, ValueError)."""
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def safe_name(text: str, limit: int = 80) -> str:
  """Text as a file-name stem: '0.5 morning + 0.5 night' -> '0.5_morning_+_0.5_night'."""
  slug = '_'.join(text.split())
  return ''.join(c if c.isalnum() or c in '._+-' else '-' for c in slug)[:limit]


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
  """Whether two paths name one file (links and `..` resolved; hard links too)."""
  if os.path.realpath(a) == os.path.realpath(b):
    return True
  try:
    return os.path.samefile(a, b)
  except OSError:
    return False


def check_not_input(output: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> None:
  """OutputError when `output` is one of the `inputs` (it would destroy it)."""
  for path in inputs:
    if path and same_file(output, path):
      alias = '' if os.path.abspath(output) == os.path.abspath(path) else f' ({path})'
      raise OutputError(f'{output}: is an input{alias}; choose another output path')


def check_writable(path: str | os.PathLike, folder: bool = False) -> None:
  """OutputError unless `path` (a file, or a folder with `folder`) could be written: its
  nearest existing ancestor is a writable folder, and `path` is not a folder (or a file)
  in the way. Creates nothing."""
  path = os.path.abspath(path)
  if os.path.isdir(path) != folder and os.path.lexists(path):
    kind = 'a folder' if os.path.isdir(path) else 'a file'
    raise OutputError(f'{path}: is {kind}; expected {"a folder" if folder else "a file"} path')
  existing = path if folder and os.path.isdir(path) else os.path.dirname(path)
  while not os.path.lexists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise OutputError(f'{path}: cannot be created, {existing} is a file')
  if not os.access(existing, os.W_OK | os.X_OK):
    raise OutputError(f'{path}: cannot be written, {existing} is not writable')


def check_new_file(
  path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), overwrite: bool = False
) -> None:
  """All the checks for one output file, before any work: not an input, not existing
  (unless `overwrite`), writable."""
  check_not_input(path, inputs)
  if os.path.lexists(path) and not os.path.isdir(path) and not overwrite:
    raise OutputError(f'{path}: exists; --overwrite replaces it')
  check_writable(path)


STALE_SECONDS = 10.0  # untouched this long and unlocked: no run writes it


def temporary_affixes(path: Path) -> tuple[str, str]:
  """(prefix, suffix) of the temporaries `atomic_path` makes beside `path`."""
  return f'.{path.stem}.', f'.tmp{path.suffix}'


@contextlib.contextmanager
def locked_file(path: str) -> Iterator[None]:
  """Holds an exclusive lock on the file `path` (the kernel drops it when the process dies,
  however it dies), telling `remove_stale_temporaries` of other runs that it is in use."""
  with open(path, 'rb') as f:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    yield


def remove_stale_temporaries(out: str) -> tuple[list[str], list[str]]:
  """(removed, kept): the temporaries of `out` that earlier runs, killed, left beside it.

  One is removed when unlocked (no running process holds it, see `locked_file`) and untouched
  for STALE_SECONDS; one untouched for less is kept (a run starting this instant), and
  one that is locked is left alone (a run writing it now).
  """
  out_path = Path(out)
  prefix, suffix = temporary_affixes(out_path)
  pattern = re.compile(re.escape(prefix) + '[a-z0-9_]{8}' + re.escape(suffix))  # mkstemp's 8
  try:
    names = sorted(n for n in os.listdir(out_path.parent) if pattern.fullmatch(n))
  except OSError:
    return [], []
  now, removed, kept = time.time(), [], []
  for name in names:
    path = str(out_path.parent / name)
    try:
      with open(path, 'rb') as f:
        try:
          fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # locked: a live run writes it
          continue
        if now - os.fstat(f.fileno()).st_mtime < STALE_SECONDS:
          kept.append(path)
          continue
        os.unlink(path)  # under the lock: no run can take it meanwhile
        removed.append(path)
    except OSError:
      continue
  return removed, kept
