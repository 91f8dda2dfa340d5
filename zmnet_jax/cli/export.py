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

"""Export a trained model: `python -m zmnet_jax.export --model WORKDIR --out FILE`.

Writes the params of the workdir's latest checkpoint (or of the step folder given) as one
`.safetensors` file, with the model config, the model card (training runs, data,
validation scores) and, for word models, the signal vocabulary. `stylize`, `animate`,
`evaluate` and `Stylizer.load` take the file as `--model`; loading it needs no optimizer,
no orbax and no training data.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from zmnet_jax import files, params_file
from zmnet_jax.cli import common


def parse_args(argv):
  p = common.ArgumentParser(prog='python -m zmnet_jax.export', description=__doc__.split('\n')[0])
  p.add_argument(
    '--model',
    required=True,
    metavar='WORKDIR_OR_STEP',
    help='training workdir, its checkpoints/ folder or one step folder',
  )
  p.add_argument('--out', required=True, metavar='FILE.safetensors', help='output file')
  p.add_argument(
    '--validation',
    metavar='METRICS_JSON',
    help='a `python -m zmnet_jax.evaluate` metrics.json of the same step, for the card',
  )
  p.add_argument('--overwrite', action='store_true', help='replace an existing file')
  return p.parse_args(argv)


def export(args) -> str:
  if not args.out.endswith(params_file.SUFFIX):
    raise common.UsageError(f'--out: {args.out} must end in {params_file.SUFFIX}')
  files.check_new_file(args.out, [args.model], args.overwrite)
  from zmnet_jax.training import export as export_lib  # pylint: disable=g-import-not-at-top

  evaluation = None
  if args.validation:
    try:
      evaluation = files.read_json(args.validation)
    except ValueError as e:
      raise common.UsageError(f'--validation: {args.validation}: not JSON ({e})') from e
  path = export_lib.export_workdir(args.model, args.out, evaluation)
  return f'wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)'


def main(argv: Sequence[str] | None = None) -> int:
  return common.run(lambda: export(parse_args(argv)))


if __name__ == '__main__':
  sys.exit(main())
