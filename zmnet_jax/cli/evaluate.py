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

"""Evaluates a model: the quality protocol, a paired comparison, or a style x content grid.

  python -m zmnet_jax.evaluate --protocol val512 [--model M | --outputs DIR] --out DIR \\
      [--data ../shared/data] [--content DIR --styles DIR] [--size N] \\
      [--strength 0.25,0.5,0.75,1] [--limit-pairs N] [--save-outputs]
  python -m zmnet_jax.evaluate --compare DIR_A DIR_B
  python -m zmnet_jax.evaluate --model WORKDIR --content DIR --styles DIR --out DIR \\
      [--size N] [--style-size N] [--limit-styles N] [--limit-contents N] \\
      [--batch-styles N] [--train-styles DIR] [--limit-train-styles N]

`--protocol` (zmnet_jax.evaluation.protocol, docs/quality.md): fixed pairs stylized as a
user would and scored with every image at the same scale; writes `metrics.json` (per
strength: mean and median of every score), `pairs.csv` (every pair's scores),
`contact_sheet.png` (content, style, output per row) and, with --save-outputs,
`outputs/strength_S/CONTENT+STYLE.png`. `--outputs DIR` scores such saved outputs (another
system's, laid out the same) instead of a model. `--content` / `--styles` run the protocol
on your own folders.

`--compare A B` (zmnet_jax.evaluation.comparison): two protocol results, paired over the
pairs they share; prints each score's difference with a 95% bootstrap interval and the
ship rule's verdict for B against A.

The grid (no --protocol): styles are read at the contents' size (every score at one scale),
encoded at --style-size, and evaluated in chunks (signals vmapped, split over all devices),
so thousands of styles need no more memory than one chunk. Writes into --out:

  metrics.json       means over all pairs (and their spread over styles), the settings,
                     throughput; with --train-styles also the seen styles' means and the
                     generalization gap (held-out minus seen: style loss, LPIPS)
  per_style.csv      one row per held-out style: name, then the mean of every score
  per_style_train.csv  the same for the --train-styles styles
  contact_sheet.png  the first styles x the first contents

--limit-styles / --limit-train-styles pick styles spread evenly over the sorted file list;
--limit-train-styles defaults to the number of held-out styles evaluated.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time

import numpy as np

from zmnet_jax import files, infer, progress as progress_lib, sharding
from zmnet_jax.cli import common
from zmnet_jax.configs import shared_data
from zmnet_jax.data import eval_sets, image_arrays, image_files
from zmnet_jax.data.image_files import DataError
from zmnet_jax.evaluation import comparison, held_out as evaluation, protocol
from zmnet_jax.infer.signal_inputs import STYLE_ENCODERS

SHEET_STYLES = 8
SHEET_CONTENTS = 8


def parse_args(argv=None) -> argparse.Namespace:
  image_size = common.side(16, multiple_of=4)
  positive = common.integer(1)
  p = common.ArgumentParser(
    prog='python -m zmnet_jax.evaluate',
    description='The quality protocol, a paired comparison, or a held-out style x content grid.',
  )
  common.add_model_argument(p)
  p.add_argument('--content', help='folder of content images (protocol: instead of its own)')
  p.add_argument('--styles', help='folder of held-out style images (protocol: instead of its own)')
  p.add_argument('--out', help='folder for metrics.json, CSV, contact sheet')
  p.add_argument('--protocol', choices=sorted(protocol.PROTOCOLS), help='the quality protocol')
  p.add_argument(
    '--data', default=shared_data.DEFAULT_ROOT, help="the protocol's data root (../shared/data)"
  )
  p.add_argument('--outputs', help='protocol: score the outputs saved in this folder, not a model')
  p.add_argument(
    '--strength',
    type=strengths,
    default=protocol.STRENGTHS,
    help='protocol: comma-separated strengths in (0, 1] (e.g. 0.25,0.5,0.75,1; default 1)',
  )
  p.add_argument('--limit-pairs', type=positive, help='protocol: N pairs spread over the list')
  p.add_argument('--save-outputs', action='store_true', help='protocol: keep every output (PNG)')
  p.add_argument('--compare', nargs=2, metavar=('A', 'B'), help='two protocol results, paired')
  p.add_argument(
    '--size', type=image_size, help='content size (default: config.eval; protocol: its own)'
  )
  p.add_argument(
    '--style-size',
    type=image_size,
    help="side the style is encoded at (default: the model's eval.style_size)",
  )
  p.add_argument(
    '--style-encoder',
    choices=STYLE_ENCODERS,
    default='vgg',
    help="protocol: the model's own style encoder (vgg) or its distilled one (fast)",
  )
  p.add_argument('--limit-styles', type=positive, help='at most N held-out styles')
  p.add_argument('--limit-contents', type=positive, help='the first N contents only')
  p.add_argument(
    '--batch-styles',
    type=common.batch(),
    help='signals per chunk (default: config.eval; rounded up to a multiple of the devices)',
  )
  p.add_argument('--train-styles', help='folder of training styles: report the gap')
  p.add_argument(
    '--limit-train-styles',
    type=positive,
    help='at most N training styles (default: as many as held-out ones)',
  )
  p.add_argument('--overwrite', action='store_true', help='replace the results of an earlier run')
  args = p.parse_args(argv)
  if not args.compare and not args.out:
    p.error('--out is required (except with --compare)')
  if not args.compare and not args.protocol and not (args.content and args.styles):
    p.error('--content and --styles are required without --protocol')
  if args.outputs and not args.protocol:
    p.error('--outputs needs --protocol')
  if args.style_encoder == 'fast' and not args.protocol:
    p.error('--style-encoder fast needs --protocol')
  if args.style_encoder == 'fast' and args.style_size:
    p.error('--style-size: the fast style encoder reads styles at its own size')
  return args


def strengths(text: str) -> tuple[float, ...]:
  """An argparse `type`: comma-separated strengths in (0, 1]."""
  parse = common.number(above=0.0, most=1.0)
  return tuple(parse(part) for part in text.split(','))


OUTPUTS = (
  'metrics.json',
  'per_style.csv',
  'per_style_train.csv',
  'pairs.csv',
  'contact_sheet.png',
  'outputs',
)


def check_out(args: argparse.Namespace) -> None:
  """Before any work: --out is a writable folder holding no earlier results (unless
  --overwrite) and is not an input folder."""
  files.check_writable(args.out, folder=True)
  for folder in (args.content, args.styles, args.train_styles, args.outputs):
    if folder and files.same_file(args.out, folder):
      raise files.OutputError(f'{args.out}: is an input folder ({folder}); choose another --out')
  earlier = [n for n in OUTPUTS if os.path.lexists(os.path.join(args.out, n))]
  if earlier and not args.overwrite:
    raise files.OutputError(
      f'{args.out}: holds the results of an earlier run ({", ".join(earlier)}); --overwrite '
      f'replaces them'
    )


@dataclasses.dataclass
class StyleSetResult:
  names: list[str]
  means: np.ndarray  # [S, len(SCORE_NAMES)]: each style's mean over the contents
  throughput: dict
  skipped: list[str]
  seconds: float
  sheet_styles: list[np.ndarray]
  sheet_outputs: list[np.ndarray]

  def aggregates(self) -> dict:
    return {
      'mean': dict(zip(evaluation.SCORE_NAMES, map(float, self.means.mean(0)), strict=True)),
      'std_over_styles': dict(
        zip(evaluation.SCORE_NAMES, map(float, self.means.std(0)), strict=True)
      ),
    }


def evaluate_styles(
  nets, contents, paths, root, batch_styles, csv_path, progress, keep_styles=0
) -> StyleSetResult:
  """Streams the style files (at the contents' size: every score at one scale; encoded at
  `nets.style_size`) through `evaluation.evaluate_chunks`; writes the CSV rows."""
  start = time.perf_counter()
  size = evaluation.chunk_size(batch_styles, len(paths), nets.num_devices)
  skipped, names, means, sheet_styles, sheet_outputs = [], [], [], [], []
  timer = evaluation.Throughput()
  chunks = eval_sets.image_chunks(paths, root, len(contents[0]), size, skipped)
  with files.atomic_path(csv_path) as tmp, open(tmp, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['style', *evaluation.SCORE_NAMES])
    done = 0
    for result in evaluation.evaluate_chunks(
      nets, contents, chunks, size, timer, keep_styles, SHEET_CONTENTS
    ):
      rows = np.stack([result.scores[k].mean(1) for k in evaluation.SCORE_NAMES], 1)
      writer.writerows(
        [name, *(f'{x:.6g}' for x in row)] for name, row in zip(result.names, rows, strict=True)
      )
      names += result.names
      means.append(rows)
      if result.outputs is not None:
        sheet_outputs.append(result.outputs)
        sheet_styles += list(result.styles[: len(result.outputs)])
      progress.update(len(result.names) + len(skipped) - done)
      done = len(skipped)
  if not names:
    raise DataError(f'{root}: none of the {len(paths)} style images could be decoded')
  throughput = {**timer.report(), **evaluation.run_info(nets, contents, size)}
  return StyleSetResult(
    names,
    np.concatenate(means),
    throughput,
    skipped,
    time.perf_counter() - start,
    sheet_styles,
    sheet_outputs,
  )


def generalization_gap(held_out: StyleSetResult, seen: StyleSetResult, style_kind: str):
  """Held-out minus seen means: the trained style loss and LPIPS."""
  a, b = held_out.aggregates()['mean'], seen.aggregates()['mean']
  return {
    'style_loss': a[f'style_loss_{style_kind}'] - b[f'style_loss_{style_kind}'],
    'lpips': a['lpips'] - b['lpips'],
  }


def run(args: argparse.Namespace) -> dict:
  """The whole evaluation; returns what metrics.json holds."""
  image_files.list_images(args.content)  # fail fast: missing or empty folders, unwritable out
  check_out(args)
  style_paths = eval_sets.select_evenly(image_files.list_images(args.styles), args.limit_styles)
  train_paths = []
  if args.train_styles:
    train_paths = eval_sets.select_evenly(
      image_files.list_images(args.train_styles), args.limit_train_styles or len(style_paths)
    )
  os.makedirs(args.out, exist_ok=True)
  stylizer = infer.Stylizer.load(args.model)
  if stylizer.signal_kind != 'image':
    raise infer.InferenceError(
      f'{args.model}: evaluation needs a model trained on '
      f'style images, not {stylizer.signal_kind} signals'
    )
  ev = stylizer.config.eval
  size, style_size = args.size or ev.image_size, args.style_size or ev.style_size
  batch_styles = args.batch_styles or ev.batch_styles
  content_names, contents = eval_sets.load_eval_images(args.content, size, args.limit_contents)
  mesh = sharding.create_mesh([(sharding.DATA_AXIS, -1)])
  nets = evaluation.networks(
    stylizer.model, stylizer.params, stylizer.vgg_params, mesh, style_size=style_size
  )
  with progress_lib.bar(len(style_paths) + len(train_paths), 'style', 'evaluate') as progress:
    held_out = evaluate_styles(
      nets,
      contents,
      style_paths,
      args.styles,
      batch_styles,
      os.path.join(args.out, 'per_style.csv'),
      progress,
      SHEET_STYLES,
    )
    seen = None
    if train_paths:
      seen = evaluate_styles(
        nets,
        contents,
        train_paths,
        args.train_styles,
        batch_styles,
        os.path.join(args.out, 'per_style_train.csv'),
        progress,
      )
  image_files.save_image(
    os.path.join(args.out, 'contact_sheet.png'),
    image_arrays.contact_sheet(
      contents[:SHEET_CONTENTS], held_out.sheet_styles, np.concatenate(held_out.sheet_outputs)
    ),
  )
  report = build_report(
    args,
    stylizer,
    content_names,
    held_out,
    seen,
    dict(size=size, style_size=style_size, batch_styles=batch_styles),
  )
  files.write_json(os.path.join(args.out, 'metrics.json'), report)
  return report


def build_report(args, stylizer, content_names, held_out, seen, settings) -> dict:
  style_kind = stylizer.config.loss.style_kind
  report = {
    'model': {
      'path': os.path.abspath(args.model),
      'step': stylizer.step,
      'style_kind': style_kind,
      'loss_network': stylizer.config.vgg.arch,
    },
    'config': {
      'content': os.path.abspath(args.content),
      'styles': os.path.abspath(args.styles),
      'train_styles': args.train_styles and os.path.abspath(args.train_styles),
      'limit_styles': args.limit_styles,
      'limit_contents': args.limit_contents,
      **settings,
    },
    'num_contents': len(content_names),
    'num_styles': len(held_out.names),
    'num_pairs': len(content_names) * len(held_out.names),
    'metrics': held_out.aggregates()['mean'],
    'metrics_std_over_styles': held_out.aggregates()['std_over_styles'],
    'throughput': held_out.throughput,
    'eval_s': held_out.seconds,
    'skipped_styles': held_out.skipped,
  }
  if seen is not None:
    report['train_styles'] = {
      'num_styles': len(seen.names),
      'metrics': seen.aggregates()['mean'],
      'metrics_std_over_styles': seen.aggregates()['std_over_styles'],
      'throughput': seen.throughput,
      'eval_s': seen.seconds,
      'skipped_styles': seen.skipped,
    }
    report['generalization_gap'] = generalization_gap(held_out, seen, style_kind)
  return report


def summary(report: dict, out: str) -> dict:
  keys = ('num_styles', 'num_contents', 'metrics', 'generalization_gap')
  brief = {k: report[k] for k in keys if k in report}
  brief['pairs_per_s'] = report['throughput']['pairs_per_s']
  brief['ms_per_image'] = report['throughput']['ms_per_image']
  brief['compile_s'] = report['throughput']['compile_s']
  brief['out'] = os.path.abspath(out)
  return brief


# ----------------------------------------------------------------------------- protocol


def protocol_folders(args, chosen: protocol.Protocol) -> protocol.Folders:
  return protocol.Folders(
    args.content or os.path.join(args.data, chosen.content),
    args.styles or os.path.join(args.data, chosen.styles),
  )


def protocol_source(args, size: int) -> tuple[protocol.Source, dict]:
  """The outputs' source (a model, or saved outputs) and its description for the report."""
  if args.outputs:
    if not os.path.isdir(args.outputs):
      raise DataError(f'{args.outputs}: no such folder of saved outputs')
    return protocol.saved_outputs(args.outputs, size), {'outputs': os.path.abspath(args.outputs)}
  stylizer = infer.Stylizer.load(args.model, style_encoder=args.style_encoder)
  if stylizer.signal_kind != 'image':
    raise infer.InferenceError(
      f'{args.model}: the protocol needs a model trained on style images, not '
      f'{stylizer.signal_kind} signals'
    )
  style_size = args.style_size or stylizer.config.eval.style_size
  about = {'model': args.model, 'step': stylizer.step, 'style_size': style_size}
  if args.style_encoder == 'fast':
    about.update(style_encoder='fast', style_size=stylizer.fast_encoder.size)
  return protocol.model_source(stylizer, style_size), about


