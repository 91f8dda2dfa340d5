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

"""`python -m zmnet_jax.aot --config NAME --topology TOPO`: a config's steps compiled for TPU.

  pip install 'zmnet_jax[tpu]'   # libtpu: compiles here, no TPU needed
  python -m zmnet_jax.aot --config tpu --topology v5e:2x4
  python -m zmnet_jax.aot --config tpu --topology v4:2x2x2 --find-batch --json runs/v4.json

Compiles the real train step (the trainer's function, shardings, donation and dtype) at
the config's global batch (or --batch) and the held-out evaluation (encode, stylize,
score), and prints for each the memory per chip against the chip's HBM, FLOPs and bytes,
the collectives, and the roofline step time with the img/s and MFU it allows.
--find-batch finds the largest global batch whose train step fits. `TOPO` is libtpu's
name (`v5e:2x2`, `v4:2x2x1`, `v5p:2x2x1`, `v6e:2x4`). Exit status 1: the step does not
fit, or the topology or libtpu is missing (one line).
"""

from __future__ import annotations

from collections.abc import Sequence
import os
import sys

import jax

from zmnet_jax import files
from zmnet_jax.cli import common, train as train_cli


def parse_flags(argv: Sequence[str]):
  """(config, options) from the command line; UsageError with one line."""
  from absl import flags
  from ml_collections import config_flags

  argv = [_underscored(arg) for arg in argv]
  try:
    argv = train_cli.resolve_config_arg(argv)
  except ValueError as e:
    raise common.UsageError(f'--config: {e}') from e
  values = flags.FlagValues()
  config_flags.DEFINE_config_file(
    'config', None, 'Config name or file.', flag_values=values, lock_config=True, sys_argv=argv
  )
  flags.DEFINE_string('topology', None, "libtpu's topology, e.g. v5e:2x2", flag_values=values)
  flags.DEFINE_integer('num_slices', 1, 'slices (multi-slice)', lower_bound=1, flag_values=values)
  flags.DEFINE_integer(
    'batch', 0, 'global batch (0: the config)', lower_bound=0, flag_values=values
  )
  flags.DEFINE_bool('find_batch', False, 'the largest batch that fits', flag_values=values)
  flags.DEFINE_bool('evaluation', True, 'compile the evaluation too', flag_values=values)
  flags.DEFINE_string('json', None, 'write the reports here too', flag_values=values)
  try:
    values(argv)
    config = values.config
  except (KeyError, AttributeError) as e:
    raise common.UsageError(train_cli.unknown_field(argv, e)) from e
  except (flags.Error, TypeError, ValueError) as e:
    raise common.UsageError(train_cli.flag_error(e)) from e
  if config is None or not values.topology:
    raise common.UsageError(
      '--config and --topology are required, e.g. --config tpu --topology v5e:2x2'
    )
  return config, values


def _underscored(arg: str) -> str:
  """`--find-batch`, `--num-slices`, `--no-evaluation` as absl spells them."""
  name, sep, value = arg.partition('=')
  if not name.startswith('--') or name.startswith('--config'):
    return arg
  name = 'no' + name[5:] if name.startswith('--no-') else name[2:]
  return '--' + name.replace('-', '_') + sep + value


def config_name(argv: Sequence[str]) -> str:
  for i, arg in enumerate(argv):
    if arg.startswith('--config='):
      return arg.split('=', 1)[1]
    if arg == '--config' and i + 1 < len(argv):
      return argv[i + 1]
  return '?'


def compile_and_report(config, options, name: str) -> str:
  """The reports, printed; AotError (one line) when the train step does not fit."""
  from zmnet_jax.training import aot

  topology = aot.tpu_topology(options.topology, options.num_slices)
  chips = len(topology.devices)
  batch = options.batch or config.train.batch_size

  compiled = {}  # batch -> report: a compile takes minutes, none is done twice

  def compile_at(global_batch: int):
    if global_batch in compiled:
      return compiled[global_batch]
    print(f'compiling the train step at batch {global_batch} ...', file=sys.stderr, flush=True)
    report = aot.compile_train(config, topology, global_batch)
    fits = 'fits' if report.fits else 'does not fit'
    print(
      f'  batch {global_batch}: {report.memory_bytes / 2**30:.2f} GiB per chip, {fits}',
      file=sys.stderr,
      flush=True,
    )
    compiled[global_batch] = report
    return report

  if options.find_batch:
    train = aot.find_batch(compile_at, multiple=chips, start=batch)
    if train is None:  # not even one image a chip: find_batch compiled that already
      raise aot.AotError(aot.too_big(compile_at(chips), name))
  else:
    train = compile_at(batch)
    if not train.fits:
      raise aot.AotError(aot.too_big(train, name))
  reports = [train]
  if options.evaluation:
    print('compiling the evaluation ...', file=sys.stderr, flush=True)
    reports += aot.compile_evaluation(config, topology)
  lines = [line for r in reports for line in r.lines()]
  if options.find_batch:
    lines.append(f'largest global batch that fits: {train.images} ({train.images // chips} a chip)')
  if options.json:
    files.write_json(options.json, {'config': name, 'reports': [r.to_json() for r in reports]})
  return '\n'.join(lines)


def main(argv: Sequence[str] | None = None) -> int:
  argv = sys.argv if argv is None else argv

  def command():
    config, options = parse_flags(argv)
    train_cli.setup_logging()
    # The host's own work (VGG weights, shapes) on the CPU: a jax that finds libtpu would
    # otherwise try to open a TPU this machine may not have.
    jax.config.update('jax_platforms', os.environ.get('JAX_PLATFORMS') or 'cpu')
    return compile_and_report(config, options, config_name(argv))

  from zmnet_jax.training.aot import AotError

  return common.run(command, errors=(AotError, ValueError))


if __name__ == '__main__':
  sys.exit(main())
