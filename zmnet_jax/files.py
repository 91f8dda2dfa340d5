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
import json
import os
from pathlib import Path
import tempfile
from typing import Any


class OutputError(ValueError):
  """An output path that must not or cannot be written; the message is one line."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
  """Yields a temporary path beside `path` (same suffix); renamed onto it on success.

  On an exception the temporary is removed and `path` is left as it was. The file gets
  the usual permissions (0o644), not mkstemp's 0o600.
  """
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.stem}.', suffix=f'.tmp{path.suffix}')
  os.close(fd)
  try:
    yield tmp
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
  except BaseException:
    Path(tmp).unlink(missing_ok=True)
    raise


def write_bytes(path: str | os.PathLike, data: bytes) -> str:
  """Writes `data` to `path` atomically; returns `path` as a string."""
  with atomic_path(path) as tmp, open(tmp, 'wb') as f:
    f.write(data)
  return str(path)


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
