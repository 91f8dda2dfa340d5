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

"""`python -m zmnet_jax.distill`: a model's style encoder distilled into a fast one.

    python -m zmnet_jax.distill --model default --num-styles 4004 --steps 3000 \\
        --val-styles ../shared/data/style/val --out fast_encoder.safetensors

Writes a copy of the model's params file with the fast style encoder added
(`zmnet_jax.models.fast_encoder`); `stylize --style-encoder fast --model OUT` (and
`Stylizer.load(OUT, style_encoder='fast')`) read styles with it instead of VGG. The
teacher's targets (VGG at the model's style size, the slow part: ~1 s a style on 2 CPU
cores) are kept in OUT.targets.npz (or --targets) as they come: rerunning resumes them,
and a larger --num-styles extends them. --val-styles is only scored, never trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import sys

from zmnet_jax.cli import common
from zmnet_jax.configs import shared_data
from zmnet_jax.models import fast_encoder
from zmnet_jax.training import distill


def parse_args(argv: Sequence[str]):
  p = common.ArgumentParser(prog='python -m zmnet_jax.distill', description=__doc__.split('\n')[0])
  common.add_model_argument(p)
  p.add_argument(
    '--styles',
    nargs='+',
    default=[
      f'{shared_data.DEFAULT_ROOT}/style/train',
      f'{shared_data.DEFAULT_ROOT}/content/train',
    ],
    help='folders of training images, --num-styles drawn from each (recursive; default: '
    'the shared WikiArt + DTD styles and the training photos, which are styles too)',
  )
  p.add_argument('--val-styles', help='folder of held-out styles, scored (R^2) only')
  p.add_argument(
    '--num-styles',
    type=common.integer(2, 10_000_000),
    default=distill.Options.num_styles,
    help='at most this many images from each --styles folder',
  )
  p.add_argument('--steps', type=common.integer(1, 10_000_000), default=distill.Options.steps)
  p.add_argument('--batch', type=common.batch(), default=distill.Options.batch)
  p.add_argument(
    '--learning-rate', type=common.number(above=0.0), default=distill.Options.learning_rate
  )
  p.add_argument(
    '--width', type=common.integer(4, 1024), default=fast_encoder.FastEncoderConfig.width
  )
  p.add_argument(
    '--size',
    type=common.side(16, multiple_of=16),
    default=fast_encoder.FastEncoderConfig.size,
    help='the side the fast encoder reads styles at',
  )
  p.add_argument('--seed', type=int, default=0, help='the draw of styles and the init')
  p.add_argument('--targets', help='the teacher targets cache (default: OUT.targets.npz)')
  p.add_argument('--out', required=True, help='the new params file (.safetensors)')
  return p.parse_args(argv)


def run(args) -> str:
  options = distill.Options(
    num_styles=args.num_styles,
    steps=args.steps,
    batch=args.batch,
    learning_rate=args.learning_rate,
    seed=args.seed,
    encoder=fast_encoder.FastEncoderConfig(width=args.width, size=args.size),
  )
  report = distill.distill(
    args.model, args.styles, args.out, options, targets=args.targets, val_styles=args.val_styles
  )
  return f'{json.dumps(report)}\n-> {args.out}'


def main(argv: Sequence[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  return common.run(lambda: run(parse_args(argv)), (distill.DistillError,))
