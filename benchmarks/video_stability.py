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

"""Video: how much each statistics mode flickers, what it costs in style, how fast it runs.

  python benchmarks/video_stability.py --out video.json
  python benchmarks/video_stability.py --real bikes.mp4 --sheet sheet.png   # a real clip

Stability: known-motion clips (`evaluation.flicker.known_motion_clip`: a camera panning
and zooming over a photo of `content/val` while a dark object crosses, the light dimming
half way), stylized with held-out paintings of `style/val`, in each --stats mode. Reports
the warping error (mean |output t - output t-1 warped by the known motion| over the
visible background), its global part (tone flicker: |mean difference|), both split into
the pairs without and with the light change, and the mean per-frame style ratio.
Speed: frames/s end to end (decode, stylize, encode) of a synthetic clip at 512 px and
1080p, per mode, through `stylize_video`. With --real, the first --real-frames frames of a
clip in each mode, and a contact sheet of frames side by side.
"""

from __future__ import annotations

import argparse
import fractions
import json
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from zmnet_jax import infer
from zmnet_jax.data import image_files
from zmnet_jax.evaluation import flicker, metrics
from zmnet_jax.video import io as video_io, pipeline

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared')
MODES = ('frame', 'smooth', 'clip')


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  data = os.path.join(SHARED, 'data')
  p.add_argument('--model', default=None, help='model (default: the shipped one)')
  p.add_argument('--contents', default=os.path.join(data, 'content', 'val'))
  p.add_argument('--styles', default=os.path.join(data, 'style', 'val'))
  p.add_argument('--photos', type=int, default=3)
  p.add_argument('--num-styles', type=int, default=3)
  p.add_argument('--frames', type=int, default=48)
  p.add_argument('--height', type=int, default=192)
  p.add_argument('--width', type=int, default=256)
  p.add_argument('--fps', type=float, default=24.0)
  p.add_argument('--parts', default='stability,speed,real', help='which parts to run')
  p.add_argument('--speed-frames', type=int, default=16, help='frames per speed clip')
  p.add_argument('--real', help='a real clip to stylize in each mode')
  p.add_argument('--real-frames', type=int, default=96)
  p.add_argument('--real-size', type=int, default=360, help='short side for --real')
  p.add_argument('--sheet', help='with --real: write frames side by side here (.png)')
  p.add_argument('--out', help='write every number as JSON')
  return p.parse_args(argv)


def spread(paths, count):
  return [paths[i] for i in np.linspace(0, len(paths) - 1, count).round().astype(int)]


def stylize_frames(stylizer, frames, din, mode, fps):
  """All frames [T, H, W, 3] uint8 through one mode, in batches of 8 (as a clip would)."""
  transform = pipeline.FrameStylizer(stylizer, pipeline.VideoOptions(stats=mode), fps)
  if mode == 'clip':
    sample = [frames[i] for i in np.linspace(0, len(frames) - 1, 16).round().astype(int)]
    transform.prepare_clip(sample, din)
  return np.concatenate([transform(frames[i : i + 8], [din] * 8) for i in range(0, len(frames), 8)])


def stability(args, stylizer, ratio_params):
  """{mode: {measure: mean over photos x styles}} on known-motion clips."""
  photos = spread(image_files.list_images(args.contents), args.photos)
  styles = spread(image_files.list_images(args.styles), args.num_styles)
  rows = {mode: [] for mode in MODES}
  for photo_path in photos:
    clip = flicker.known_motion_clip(
      image_files.load_image(photo_path), args.frames, (args.height, args.width)
    )
    frames = (clip.frames * 255 + 0.5).astype(np.uint8)
    light = flicker.lighting_pairs(clip)
    for style_path in styles:
      style = image_files.load_image(style_path)
      din = stylizer.encode_images([style])
      square = np.asarray(Image.fromarray(style).resize((256, 256)), np.float32)[None] / 255
      for mode in MODES:
        outputs = stylize_frames(stylizer, frames, din, mode, args.fps)
        warp = flicker.warping_errors(outputs, clip)
        tone = flicker.tone_flickers(outputs, clip)
        ratios = [
          float(metrics.style_ratio(ratio_params, o[None] / 255.0, c[None], square)[0])
          for o, c in zip(outputs[::8], clip.frames[::8], strict=True)
        ]
        rows[mode].append(
          {
            'warping_error': warp.mean(),
            'warping_error_motion': warp[~light].mean(),
            'warping_error_light': warp[light].mean(),
            'tone_flicker': tone.mean(),
            'tone_flicker_motion': tone[~light].mean(),
            'tone_flicker_light': tone[light].mean(),
            'style_ratio': float(np.mean(ratios)),
          }
        )
      print(f'{os.path.basename(photo_path)} x {os.path.basename(style_path)}', flush=True)
    rows['input'] = rows.get('input', []) + [
      {'warping_error': flicker.warping_errors(frames, clip).mean()}
    ]
  return {mode: {k: float(np.mean([r[k] for r in v])) for k in v[0]} for mode, v in rows.items()}


