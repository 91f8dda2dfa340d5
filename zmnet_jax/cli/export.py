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

    python -m zmnet_jax.export --model runs/x --out x.safetensors
    python -m zmnet_jax.export --model default --format onnx --out zmnet_onnx/

The default format writes the params of the workdir's latest checkpoint (or of the step folder given) as one
`.safetensors` file, with the model config, the model card (training runs, data,
validation scores) and, for word models, the signal vocabulary. `stylize`, `animate`,
`evaluate` and `Stylizer.load` take the file as `--model`; loading it needs no optimizer,
no orbax and no training data.

`--format onnx` writes a folder with two ONNX graphs (style encoder: style image -> DIN
parameters, VGG included; transformer: content + DIN parameters -> stylized image, any
height and width) and a manifest; `stylize --backend onnx --model DIR` runs it, and so
can any ONNX runtime (see `zmnet_jax.portable`). Needs the [onnx] extra.
"""

from __future__ import annotations

from collections.abc import Sequence
import os
import sys

from zmnet_jax import files, params_file
from zmnet_jax.cli import common
from zmnet_jax.portable import bundle


def parse_args(argv):
  p = common.ArgumentParser(prog='python -m zmnet_jax.export', description=__doc__.split('\n')[0])
  p.add_argument(
    '--model',
    required=True,
    metavar='WORKDIR_OR_STEP',
    help='training workdir, its checkpoints/ folder or one step folder (--format onnx: '
    'also a params file or a shipped name such as default)',
  )
  p.add_argument(
    '--format',
    choices=('safetensors', 'onnx'),
    default='safetensors',
    help='safetensors (default: one params file) or onnx (a folder of two graphs)',
  )
  p.add_argument(
    '--out', required=True, metavar='FILE_OR_DIR', help='output file (folder for onnx)'
  )
  p.add_argument(
    '--validation',
    metavar='METRICS_JSON',
    help='a `python -m zmnet_jax.evaluate` metrics.json of the same step, for the card',
  )
  p.add_argument(
    '--style-size',
    type=common.side(16, multiple_of=4),
    help="the side styles are encoded at by default (the model's eval.style_size)",
  )
  p.add_argument('--overwrite', action='store_true', help='replace an existing file')
  return p.parse_args(argv)


def export_onnx(args) -> str:
  files.check_not_input(args.out, [args.model])
  if os.path.lexists(args.out) and not (args.overwrite and bundle.is_bundle(args.out)):
    why = (
      'exists; --overwrite replaces it'
      if bundle.is_bundle(args.out)
      else ('exists and is not an ONNX export; give a new folder')
    )
    raise files.OutputError(f'{args.out}: {why}')
  files.check_writable(os.path.dirname(os.path.abspath(args.out)), folder=True)
  if args.validation or args.style_size:
    raise common.UsageError(
      '--validation, --style-size: only for --format safetensors (they travel with it)'
    )
  onnx_export = common.onnx_module('bundle_writer', '--format onnx')
  onnx_export.export_onnx(args.model, args.out, overwrite=args.overwrite)
  size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
  graphs = ', '.join(sorted(f for f in os.listdir(args.out) if f.endswith('.onnx')))
  return f'wrote {args.out} ({size / 1e6:.1f} MB: {graphs})'


def export(args) -> str:
  if args.format == 'onnx':
    return export_onnx(args)
  if not args.out.endswith(params_file.SUFFIX):
    raise common.UsageError(f'--out: {args.out} must end in {params_file.SUFFIX}')
  files.check_new_file(args.out, [args.model], args.overwrite)
  from zmnet_jax.training import model_card

  evaluation = None
  if args.validation:
    try:
      evaluation = files.read_json(args.validation)
    except ValueError as e:
      raise common.UsageError(f'--validation: {args.validation}: not JSON ({e})') from e
  path = model_card.export_workdir(args.model, args.out, evaluation, args.style_size)
  return f'wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)'


def main(argv: Sequence[str] | None = None) -> int:
  return common.run(lambda: export(parse_args(argv)))


if __name__ == '__main__':
  sys.exit(main())