def run_protocol(args: argparse.Namespace) -> dict:
  """The protocol's evaluation; writes metrics.json, pairs.csv, contact_sheet.png."""
  chosen = protocol.get_protocol(args.protocol)
  folders = protocol_folders(args, chosen)
  size = args.size or chosen.size
  pairs = protocol.make_pairs(folders, chosen.contents_per_style, args.limit_pairs)
  check_out(args)
  os.makedirs(args.out, exist_ok=True)
  source, about = protocol_source(args, size)
  strengths = sorted(set(args.strength), reverse=True)
  save_to = os.path.join(args.out, 'outputs') if args.save_outputs else None
  jobs = [protocol.Job(source, s, save_to=save_to) for s in strengths]
  cache = protocol.ImageCache(folders, size)
  rows, sheet = [], []
  evaluated = protocol.evaluate(pairs, cache, jobs, protocol.Scorer())
  with progress_lib.bar(len(pairs) * len(jobs), 'output', chosen.name) as progress:
    for row in evaluated:
      if len(sheet) < SHEET_STYLES and row['strength'] == strengths[0]:
        pair_images = cache.images(protocol.Pair(row['content'], row['style']))
        sheet.append([pair_images.content, pair_images.style, row['output']])
      rows.append({k: v for k, v in row.items() if k != 'output'})
      progress.update()
  protocol.write_pairs_csv(os.path.join(args.out, 'pairs.csv'), rows)
  image_files.save_image(os.path.join(args.out, 'contact_sheet.png'), protocol_sheet(sheet))
  report = protocol.report(chosen, folders, size, rows, **about)
  files.write_json(os.path.join(args.out, 'metrics.json'), report)
  return report