def synthetic_clip(path, photo, width, height, frames, fps):
  """A panning clip of `photo`, `frames` long, written as H.264 (the speed test's input)."""
  photo = np.asarray(Image.fromarray(photo).resize((width + frames * 4, height)))
  rate = fractions.Fraction(fps).limit_denominator(1001)
  with video_io.VideoWriter(path, width, height, rate, 1 / rate) as writer:
    for i in range(frames):
      writer.write(photo[:, i * 4 : i * 4 + width], i)


def speed(args, stylizer, style):
  """{size: {mode: frames/s end to end}} for 512 px and 1080p synthetic clips: each mode
  first runs a 4-frame clip of the same size (compiles), then the timed --speed-frames."""
  din = stylizer.encode_images([style])
  photo = image_files.load_image(spread(image_files.list_images(args.contents), 1)[0])
  signal = pipeline.Signal.constant(din)
  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    for name, (width, height), extra in (
      ('512 px', (512, 288), {}),
      ('1080p', (1920, 1080), {}),
      ('1080p, --work-size 512', (1920, 1080), {'work_size': 512}),
    ):
      clips = {}
      for frames in (4, args.speed_frames):
        clips[frames] = os.path.join(tmp, f'{height}_{frames}.mp4')
        if not os.path.exists(clips[frames]):
          synthetic_clip(clips[frames], photo, width, height, frames, args.fps)
      results[name] = {}
      for mode in MODES:
        options = pipeline.VideoOptions(stats=mode, **extra)
        out = os.path.join(tmp, f'out_{mode}.mp4')
        pipeline.stylize_video(stylizer, clips[4], out, signal, options, progress=False)
        start = time.perf_counter()
        report = pipeline.stylize_video(
          stylizer, clips[args.speed_frames], out, signal, options, progress=False
        )
        results[name][mode] = report.frames / (time.perf_counter() - start)
        print(f'{name} {mode}: {results[name][mode]:.2f} frames/s', flush=True)
  return results


def real_clip(args, stylizer, style):
  """Each mode on the first --real-frames frames of a real clip: frames/s, and the frames
  at a few times for a look ({mode: [frames]})."""
  with tempfile.TemporaryDirectory() as tmp:
    cut = os.path.join(tmp, 'cut.mp4')
    with video_io.VideoReader(args.real) as reader:
      info = reader.info()
      size = pipeline.output_size(info.width, info.height, args.real_size)
      with video_io.VideoWriter(cut, *size, info.fps, reader.video_stream.time_base) as writer:
        for i, frame in enumerate(reader.frames()):
          if i == args.real_frames:
            break
          writer.write(pipeline.resized(frame.rgb, size), frame.pts)
    din = stylizer.encode_images([style])
    looks, rates = {}, {}
    for mode in MODES:
      out = os.path.join(tmp, f'{mode}.mp4')
      report = pipeline.stylize_video(
        stylizer, cut, out, pipeline.Signal.constant(din), pipeline.VideoOptions(stats=mode), False
      )
      rates[mode] = report.frames_per_s
      with video_io.VideoReader(out) as reader:
        frames = [f.rgb for f in reader.frames()]
      looks[mode] = frames
    with video_io.VideoReader(cut) as reader:
      looks['input'] = [f.rgb for f in reader.frames()]
  return rates, looks


def contact_sheet(looks, path, count=5):
  """Rows: input and each mode; columns: `count` frames spread over the clip."""
  rows = []
  for name in ('input',) + MODES:
    frames = looks[name]
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    rows.append(np.concatenate([frames[i] for i in picks], axis=1))
  Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  stylizer = infer.Stylizer.load(args.model)
  result = {'frames': args.frames, 'size': [args.height, args.width], 'fps': args.fps}
  parts = args.parts.split(',')
  if 'stability' in parts:
    result['stability'] = stability(args, stylizer, metrics.load_style_ratio())
    print(json.dumps(result['stability'], indent=1))
  style = image_files.load_image(spread(image_files.list_images(args.styles), 1)[0])
  if 'speed' in parts:
    result['frames_per_s'] = speed(args, stylizer, style)
  if args.real and 'real' in parts:
    result['real_frames_per_s'], looks = real_clip(args, stylizer, style)
    if args.sheet:
      contact_sheet(looks, args.sheet)
  if args.out:
    with open(args.out, 'w') as f:
      json.dump(result, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
