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

"""The web app live: the camera tab's frame rate, and a video upload's time.

  pip install -e '.[test,video]'    # gradio, gradio_client, selenium, PyAV; apt's chromium
  python benchmarks/live_rate.py --out live.json --screenshot docs/web_app_live.png

Serves the page in-process (the shipped model) and, in headless Chromium with its fake
camera (a 640x480 moving test pattern, `--use-fake-device-for-media-stream`), streams the
live tab with a sample painting for `--seconds` at each `--sizes` short side, then reads
the rate the page shows (frames a second over the last 10 frames, and the server's ms a
frame). Then uploads a `--clip-seconds` 480p clip (a held-out photo panning, 30 fps)
through the `/stylize_video` API in the full and the fast mode and times each, upload to
MP4.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time

import browser
import numpy as np
from PIL import Image

from zmnet_jax import infer
from zmnet_jax.app import engine as engine_lib, page, server
from zmnet_jax.data import image_files

RATE = re.compile(r'(\d+\.\d) frames/s \((\d+) ms a frame\) at (\d+)x(\d+)')


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--sizes', default='256,384', help='live short sides')
  p.add_argument('--seconds', type=float, default=20.0, help='streaming time per size')
  p.add_argument('--clip-seconds', type=float, default=10.0)
  p.add_argument('--screenshot', help='the live tab at the first size (.png)')
  p.add_argument('--out', help='write the results as JSON here')
  return p.parse_args(argv)


def live_rate(url: str, style: str, size: str, seconds: float, screenshot: str | None) -> dict:
  driver = browser.PageDriver(*browser.find_chromium(), fake_camera=True)
  try:
    driver.open(url)
    driver.open_tab('Live camera')
    driver.upload('style_live', style)
    driver.driver.find_element(driver.by.CSS_SELECTOR, f'#live_size input[value="{size}"]').click()
    driver.start_camera()
    browser.wait_for(lambda: RATE.search(driver.text('live_rate')), 120, 'a frame rate')
    time.sleep(seconds)
    found = RATE.search(driver.text('live_rate'))
    if screenshot:
      driver.screenshot(screenshot)
    return {
      'frames_per_s': float(found[1]),
      'ms_a_frame': int(found[2]),
      'frame': f'{found[3]}x{found[4]}',
    }
  finally:
    driver.close()


def write_clip(path: str, seconds: float, fps: int = 30) -> str:
  """A 854x480 H.264 clip: a held-out photo panning across (PyAV)."""
  import av

  photo = image_files.load_image(engine_lib.example_images('content')[0])
  height, width = photo.shape[:2]
  scale = max(480 / height, 1200 / width)  # wide enough to pan across
  photo = np.asarray(Image.fromarray(photo).resize((round(width * scale), round(height * scale))))
  frames = int(seconds * fps)
  reach = photo.shape[1] - 854
  with av.open(path, 'w') as out:
    stream = out.add_stream('libx264', rate=fps)
    stream.height, stream.width, stream.pix_fmt = 480, 854, 'yuv420p'
    for i in range(frames):
      left = reach * i // max(frames - 1, 1)
      crop = np.ascontiguousarray(photo[:480, left : left + 854])
      out.mux(stream.encode(av.VideoFrame.from_ndarray(crop)))
    out.mux(stream.encode())
  return path


def video_upload(url: str, clip: str, style: str, mode: str) -> dict:
  import gradio_client

  client = gradio_client.Client(url, verbose=False)
  start = time.perf_counter()
  _, status = client.predict(
    video=gradio_client.handle_file(clip),
    style=gradio_client.handle_file(style),
    size=page.AS_UPLOADED,
    mode=mode,
    api_name='/stylize_video',
  )
  return {'seconds': time.perf_counter() - start, 'status': status}


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  if not browser.find_chromium():
    print('no Chromium (apt-get install chromium chromium-driver)')
    return 1
  style = engine_lib.sample_paintings()[0]
  engine = engine_lib.Engine(infer.Stylizer.load('default'), tempfile.mkdtemp())
  blocks, url = server.launch(engine, server.ServerOptions(port=browser.free_port()))
  results = {'style': os.path.basename(style), 'live': {}, 'video': {}}
  try:
    for i, size in enumerate(args.sizes.split(',')):
      shot = args.screenshot if i == 0 else None
      results['live'][size] = live_rate(url, style, size, args.seconds, shot)
      print(f'live at {size}: {results["live"][size]}')
    clip = write_clip(os.path.join(tempfile.mkdtemp(), 'clip480.mp4'), args.clip_seconds)
    for mode in ('full', 'fast'):
      results['video'][mode] = video_upload(url, clip, style, mode)
      print(f'video upload, {mode}: {results["video"][mode]}')
  finally:
    blocks.close()
  if args.out:
    with open(args.out, 'w') as f:
      json.dump(results, f, indent=1)
  return 0


if __name__ == '__main__':
  sys.exit(main())
