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

"""Video files through PyAV (FFmpeg's libraries, the `[video]` extra), streamed.

`VideoReader` decodes any container and codec FFmpeg reads, one frame at a time, upright
(rotation metadata applied), and hands over the first audio stream's packets untouched;
`VideoWriter` encodes H.264 (yuv420p, even sizes: what every player plays) at the
source's frame times and muxes that audio beside it, copied, or as AAC where the output
container cannot hold its codec. Every problem is a `VideoError` naming the file.

A clip may hold fewer frames than its header declares: cut short (a download or a copy
that stopped) or damaged. After a pass, `VideoReader.ending()` says so. Measured with
FFmpeg 8 (PyAV 18) on an .mp4 with its index in front, cut to 45%: the demuxer hands the
last, partial packet over flagged corrupt; a single-threaded decoder raises on it, the
frame-threaded one (ours) skips it and ends early without a word. A .mkv cut so ends early
with no flag at all.
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import fractions
import os
from typing import Any

import numpy as np

VIDEO_EXTENSIONS = frozenset(
  {'.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg', '.mpeg', '.wmv', '.flv', '.ts', '.3gp'}
)
OUTPUT_EXTENSIONS = ('.mp4', '.mov', '.mkv')
# Audio codecs each output container holds as they are (others are re-encoded to AAC).
COPYABLE_AUDIO = {
  '.mp4': {'aac', 'mp3', 'ac3', 'eac3', 'opus', 'flac', 'alac'},
  '.mov': {'aac', 'mp3', 'ac3', 'eac3', 'alac', 'pcm_s16le', 'pcm_s24le', 'pcm_f32le'},
  '.mkv': None,  # any
}


class VideoError(ValueError):
  """A video that cannot be read or written, with a one-line reason naming the file."""


class DecodeError(VideoError):
  """Decoding broke off mid-stream (FFmpeg raised) after `decoded` frames."""

  def __init__(self, message: str, decoded: int):
    super().__init__(message)
    self.decoded = decoded


@dataclasses.dataclass(frozen=True)
class Ending:
  """How a pass through a clip ended when not where its header says."""

  message: str  # one line naming the file, with the frames declared and decoded
  broken: bool  # a decode error (raised, or a cut packet the decoder skipped): data lost


def require_av():
  """The `av` module, or a VideoError saying how to install it."""
  try:
    import av
  except ImportError:
    raise VideoError(
      "video needs PyAV (FFmpeg's libraries): pip install 'zmnet_jax[video]'"
    ) from None
  return av


def is_video_path(path: str) -> bool:
  """A path with a video suffix that is not a folder (a folder of images may be named so)."""
  path = str(path)
  return os.path.splitext(path)[1].lower() in VIDEO_EXTENSIONS and not os.path.isdir(path)


def _reason(error: Exception) -> str:
  text = getattr(error, 'strerror', None) or str(error) or type(error).__name__
  return text.splitlines()[0]


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  """What a clip holds: its upright frame size, frame rate, length and streams."""

  path: str
  width: int
  height: int
  fps: fractions.Fraction
  frames: int  # from the container (or duration x rate); 0 when unknown
  duration: float  # seconds; 0 when unknown
  codec: str
  audio_codec: str | None


@dataclasses.dataclass(frozen=True)
class Frame:
  """One decoded frame: uint8 RGB [H, W, 3] (upright), its time stamp and time base."""

  rgb: np.ndarray
  pts: int | None
  time_base: fractions.Fraction


class VideoReader:
  """Frames and audio packets of a clip, in file order, one at a time.

  `items()` yields `Frame`s of the first video stream and the first audio stream's
  packets (PyAV `Packet`s, for `VideoWriter.mux_audio`).
  """

  THREAD_TYPE = 'AUTO'  # FFmpeg's decoder threading (frames and slices)

  def __init__(self, path: str):
    av = require_av()
    self.path = str(path)
    if os.path.isdir(self.path):
      raise VideoError(f'{self.path}: is a folder, not a video')
    if not os.path.exists(self.path):
      raise VideoError(f'{self.path}: file not found')
    try:
      self._container = av.open(self.path)
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
      raise VideoError(f'{self.path}: not a video FFmpeg can read ({_reason(e)})') from None
    try:
      self._video, self._audio = self._streams()
    except BaseException:
      self._container.close()
      raise
    self._read = False
    self.decoded, self.corrupt, self.error = 0, False, None

  def _streams(self):
    if not self._container.streams.video:
      raise VideoError(f'{self.path}: has no video stream')
    video = self._container.streams.video[0]
    if video.codec_context is None:
      raise VideoError(f'{self.path}: FFmpeg has no decoder for its video codec')
    video.thread_type = self.THREAD_TYPE
    audio = self._container.streams.audio[0] if self._container.streams.audio else None
    if audio is not None and audio.codec_context is None:
      audio = None  # no decoder, so no known parameters: the output goes without sound
    return video, audio

  @property
  def audio_stream(self):
    return self._audio

  @property
  def video_stream(self):
    return self._video

  def _header(self) -> tuple[fractions.Fraction, int, float]:
    """(frame rate, frames, seconds) as the headers declare them (0 when unknown)."""
    stream = self._video
    fps = stream.average_rate or stream.guessed_rate or fractions.Fraction(25)
    duration = 0.0
    if stream.duration is not None and stream.time_base:
      duration = float(stream.duration * stream.time_base)
    elif self._container.duration:
      duration = self._container.duration / 1e6
    return fractions.Fraction(fps), stream.frames or int(round(duration * fps)), duration

  @property
  def declared_frames(self) -> int:
    """The frame count from the container (or duration x rate); 0 when unknown."""
    return self._header()[1]

  def info(self) -> VideoInfo:
    """The clip's properties, from its headers and its first frame (the upright size)."""
    fps, frames, duration = self._header()
    first = self.first_frame()
    return VideoInfo(
      self.path,
      first.shape[1],
      first.shape[0],
      fps,
      frames,
      duration,
      self._video.codec_context.name,
      self._audio.codec_context.name if self._audio is not None else None,
    )

  def first_frame(self) -> np.ndarray:
    """The first frame (uint8 RGB, upright); VideoError when there is none. Leaves the
    reader at the start of the clip."""
    self._rewind()
    for item in self.items():
      if isinstance(item, Frame):
        self._rewind()
        return item.rgb
    raise VideoError(f'{self.path}: has no video frames')

  def _rewind(self) -> None:
    if self._read:
      self._container.seek(0)
      self._read = False

  def items(self, keep_partial: bool = False) -> Iterator[Any]:
    """`Frame`s and audio packets in file order (then the decoder's last frames).

    Counts the frames (`decoded`) and notes a corrupt packet (`corrupt`). A decode error
    mid-stream raises DecodeError, or with `keep_partial` (and a frame decoded) ends the
    pass, noted in `error`; `ending()` then tells how the pass ended.
    """
    av = require_av()
    streams = [self._video] + ([self._audio] if self._audio is not None else [])
    self._read = True
    self.decoded, self.corrupt, self.error = 0, False, None
    try:
      for packet in self._container.demux(*streams):
        if packet.stream is self._video:
          self.corrupt = self.corrupt or packet.is_corrupt
          for frame in packet.decode():
            self.decoded += 1
            yield self._frame(frame)
        elif packet.dts is not None:
          yield packet
    except av.error.FFmpegError as e:
      self.error = _reason(e)
      if not (keep_partial and self.decoded):
        if not self.decoded:
          raise DecodeError(f'{self.path}: cannot decode ({self.error})', 0) from None
        raise DecodeError(self._broken_off(), self.decoded) from None

  def frames(self, keep_partial: bool = False) -> Iterator[Frame]:
    """The video frames alone."""
    return (item for item in self.items(keep_partial) if isinstance(item, Frame))

  def _broken_off(self) -> str:
    declared = self.declared_frames
    of = f' of {declared}' if declared else ''
    return f'{self.path}: cannot decode past frame {self.decoded}{of} ({self.error})'

  def ending(self) -> Ending | None:
    """After a whole pass (`items()` to its end): None when the clip held the frames its
    header declares (within 1%, at least 1: headers round), else how it ended."""
    if self.error is not None:
      return Ending(self._broken_off(), broken=True)
    declared, decoded = self.declared_frames, self.decoded
    if not declared or decoded >= declared - max(1, declared // 100):
      return None
    counts = f'decoded {decoded} of the {declared} frames its header declares'
    if self.corrupt:  # a packet cut short: the file is truncated (or damaged)
      return Ending(f'{self.path}: truncated or damaged: {counts}', broken=True)
    return Ending(f'{self.path}: ends early: {counts}', broken=False)

  def _frame(self, frame) -> Frame:
    rgb = frame.to_ndarray(format='rgb24')
    turns = int(round(getattr(frame, 'rotation', 0) or 0)) // 90 % 4
    if turns:
      rgb = np.ascontiguousarray(np.rot90(rgb, turns))
    return Frame(rgb, frame.pts, frame.time_base or self._video.time_base)

  def close(self) -> None:
    self._container.close()

  def __enter__(self) -> VideoReader:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def even_size(width: int, height: int) -> tuple[int, int]:
  """The largest even (width, height) within the frame (H.264 in yuv420p needs them)."""
  if width < 2 or height < 2:
    raise VideoError(f'frames of {width}x{height} are too small to encode')
  return width // 2 * 2, height // 2 * 2


class VideoWriter:
  """An H.264 (yuv420p) clip at `fps`, with frames at given times and copied audio.

  `path`'s suffix picks the container (.mp4, .mov or .mkv). Frames larger than the
  (even) size are cropped to it. `time_base` is that of the `pts` given to `write`.
  """

  def __init__(
    self,
    path: str,
    width: int,
    height: int,
    fps: fractions.Fraction,
    time_base: fractions.Fraction,
    audio_stream=None,
    crf: int = 18,
    preset: str = 'medium',
    suffix: str | None = None,
  ):
    av = require_av()
    self.path = str(path)
    self.width, self.height = even_size(width, height)
    suffix = (suffix or os.path.splitext(self.path)[1]).lower()
    if suffix not in OUTPUT_EXTENSIONS:
      raise VideoError(f'{path}: write video as {", ".join(OUTPUT_EXTENSIONS)}')
    try:
      self._container = av.open(self.path, 'w', format={'.mkv': 'matroska'}.get(suffix, suffix[1:]))
    except av.error.FFmpegError as e:
      raise VideoError(f'{path}: cannot write ({_reason(e)})') from None
    self._time_base = time_base
    self._video = self._container.add_stream('libx264', rate=fps)
    self._video.width, self._video.height = self.width, self.height
    self._video.pix_fmt = 'yuv420p'
    self._video.time_base = time_base
    self._video.codec_context.time_base = time_base
    self._video.options = {'crf': str(crf), 'preset': preset}
    self._audio_in, self._audio_out, self._transcode = audio_stream, None, False
    if audio_stream is not None:
      self._add_audio(audio_stream, suffix)
    self._count = 0
    self._last_pts = None

  def _add_audio(self, source, suffix: str) -> None:
    copyable = COPYABLE_AUDIO[suffix]
    if copyable is None or source.codec_context.name in copyable:
      self._audio_out = self._container.add_stream_from_template(source)
    else:
      self._audio_out = self._container.add_stream('aac', rate=source.codec_context.sample_rate)
      self._transcode = True

  def write(self, rgb: np.ndarray, pts: int | None = None) -> None:
    """One uint8 RGB frame [H, W, 3] at time `pts` (in `time_base`; default: the next
    frame slot after the previous one)."""
    av = require_av()
    frame = av.VideoFrame.from_ndarray(
      np.ascontiguousarray(rgb[: self.height, : self.width]), format='rgb24'
    )
    if pts is None or (self._last_pts is not None and pts <= self._last_pts):
      step = max(1, int(round(1 / (self._video.average_rate or 25) / self._time_base)))
      pts = 0 if self._last_pts is None else self._last_pts + step
    frame.pts, frame.time_base, self._last_pts = pts, self._time_base, pts
    self._mux(self._video.encode(frame))
    self._count += 1

  def mux_audio(self, packet) -> None:
    """One packet of the reader's audio stream: copied, or decoded and encoded as AAC."""
    if self._audio_out is None:
      return
    if not self._transcode:
      packet.stream = self._audio_out
      self._container.mux(packet)
      return
    for frame in packet.decode():
      frame.pts = None
      self._mux(self._audio_out.encode(frame))

  def _mux(self, packets) -> None:
    av = require_av()
    try:
      self._container.mux(packets)
    except av.error.FFmpegError as e:
      raise VideoError(f'{self.path}: cannot write ({_reason(e)})') from None

  @property
  def frames_written(self) -> int:
    return self._count

  @property
  def audio_summary(self) -> str | None:
    """What became of the audio: 'aac (copied)', 'aac (from pcm_s16le)' or None."""
    if self._audio_out is None:
      return None
    name = self._audio_in.codec_context.name
    return f'aac (from {name})' if self._transcode else f'{name} (copied)'

  def close(self) -> None:
    """Flushes the encoders and finishes the file."""
    try:
      self._mux(self._video.encode())
      if self._transcode:
        self._mux(self._audio_out.encode())
    finally:
      self._container.close()

  def abort(self) -> None:
    """Closes the file without finishing it (the caller removes it)."""
    try:
      self._container.close()
    except Exception:  # already failing; keep that error
      pass

  def __enter__(self) -> VideoWriter:
    return self

  def __exit__(self, exc_type, *exc_info) -> None:
    """Finishes the file, or (on an exception) just closes it."""
    if exc_type is None:
      self.close()
    else:
      self.abort()