def protocol_sheet(rows: list[list[np.ndarray]], side: int = 192) -> np.ndarray:
  """Content, style, output per row, as side x side thumbnails."""
  return np.concatenate(
    [np.concatenate([image_arrays.fit(x, side, side) for x in row], 1) for row in rows], 0
  )


def protocol_summary(report: dict, out: str) -> str:
  lines = []
  for strength, block in report['by_strength'].items():
    mean, median = block['mean'], block['median']
    lines.append(
      f'strength {strength}, {block["num_pairs"]} pairs: style ratio {mean["style_ratio"]:.3f} '
      f'(median {median["style_ratio"]:.3f}), mean/std ratio {mean["mean_std_ratio"]:.3f}, '
      f'relu1_1 {mean["gram_ratio/relu1_1"]:.3f}, LPIPS {mean["lpips"]:.3f}, SSIM '
      f'{mean["ssim"]:.3f}, content {mean["content_loss"]:.4g}, colour distance '
      f'{mean["colour_distance"]:.3f} (unstylized {mean["colour_distance_unstylized"]:.3f})'
    )
  lines.append(f'-> {os.path.abspath(out)}/metrics.json')
  return '\n'.join(lines)


def run_compare(args: argparse.Namespace) -> str:
  a, b = (protocol.read_pairs_csv(os.path.join(d, 'pairs.csv')) for d in args.compare)
  return comparison.format_report(comparison.compare(a, b), tuple(args.compare))


def main(argv=None) -> int:
  def command():
    args = parse_args(argv)
    if args.compare:
      return run_compare(args)
    if args.protocol:
      return protocol_summary(run_protocol(args), args.out)
    return json.dumps(summary(run(args), args.out), indent=2)

  return common.run(command)


if __name__ == '__main__':
  sys.exit(main())
