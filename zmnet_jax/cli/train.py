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

"""`python -m zmnet_jax.train --config NAME_OR_PATH[:variant] --workdir DIR [--config.a.b=v]`.

Trains (resuming from the latest checkpoint in DIR), then evaluates held-out styles; see
`zmnet_jax.training.trainer.train_and_evaluate`. `--config` takes a packaged config by
short name (`tiny`, `default:tiny`, `shared_data`, `attributes:tiny`, `gpu`, `tpu`) or any
config file path, from any directory.

Exit status: 0 finished, 75 stopped early by SIGTERM or Ctrl-C after saving (rerun the
same command to resume), 1 failed, 2 bad flags; a second Ctrl-C interrupts at once (130).
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import logging
import sys

from zmnet_jax import configs
from zmnet_jax.cli import common

# The exit status of a run stopped early by SIGTERM or Ctrl-C, after saving: rerun the same
# command to resume (EX_TEMPFAIL). A finished run exits 0, a failed one 1, bad flags 2.
EXIT_STOPPED = 75
USAGE_EXAMPLE = 'python -m zmnet_jax.train --config tiny --workdir runs/tiny'


class StderrHandler(logging.StreamHandler):
  """A handler that writes to `sys.stderr` as it is at each record, not as it was when
  the handler was made (a caller that swaps stderr, as tests do, never gets a closed one)."""

  def __init__(self):
    super().__init__(sys.stderr)

  @property
  def stream(self):
    return sys.stderr

  @stream.setter
  def stream(self, value):
    del value


def setup_logging() -> None:
  """Our progress lines at INFO; the libraries' chatter (absl, orbax, tfds) at WARNING."""
  logging.basicConfig(
    level=logging.WARNING,
    format='%(asctime)s %(message)s',
    datefmt='%H:%M:%S',
    force=True,
    handlers=[StderrHandler()],
  )
  logging.getLogger('zmnet_jax').setLevel(logging.INFO)
  logging.getLogger('absl').setLevel(logging.ERROR)  # tfds' per-builder config notices


def resolve_config_arg(argv: Sequence[str]) -> list[str]:
  """argv with the value of --config (either form) resolved by `configs.resolve`."""
  out, args = [], list(argv)
  for i, arg in enumerate(args):
    if arg.startswith('--config='):
      arg = '--config=' + configs.resolve(arg[len('--config=') :])
    elif i > 0 and args[i - 1] == '--config':
      arg = configs.resolve(arg)
    out.append(arg)
  return out


def parse_flags(argv: Sequence[str]):
  """(config, workdir) from the command line; raises UsageError with one line."""
  from absl import flags
  from ml_collections import config_flags

  try:
    argv = resolve_config_arg(argv)
  except ValueError as e:
    raise common.UsageError(f'--config: {e}') from e
  values = flags.FlagValues()
  config_flags.DEFINE_config_file(
    'config',
    None,
    'Config name or file ([:variant]).',
    flag_values=values,
    lock_config=True,
    sys_argv=argv,
  )
  flags.DEFINE_string(
    'workdir', None, 'Where checkpoints, metrics and samples go.', flag_values=values
  )
  try:
    values(argv)
    config = values.config
  except (KeyError, AttributeError) as e:
    raise common.UsageError(unknown_field(argv, e)) from e
  except (flags.Error, TypeError, ValueError) as e:
    raise common.UsageError(flag_error(e)) from e
  if config is None or not values.workdir:
    raise common.UsageError(f'--config and --workdir are required, e.g. {USAGE_EXAMPLE}')
  return config, values.workdir


def flag_error(error: Exception) -> str:
  """One line for a flag that does not parse; a config file's own error without the
  traceback that ml_collections quotes."""
  lines = str(error).strip().splitlines() or [type(error).__name__]
  if any(line.startswith('Traceback') for line in lines):
    return f'--config: {lines[-1].strip()}'
  return ' '.join(' '.join(lines).split())


def unknown_field(argv: Sequence[str], error: Exception) -> str:
  """One line naming the `--config.x.y` override whose field the config lacks."""
  key = str(error.args[0] if error.args else error).strip('\'"')
  for arg in argv:
    name = arg.split('=', 1)[0]
    if name.startswith('--config.') and name.rsplit('.', 1)[-1] == key:
      return f'{name}: the config has no such field (see its file for the fields)'
  return f'--config: no field {key!r} (see the config file for the fields)'


def main(argv: Sequence[str] | None = None) -> int:
  argv = sys.argv if argv is None else argv

  def command():
    config, workdir = parse_flags(argv)
    setup_logging()
    from zmnet_jax.training import trainer

    outputs = trainer.train_and_evaluate(config, workdir)
    return json.dumps(outputs, indent=2), EXIT_STOPPED if outputs['stopped'] else 0

  from zmnet_jax.training.trainer import TrainingError

  status = common.run(command, errors=(TrainingError, ValueError))
  if argv is sys.argv:  # a process of its own, not a caller's function call
    common.exit_if_threads_stuck(status)
  return status


if __name__ == '__main__':
  sys.exit(main())
