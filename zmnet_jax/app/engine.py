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

"""One web-app request, without the web framework: check the uploads, encode the signal
(cached), stylize at the chosen size, write the full-resolution PNG.

The page and the HTTP API both call `Engine.run`. It holds one lock, so JAX runs one
request at a time, whatever the server does; encoded styles stay in the `Stylizer`'s
cache and decoded uploads in a small one of its own, so moving a slider re-runs only the
transform.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
import dataclasses
import os
from pathlib import Path
import shutil
import threading
import time

import numpy as np

from zmnet_jax import cache, files, infer
from zmnet_jax.data import embedded, image_arrays, image_files
from zmnet_jax.infer import core, loading
from zmnet_jax.words.embedders import TextError

# Photos up to this long side run whole (2048x1536 at 1024 px: 40% faster than tiles of
# 1024, as video frames do); larger ones go through tiles with whole-image statistics.
TILE_SIZE = 2048
KEEP_RESULTS = 64  # result folders kept on disk (older ones are deleted)
DECODED_CAPACITY = 8  # decoded uploads kept in memory
TEXTS_CAPACITY = 256  # encoded words / expressions kept in memory


class RequestError(ValueError):
  """A request that cannot be served; the one-line message is for the page."""


@dataclasses.dataclass(frozen=True)
class Request:
  """What the page (or an API call) asks for."""

  content: str  # an image file
  styles: Sequence[str] = ()  # one or two style image files (style-image models)
  mix: float = 0.0  # the second style's share, 0 ... 1
  text: str = ''  # a word or an expression such as '0.5 morning + 0.5 night' (word models)
  strength: float = 1.0  # 0: the content as its own style ... 1: the full style
  preserve_color: bool = False
  size: int | None = 512  # the output's short side; None keeps the upload's size
  work_size: int | None = None  # the fast mode: TNet at this long side, guided upsampling


@dataclasses.dataclass(frozen=True)
class Result:
  path: str  # the full-resolution PNG
  shape: tuple[int, int]  # (height, width)
  seconds: float  # the whole request, decoding to writing
  number: int  # this engine's count of results so far

  @property
  def summary(self) -> str:
    h, w = self.shape
    return f'{os.path.basename(self.path)}: {w}x{h}, {self.seconds:.2f} s (result {self.number})'


class FrameRate:
  """The live stream's pace over its last `window` frames: frames a second, and the
  milliseconds the server spent on each. A new signal or size starts it afresh (its
  first frame, which compiles and encodes, is not counted)."""

  def __init__(self, window: int = 10):
    self.window = window
    self.reset(None)

  def reset(self, key) -> None:
    self.key = key
    self._ends = collections.deque(maxlen=self.window + 1)
    self._work = collections.deque(maxlen=self.window)

  def tick(self, key, seconds: float) -> str:
    """Counts a frame of the stream `key` that took `seconds`; the rate line."""
    if key != self.key:
      self.reset(key)
    elif self._ends:
      self._work.append(seconds)
    self._ends.append(time.perf_counter())
    if not self._work:
      return 'starting'
    ms = 1000 * sum(self._work) / len(self._work)
    return f'{self.frames_per_second:.1f} frames/s ({ms:.0f} ms a frame)'

  @property
  def frames_per_second(self) -> float:
    if len(self._ends) < 2:
      return 0.0
    return (len(self._ends) - 1) / max(self._ends[-1] - self._ends[0], 1e-6)


class Engine:
  """Serves requests with one `Stylizer`; results are written under `out_dir`."""

  def __init__(
    self,
    stylizer: infer.Stylizer,
    out_dir: str,
    max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
    tile_size: int = TILE_SIZE,
  ):
    self.stylizer = stylizer
    self.out_dir = out_dir
    self.max_pixels = max_pixels
    self.tile_size = tile_size
    self.vocabulary = None
    if stylizer.signal_kind == 'vector':
      self.vocabulary = loading.load_vocabulary(stylizer.source)
      if self.vocabulary is None:
        raise infer.InferenceError(
          f'{stylizer.source.path}: takes raw signal vectors and has no word vocabulary; '
          'the demo serves style-image and word models'
        )
    self._lock = threading.Lock()
    self._decoded = collections.OrderedDict()
    self._texts = {}
    self._count = 0
    self.frame_rate = FrameRate()

  @property
  def takes_words(self) -> bool:
    return self.vocabulary is not None

  @property
  def words(self) -> list[str]:
    """The words a word model was trained on ([] for style-image models)."""
    return list(self.vocabulary.words) if self.vocabulary else []

  def run(self, request: Request) -> Result:
    """Stylizes one request; RequestError (one line) for anything the user can mend."""
    start = time.perf_counter()
    try:
      with self._lock:
        content = image_arrays.to_float(self._content(request))[None]
        din, name = self._signal(request)
        if request.strength < 1.0:
          din = self.stylizer.with_strength(din, content, request.strength)
        out = self.stylizer.stylize(
          content,
          din,
          tile_size=self.tile_size,
          preserve_colors=request.preserve_color,
          work_size=request.work_size,
        )[0, 0]
        path = self._save(out, f'{Path(request.content).stem}__{name}')
    except (image_files.ImageError, infer.InferenceError, TextError) as e:
      raise RequestError(' '.join(str(e).split())) from e
    return Result(path, out.shape[:2], time.perf_counter() - start, self._count)

  def live(self, frame: np.ndarray | None, request: Request) -> tuple[np.ndarray, str]:
    """One camera frame (uint8 [H, W, 3]) stylized at `request.size` (its short side) with
    the request's signal (encoded once, then cached): (uint8 frame, the rate line)."""
    if frame is None:
      raise RequestError('no camera frame yet: allow the camera and start it')
    start = time.perf_counter()
    try:
      with self._lock:
        image = image_arrays.resize_short_side(
          image_files.to_uint8(frame, 'camera frame'), request.size
        )
        din, _ = self._signal(request)
        out = self.stylizer.stylize(image_arrays.to_float(image)[None], din)[0, 0]
    except (image_files.ImageError, infer.InferenceError, TextError) as e:
      raise RequestError(' '.join(str(e).split())) from e
    key = (request.styles, request.text, request.size)
    rate = self.frame_rate.tick(key, time.perf_counter() - start)
    height, width = out.shape[:2]
    return image_files.to_uint8(out, 'stylized frame'), f'{rate} at {width}x{height}'

  def run_video(self, path: str, request: Request, on_frames=None) -> Result:
    """A video file stylized with the request's signal at `request.size` (the short side;
    None: the clip's own) by the video pipeline, sound kept: the MP4's `Result`.
    `on_frames(done, total)` follows its progress."""
    from zmnet_jax.video import io as video_io, pipeline  # PyAV: the [video] extra

    start = time.perf_counter()
    try:
      with self._lock:
        din, name = self._signal(request)
        out = self._result_path(f'{Path(path).stem}__{name}', '.mp4')
        options = pipeline.VideoOptions(
          size=request.size, work_size=request.work_size, preserve_colors=request.preserve_color
        )
        report = pipeline.stylize_video(
          self.stylizer, path, out, pipeline.Signal.constant(din), options, on_frames=on_frames
        )
    except (video_io.VideoError, infer.InferenceError, TextError, OSError) as e:
      raise RequestError(' '.join(str(e).split())) from e
    shape = (report.height, report.width)
    return Result(out, shape, time.perf_counter() - start, self._count)

  # --------------------------------------------------------------------------- inputs

  def _content(self, request: Request) -> np.ndarray:
    if not request.content:
      raise RequestError('add a content photo first')
    if request.size is not None and request.size < 16:
      raise RequestError(f'output size must be at least 16 px, got {request.size}')
    if not 0.0 <= request.strength <= 1.0 or not 0.0 <= request.mix <= 1.0:
      raise RequestError('strength and mix must be between 0 and 1')
    return self._image(request.content, 'content', request.size)

  def _image(self, path: str, role: str, short_side: int | None = None) -> np.ndarray:
    """The upload at `path` as uint8 [H, W, 3] (short side resized), decoded once."""
    try:
      info = os.stat(path)
    except OSError as e:
      raise RequestError(f'{role} image {Path(path).name}: cannot be read ({e.strerror})') from e
    key = (path, info.st_mtime_ns, info.st_size, short_side)
    if key in self._decoded:
      self._decoded.move_to_end(key)
      return self._decoded[key]
    name = f'{role} image {Path(path).name}'
    image = image_files.decode_image_bytes(image_files.read_bytes(path), name, self.max_pixels)
    if short_side:
      image_files.check_resize(name, image.shape[:2], short_side, self.max_pixels, 'output size')
      image = image_arrays.resize_short_side(image, short_side)
    self._decoded[key] = image
    if len(self._decoded) > DECODED_CAPACITY:
      self._decoded.popitem(last=False)
    return image

  def _signal(self, request: Request):
    """(DIN params [1], the output's name) of the request's style(s) or text."""
    if self.takes_words:
      text = ' '.join(request.text.split())
      if not text:
        raise RequestError(f'type a word or an expression (trained on: {", ".join(self.words)})')
      if text not in self._texts:
        if len(self._texts) >= TEXTS_CAPACITY:
          self._texts.clear()
        self._texts[text] = self.stylizer.encode_vectors(self.vocabulary.signals([text]))
      return self._texts[text], files.safe_name(text)
    styles = [s for s in request.styles if s]
    if not styles or len(styles) > 2:
      raise RequestError(f'give one or two style images, not {len(styles)}')
    din = core.concat_signals(
      [
        self.stylizer.encode_images([self._image(s, 'style')], name=f'style image {Path(s).name}')
        for s in styles
      ]
    )
    weights = [1.0 - request.mix, request.mix] if len(styles) == 2 else [1.0]
    names = [Path(s).stem for s, w in zip(styles, weights, strict=True) if w > 0]
    return infer.mix(din, weights), '+'.join(names)

  # --------------------------------------------------------------------------- outputs

  def _save(self, image: np.ndarray, stem: str) -> str:
    """Writes the result as PNG in a folder of its own."""
    path = self._result_path(stem, '.png')
    with files.atomic_path(path) as tmp:
      image_files.save_image(tmp, image)
    return path

  def _result_path(self, stem: str, suffix: str) -> str:
    """The next result's path, in a folder of its own; keeps the last KEEP_RESULTS."""
    self._count += 1
    old = os.path.join(self.out_dir, f'{self._count - KEEP_RESULTS:06d}')
    shutil.rmtree(old, ignore_errors=True)
    folder = os.path.join(self.out_dir, f'{self._count:06d}')
    return os.path.join(folder, f'{files.safe_name(stem, 120)}{suffix}')


def example_images(kind: str) -> list[str]:
  """The sample photos ('content') or styles ('style') shipped in the installed wheels,
  as PNG files in the cache (the same embedded set `default:tiny` trains on)."""
  folders = embedded.materialize_embedded_data(os.path.join(cache.cache_dir(), 'embedded_data'))
  val, train = folders[f'{kind}_val'], folders[f'{kind}_train']
  return image_files.list_images(val) + image_files.list_images(train)


def sample_paintings() -> list[str]:
  """The public-domain paintings shipped in the package (`app/samples/SOURCES.md`)."""
  return image_files.list_images(os.path.join(os.path.dirname(__file__), 'samples'))
