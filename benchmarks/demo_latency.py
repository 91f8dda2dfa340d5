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

"""The web app's latency: button press to result in a real browser, an API call, the
engine alone.

  pip install -e '.[test]'    # gradio, gradio_client, selenium; plus apt's chromium
  python benchmarks/demo_latency.py --out latency.json

Serves the page in-process on a free localhost port (as `zmnet-demo` does, warm-up off,
so the first request includes compilation) and times, on a held-out photo and painting
(`../shared/data`; the embedded sample images without it):

  engine    `Engine.run` in Python, no HTTP, at each --sizes: the first call (compiles the
            shape, encodes the style) and the median of --repeats more;
  browser   headless Chromium: Stylize pressed -> the result line shown, at the page's
            default 512 px: the first press (the style cache emptied, so it encodes the
            style again; the shape is compiled) and the median of --repeats more (the
            style cached: what moving a slider costs);
  api       `gradio_client` predict at each --sizes, likewise.

The difference between the engine and the others is the web layer (upload, queue, PNG
to the browser).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

import browser
import timing

from zmnet_jax import infer
from zmnet_jax.app import engine as engine_lib, server
from zmnet_jax.data import image_files

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared')


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--model', default='default', help='zmnet_jax model (default: the shipped one)')
  p.add_argument('--sizes', default='256,512,1024', help='output short sides for api and engine')
  p.add_argument('--repeats', type=int, default=5)
  p.add_argument('--data', default=os.path.join(SHARED, 'data'), help='the shared data folder')
  p.add_argument('--content', help='the photo (default: the first held-out one)')
  p.add_argument('--style', help='the style image (default: the first held-out painting)')
  p.add_argument('--screenshot', help="save the browser's page with its last result here (.png)")
  p.add_argument('--out', help='write the results as JSON here')
  return p.parse_args(argv)


def test_images(data: str) -> tuple[str, str]:
  """(a held-out photo, a held-out painting): paths; the embedded samples without data."""
  contents, styles = os.path.join(data, 'content', 'val'), os.path.join(data, 'style', 'val')
  if os.path.isdir(contents) and os.path.isdir(styles):
    return image_files.list_images(contents)[0], image_files.list_images(styles)[0]
  return engine_lib.example_images('content')[0], engine_lib.example_images('style')[0]


def first_and_median(fn, repeats: int) -> dict:
  first, times = timing.steady_times(fn, repeats)
  return {'first_s': first, 'median_s': statistics.median(times)}


def time_browser(url: str, content: str, style: str, repeats: int, screenshot: str | None):
  found = browser.find_chromium()
  if not found:
    print('no Chromium: skipping the browser (apt-get install chromium chromium-driver)')
    return {}
  page = browser.PageDriver(*found)
  try:
    page.open(url)
    page.upload('content', content)
    page.upload('style', style)
    result = first_and_median(page.press, repeats)
    if page.error_text():
      raise RuntimeError(page.error_text())
    result['status'] = page.status()
    if screenshot:
      page.screenshot(screenshot)
    return result
  finally:
    page.close()


def time_api(url: str, content: str, style: str, size: int, repeats: int) -> dict:
  import gradio_client

  client = gradio_client.Client(url, verbose=False)

  def call():
    client.predict(
      content=gradio_client.handle_file(content),
      style=gradio_client.handle_file(style),
      size=str(size),
      api_name='/stylize',
    )

  return first_and_median(call, repeats)


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  content, style = test_images(args.data)
  content, style = args.content or content, args.style or style
  sizes = [int(s) for s in args.sizes.split(',')]
  engine = engine_lib.Engine(infer.Stylizer.load(args.model), tempfile.mkdtemp())
  results = {'model': args.model, 'content': content, 'style': style, 'engine': {}, 'api': {}}
  for size in sizes:
    request = engine_lib.Request(content, (style,), size=size)
    results['engine'][size] = first_and_median(lambda r=request: engine.run(r), args.repeats)
  engine.stylizer.style_cache.clear()  # the browser's first press encodes the style again
  blocks, url = server.launch(engine, server.ServerOptions(port=browser.free_port()))
  try:
    results['browser'] = time_browser(url, content, style, args.repeats, args.screenshot)
    for size in sizes:
      results['api'][size] = time_api(url, content, style, size, args.repeats)
  finally:
    blocks.close()
  print_table(results, sizes)
  if args.out:
    with open(args.out, 'w') as f:
      json.dump(results, f, indent=1)
  return 0


def print_table(results: dict, sizes) -> None:
  print(f'\n{"seconds (first / median)":28}' + ''.join(f'{s:>16}' for s in sizes))
  for kind in ('engine', 'api'):
    cells = [f'{r["first_s"]:.2f} / {r["median_s"]:.2f}' for r in results[kind].values()]
    print(f'  {kind:26}' + ''.join(f'{c:>16}' for c in cells))
  if results.get('browser'):
    b = results['browser']
    print(f'  {"browser, button press":26}{"":>16}{b["first_s"]:.2f} / {b["median_s"]:.2f}')
    print(f'  last status: {b["status"]}')


if __name__ == '__main__':
  sys.exit(main())
