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

"""Claims 1 and 4: real-time manipulation, and animation of one image by sweeping the
signal.

Claim 1 (the paper: tens of ms per image on a GPU): the shipped model on this machine, ms
per image at each size for encoding a style (VGG, and the distilled fast encoder),
stylizing, and both (end to end), medians of steady calls after a warm-up. Claim 4: an
animation sweeping three held-out paintings, made by `zmnet-animate`, and its rate.
"""

from __future__ import annotations

import os
import time

from benchmarks import timing
from experiments import runs
from zmnet_jax import infer
from zmnet_jax.cli import animate
from zmnet_jax.data import image_arrays, image_files

MODEL = 'default'  # the shipped model
REPEATS = 5
TPU = 'v5e:2x2'  # the slice the roofline is compiled for (here, without a TPU)


def samples(setting: runs.Setting, count: int) -> list[str]:
  """`count` held-out paintings and one held-out photo, the same every run."""
  styles = image_files.list_images(setting.data_dir('style', 'val'))
  contents = image_files.list_images(setting.data_dir('content', 'val'))
  return [styles[i * len(styles) // count] for i in range(count)] + [contents[0]]


def encode_ms(stylizer, style) -> float:
  """One style encoded, not from the cache."""

  def encode():
    stylizer.style_cache.clear()
    return stylizer.encode_images([style])

  return 1000 * timing.median_seconds(encode, REPEATS)


def tpu_roofline() -> dict:
  """The paper-sized model (`default`: the full TNet at 256 px) on a TPU v5e slice: the
  roofline of its evaluation's encode and stylize programs, compiled here without a TPU
  (`zmnet_jax.training.aot`, which needs libtpu): ms per image, the bound."""
  from zmnet_jax.configs import default
  from zmnet_jax.training import aot

  try:
    topology = aot.tpu_topology(TPU)
  except aot.AotError as e:
    return {'skipped': str(e)}
  config = default.get_config()
  rows = {}
  for report in aot.compile_evaluation(config, topology)[:2]:  # encode, stylize
    rows[report.name] = {
      'images_per_call': report.images,
      'ms_per_image': 1000 / report.images_per_second,
      'bound': report.bound,
      'image_size': config.eval.image_size,
    }
  return {'topology': TPU, 'chips': len(topology.devices), 'programs': rows}


def speed(setting: runs.Setting) -> dict:
  roofline = tpu_roofline()  # first: it compiles for a TPU before this process runs JAX
  style_path, content_path = samples(setting, 1)
  style = image_files.load_image(style_path)
  photo = image_files.load_image(content_path)
  vgg, fast = (infer.Stylizer.load(MODEL, style_encoder=e) for e in ('vgg', 'fast'))
  encode = {'vgg': encode_ms(vgg, style), 'fast': encode_ms(fast, style)}
  din = vgg.encode_images([style])
  rows = []
  for size in setting.scale.speed_sizes:
    content = image_arrays.to_float(image_arrays.resize_short_side(photo, size))[None]
    stylize = 1000 * timing.median_seconds(lambda c=content: vgg.stylize(c, din), REPEATS)
    rows.append(
      {
        'size': list(content.shape[1:3]),
        'stylize_ms': stylize,
        'end_to_end_ms': {k: stylize + v for k, v in encode.items()},
      }
    )
  return {
    'claim': 1,
    'model': MODEL,
    'style': os.path.relpath(style_path, setting.data),
    'style_size': vgg.config.eval.style_size,
    'encode_ms': encode,
    'rows': rows,
    'tpu_roofline': roofline,
  }


def steady_frame_ms(styles: list[str], content: str, frames: int, size: int) -> float:
  """ms per frame of an animation's stylizing, compiled and warm: `frames` DIN blends of
  the styles (as `zmnet-animate --interpolate params` makes them) on one content."""
  stylizer = infer.Stylizer.load(MODEL)
  din = stylizer.encode_images([image_files.load_image(s) for s in styles])
  weights = animate.sweep_weights(len(styles), frames)
  blends = animate.blend(din, weights)
  photo = image_arrays.resize_short_side(image_files.load_image(content), size)
  contents = image_arrays.to_float(photo)[None]
  return 1000 * timing.median_seconds(lambda: stylizer.stylize(contents, blends), 3) / frames


def animation(setting: runs.Setting) -> dict:
  *styles, content = samples(setting, 3)
  out = os.path.join(setting.out, 'animation.gif')
  if os.path.exists(out):
    os.remove(out)
  frames, size = setting.scale.frames, min(setting.scale.speed_sizes)
  start = time.time()
  runs.command(
    [
      '-m', 'zmnet_jax.animate', '--model', MODEL, '--content', content,
      '--signals', ','.join(styles), '--frames', str(frames), '--size', str(size),
      '--fps', '8', '--out', out,
    ],
    os.path.join(setting.out, 'animation.log'),
  )  # fmt: skip
  seconds = time.time() - start
  return {
    'claim': 4,
    'content': os.path.relpath(content, setting.data),
    'styles': [os.path.relpath(s, setting.data) for s in styles],
    'frames': frames,
    'size': size,
    'seconds_with_loading': round(seconds, 1),
    'frames_per_second_with_loading': frames / seconds,
    'steady_ms_per_frame': steady_frame_ms(styles, content, frames, size),
    'figure': out,
  }
