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

"""What every command shares: the errors a user can cause, and how they are reported.

A bad input is one line on stderr, `error: <path>: <problem>`, and a non-zero exit status
(2 for a bad command line, 1 otherwise, 130 on Ctrl-C); never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
import contextlib
import importlib
import logging
import math
import os
import signal
import sys
import threading

from zmnet_jax import files, params_file
from zmnet_jax.data.image_files import DataError, ImageError
from zmnet_jax.infer.loading import InferenceError
from zmnet_jax.models.vgg_weights import WeightsError
from zmnet_jax.words.embedders import TextError

USER_ERRORS = (
  ImageError,
  DataError,
  InferenceError,
  TextError,
  WeightsError,
  params_file.ParamsFileError,
  files.OutputError,
  OSError,
)


def add_model_argument(parser: argparse.ArgumentParser) -> None:
  """`--model`: a shipped model's name (default: the pretrained one) or a path."""
  parser.add_argument(
    '--model',
    default='default',
    metavar='NAME_OR_PATH',
    help="'default' (the pretrained model shipped in the package; the default), 'fast', a "
    '.safetensors params file, a training workdir, its checkpoints/ or one step folder',
  )


class UsageError(InferenceError):
  """A bad command-line value; the message names the option."""


def onnx_module(name: str, option: str):
  """`zmnet_jax.portable.<name>`, or a UsageError saying `option` needs the [onnx] extra."""
  try:
    return importlib.import_module(f'zmnet_jax.portable.{name}')
  except ImportError as e:
    raise UsageError(f"{option} needs the [onnx] extra: pip install 'zmnet_jax[onnx]' ({e})") from e


class ArgumentParser(argparse.ArgumentParser):
  """argparse that raises UsageError (one line) instead of printing usage and exiting."""

  def error(self, message):
    raise UsageError(message)


def integer(least: int, most: int | None = None, multiple_of: int = 1):
  """An argparse `type`: an integer in [least, most] (and a multiple of `multiple_of`)."""

  def parse(text: str) -> int:
    try:
      value = int(text)
    except ValueError:
      raise argparse.ArgumentTypeError(f'expected an integer, got {text!r}') from None
    if value < least or (most is not None and value > most):
      bounds = f'at least {least}' if most is None else f'in [{least}, {most}]'
      raise argparse.ArgumentTypeError(f'must be {bounds}, got {value}')
    if value % multiple_of:
      raise argparse.ArgumentTypeError(f'must be a multiple of {multiple_of}, got {value}')
    return value

  return parse


# Upper bounds of the count options: beyond them a value is a typo, and taking it would
# allocate or spawn without limit (`--threads 100000` grew to 7 GB before any output).
MAX_SIDE = 16_384  # pixels on a side (a 16k square is 3 GB of float32 activations a layer)
MAX_BATCH = 1_024  # images a call


def side(least: int = 16, multiple_of: int = 1):
  """An argparse `type`: a side in pixels, in [least, MAX_SIDE]."""
  return integer(least, MAX_SIDE, multiple_of)


def batch():
  """An argparse `type`: images a call, in [1, MAX_BATCH]."""
  return integer(1, MAX_BATCH)


def threads():
  """An argparse `type`: CPU threads, at most the machine's cores."""
  return integer(1, os.cpu_count() or 1)


def number(least: float | None = None, most: float | None = None, above: float | None = None):
  """An argparse `type`: a finite float, at least `least` (or above `above`), at most `most`."""
  low = f'[{least:g}' if least is not None else f'({above:g}' if above is not None else None
  if low and most is not None:
    bounds = f' in {low}, {most:g}]'
  elif low:
    bounds = f' at least {least:g}' if least is not None else f' greater than {above:g}'
  else:
    bounds = f' at most {most:g}' if most is not None else ''

  def parse(text: str) -> float:
    try:
      value = float(text)
    except ValueError:
      value = math.nan
    fits = (
      math.isfinite(value)
      and (least is None or value >= least)
      and (above is None or value > above)
      and (most is None or value <= most)
    )
    if not fits:
      raise argparse.ArgumentTypeError(f'must be a finite number{bounds}, got {text!r}')
    return value

  return parse


def error_line(error: BaseException) -> str:
  """`error: <path>: <problem>` on one line."""
  if isinstance(error, OSError) and error.filename:
    message = f'{error.filename}: {error.strerror or error}'
  else:
    message = str(error) or type(error).__name__
  return 'error: ' + ' '.join(message.split())


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
  """Within it, SIGTERM raises KeyboardInterrupt, as Ctrl-C does: the same cleanup runs
  (temporaries removed, `finally`s), and `common.run` reports `error: interrupted`, 130.

  Python's default for SIGTERM is to die at once, leaving temporaries behind. Only the main
  thread can set handlers; elsewhere this does nothing. The previous handler comes back on
  exit.
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return

  def interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)

  previous = signal.signal(signal.SIGTERM, interrupt)
  try:
    yield
  finally:
    signal.signal(signal.SIGTERM, previous)


def exit_if_threads_stuck(status: int) -> None:
  """After a failure, ends the process at once if library threads are still running:
  orbax's workers wait minutes for a save that already failed, and the interpreter
  would join them before exiting (a run that printed its error and hangs)."""
  stuck = [
    t
    for t in threading.enumerate()
    if t.is_alive() and not t.daemon and t is not threading.main_thread()
  ]
  if status and stuck:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run(command: Callable[[], str | tuple | None], errors: Sequence[type] = ()) -> int:
  """Runs `command`, printing what it returns; a user error becomes one line on stderr.

  `errors` adds the command's own error types to USER_ERRORS. A command may return
  (summary, exit status) for a status other than 0 (e.g. stopped early, resumable).
  """
  logging.getLogger('absl').setLevel(logging.ERROR)  # orbax's warnings before its errors
  status = 0
  try:
    with terminate_as_interrupt():
      summary = command()
  except SystemExit as e:  # only --help exits: ArgumentParser raises UsageError instead
    return e.code if isinstance(e.code, int) else 0
  except KeyboardInterrupt:
    print('error: interrupted', file=sys.stderr)
    return 130
  except (*USER_ERRORS, *errors) as e:
    print(error_line(e), file=sys.stderr)
    return 2 if isinstance(e, UsageError) else 1
  if isinstance(summary, tuple):
    summary, status = summary
  if summary:
    print(summary)
  return status
