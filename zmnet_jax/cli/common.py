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
import sys
from typing import Callable, Sequence

from zmnet_jax import params_file
from zmnet_jax.data.image_io import DataError, ImageError
from zmnet_jax.infer.loading import InferenceError
from zmnet_jax.models.vgg_weights import WeightsError
from zmnet_jax.signals.embedders import TextError

USER_ERRORS = (
  ImageError,
  DataError,
  InferenceError,
  TextError,
  WeightsError,
  params_file.ParamsFileError,
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


class ArgumentParser(argparse.ArgumentParser):
  """argparse that raises UsageError (one line) instead of printing usage and exiting."""

  def error(self, message):
    raise UsageError(message)


def error_line(error: BaseException) -> str:
  """`error: <path>: <problem>` on one line."""
  if isinstance(error, OSError) and error.filename:
    message = f'{error.filename}: {error.strerror or error}'
  else:
    message = str(error) or type(error).__name__
  return 'error: ' + ' '.join(message.split())


def run(command: Callable[[], str | None], errors: Sequence[type] = ()) -> int:
  """Runs `command`, printing what it returns; a user error becomes one line on stderr.

  `errors` adds the command's own error types to USER_ERRORS.
  """
  try:
    summary = command()
  except SystemExit as e:  # only --help exits: ArgumentParser raises UsageError instead
    return e.code if isinstance(e.code, int) else 0
  except KeyboardInterrupt:
    print('error: interrupted', file=sys.stderr)
    return 130
  except (*USER_ERRORS, *errors) as e:
    print(error_line(e), file=sys.stderr)
    return 2 if isinstance(e, UsageError) else 1
  if summary:
    print(summary)
  return 0
