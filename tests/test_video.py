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

"""Video: round trips with sound, steady statistics, the flicker metric, bad clips."""

import fcntl
import fractions
import os
import re
import signal
import subprocess
import sys
import time

import jax
import numpy as np
from PIL import Image
import pytest
from skimage import data as skdata

from zmnet_jax import infer
from zmnet_jax.cli import common, stylize as stylize_cli
from zmnet_jax.data import embedded
from zmnet_jax.evaluation import flicker
from zmnet_jax.video import io as video_io, pipeline, temporal

av = pytest.importorskip('av', reason="video needs PyAV (pip install 'zmnet_jax[video]')")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_clip(path, frames, fps=15, audio=None, container=None, options=None):
  """An H.264 clip of uint8 frames [T, H, W, 3] (even sizes), with a 440 Hz tone in
  `audio` ('aac' or 'pcm_s16le') lasting as long as the video. `options`: the muxer's."""
  out = av.open(str(path), 'w', format=container, options=options or {})
  video = out.add_stream('libx264', rate=fps)
  video.height, video.width = frames.shape[1:3]
  video.pix_fmt = 'yuv420p'
  sound = None
  if audio:
    sound = out.add_stream(audio, rate=16000)
    sound.layout = 'mono'
  for i, rgb in enumerate(frames):
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format='rgb24')
    frame.pts, frame.time_base = i, fractions.Fraction(1, fps)
    out.mux(video.encode(frame))
  out.mux(video.encode())
  if sound is not None:
    samples = int(16000 * len(frames) / fps)
    tone = np.sin(np.arange(samples) * 2 * np.pi * 440 / 16000)[None] * 0.3
    fmt = 'fltp' if audio == 'aac' else 's16'
    tone = tone.astype(np.float32) if fmt == 'fltp' else (tone * 32767).astype(np.int16)
    for start in range(0, samples, 1024):
      part = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(tone[:, start : start + 1024]), format=fmt, layout='mono'
      )
      part.sample_rate, part.pts = 16000, start
      part.time_base = fractions.Fraction(1, 16000)
      out.mux(sound.encode(part))
    out.mux(sound.encode())
  out.close()
  return str(path)


def read_clip(path):
  """(VideoInfo, frames [T, H, W, 3] uint8, audio seconds or None)."""
  with video_io.VideoReader(path) as reader:
    info = reader.info()
    frames = np.stack([f.rgb for f in reader.frames()])
  container = av.open(path)
  audio = None
  if container.streams.audio:
    stream = container.streams.audio[0]
    audio = float(stream.duration * stream.time_base)
  container.close()
  return info, frames, audio


def cut_short(path, fraction=0.45):
  """The file cut to `fraction` of its bytes (a download that stopped), beside it."""
  stem, suffix = os.path.splitext(path)
  with open(path, 'rb') as f:
    data = f.read()
  with open(f'{stem}_cut{suffix}', 'wb') as f:
    f.write(data[: int(len(data) * fraction)])
  return f'{stem}_cut{suffix}'


def moving_frames(count=10, height=48, width=64):
  """A photo panned one pixel per frame."""
  photo = skdata.chelsea()
  return np.stack([photo[40 : 40 + height, 60 + i : 60 + i + width] for i in range(count)])


@pytest.fixture(name='style', scope='module')
def _style(tmp_path_factory):
  folders = embedded.materialize_embedded_data(tmp_path_factory.mktemp('embedded'))
  names = sorted(os.listdir(folders['style_val']))
  return [os.path.join(folders['style_val'], n) for n in names]


@pytest.fixture(name='stylizer', scope='module')
def _stylizer():
  return infer.Stylizer.load()


def style_image(path):
  return np.asarray(Image.open(path).convert('RGB'))


def stylize(*args):
  return stylize_cli.main([str(a) for a in args])


# ----------------------------------------------------------------------------- round trip


def test_frames_rate_size_and_sound_survive_the_round_trip(tmp_path, style, capsys):
  source = write_clip(tmp_path / 'in.mp4', moving_frames(10, 50, 70), fps=15, audio='aac')
  out = tmp_path / 'out' / 'styled.mp4'
  assert stylize('--content', source, '--style', style[0], '--out', out) == 0
  summary = capsys.readouterr().out
  assert '10 frames, 70x50 at 15 fps, audio aac (copied), stats smooth' in summary
  info, frames, audio = read_clip(str(out))
  assert (info.width, info.height, info.fps, len(frames)) == (70, 50, 15, 10)
  assert info.codec == 'h264' and audio == pytest.approx(10 / 15, abs=0.07)
  assert frames.std() > 10  # an image, not a blank
  assert sorted(os.listdir(out.parent)) == ['styled.mp4']  # no temporaries left
  # --size resizes (even sizes); PCM sound from a .mkv becomes AAC in the .mp4.
  source = write_clip(tmp_path / 'pcm.mkv', moving_frames(6), audio='pcm_s16le')
  out = tmp_path / 'small.mp4'
  assert stylize('--content', source, '--style', style[0], '--out', out, '--size', 33) == 0
  assert 'audio aac (from pcm_s16le)' in capsys.readouterr().out
  info, frames, audio = read_clip(str(out))
  assert (info.width, info.height, len(frames)) == (44, 32, 6) and audio > 0.3


def test_a_still_clip_gives_identical_frames_in_every_mode(tmp_path, style):
  still = np.repeat(moving_frames(1), 6, axis=0)
  source = write_clip(tmp_path / 'still.mp4', still)
  decoded = read_clip(source)[1]
  assert np.array_equal(decoded[0], decoded[-1])  # lossless enough to test on
  for mode in temporal.MODES:
    out = tmp_path / f'{mode}.mkv'
    args = ['--content', source, '--style', style[0], '--out', out, '--stats', mode]
    assert stylize(*args, '--crf', 0, '--batch', 4) == 0
    frames = read_clip(str(out))[1]
    assert len(frames) == 6
    for frame in frames[1:]:
      np.testing.assert_array_equal(frame, frames[0], err_msg=mode)


def test_a_style_sweep_moves_from_the_first_style_to_the_last(tmp_path, style, stylizer):
  frames = np.repeat(moving_frames(1), 5, axis=0)
  source = write_clip(tmp_path / 'still.mp4', frames)
  out = tmp_path / 'sweep.mkv'
  args = ['--content', source, '--style', style[0], style[1], '--style-sweep', '--out', out]
  assert stylize(*args, '--stats', 'frame', '--crf', 0) == 0
  swept = read_clip(str(out))[1].astype(np.float32)
  content = read_clip(source)[1][:1]
  ends = []
  for path in (style[0], style[1]):
    din = stylizer.encode_images([style_image(path)])
    ends.append(stylizer.stylize(content, din)[0, 0] * 255)
  distance = lambda a, b: float(np.abs(a - b).mean())  # noqa: E731
  # H.264 (even lossless) subsamples colour: a few grey levels from the stills.
  assert distance(swept[0], ends[0]) < 0.4 * distance(swept[0], ends[1])
  assert distance(swept[-1], ends[1]) < 0.4 * distance(swept[-1], ends[0])
  middle = distance(swept[2], ends[0])
  assert distance(swept[0], ends[0]) < middle < distance(swept[-1], ends[0])


def test_mix_strength_and_colour_work_as_for_stills(tmp_path, style):
  frames = moving_frames(4)
  source = write_clip(tmp_path / 'in.mp4', frames)
  outs = {}
  for name, extra in (
    ('plain', []),
    ('mix', ['--mix', '0.5,0.5']),
    ('soft', ['--mix', '0.5,0.5', '--strength', '0.3', '--preserve-color']),
  ):
    out = tmp_path / f'{name}.mkv'
    args = ['--content', source, '--style', style[0], *([style[1]] if extra else []), '--out', out]
    assert stylize(*args, *extra, '--crf', 0) == 0
    outs[name] = read_clip(str(out))[1].astype(np.float32)
    assert len(outs[name]) == 4
  content = read_clip(source)[1].astype(np.float32)
  distance = lambda a, b: float(np.abs(a - b).mean())  # noqa: E731
  assert distance(outs['mix'], outs['plain']) > 3
  # 30% style, the content's colours: much nearer the content than the full mix.
  assert distance(outs['soft'], content) < 0.6 * distance(outs['mix'], content)


# ----------------------------------------------------------------------------- statistics


def test_smoothed_statistics_hold_still_through_a_passing_object(stylizer, style):
  """On the known-motion clip: the whole picture's tone flickers clearly less with the
  moving average than frame by frame, and the warping error is lower too."""
  clip = flicker.known_motion_clip(skdata.astronaut(), 24, (144, 192))
  frames = (clip.frames * 255 + 0.5).astype(np.uint8)
  din = stylizer.encode_images([style_image(style[1])])  # immunohistochemistry
  errors, tones = {}, {}
  for mode in ('frame', 'smooth'):
    transform = pipeline.FrameStylizer(stylizer, pipeline.VideoOptions(stats=mode), 24.0)
    outputs = np.concatenate([transform(frames[i : i + 8], [din] * 8) for i in (0, 8, 16)])
    errors[mode] = flicker.warping_errors(outputs, clip).mean()
    tones[mode] = flicker.tone_flickers(outputs, clip).mean()
  # Measured: tone 0.0028 -> 0.0016, warping error 0.043 -> 0.041 (the rest of it is
  # texture shimmering in place, which no normalization causes).
  assert tones['smooth'] < 0.75 * tones['frame']
  assert errors['smooth'] < errors['frame']


def test_the_warping_error_of_the_known_motion_clip_is_its_light_change_only():
  clip = flicker.known_motion_clip(skdata.chelsea(), 12, (60, 80), light=0.5, light_frames=2)
  errors = flicker.warping_errors(clip.frames, clip)
  light = flicker.lighting_pairs(clip)
  assert light.sum() == 2 and errors[~light].max() < 0.015  # resampling only
  assert errors[light].min() > 0.05
  shuffled = clip.frames[np.r_[0:6, 8, 7, 6, 9:12]]
  assert flicker.warping_errors(shuffled, clip)[6] > 2 * errors[~light].max()


def test_pooled_statistics_of_two_equal_frames_are_the_frame_s_own(stylizer, style):
  frame = moving_frames(1)[0]
  din = stylizer.encode_images([style_image(style[0])])
  own = temporal.frame_statistics(stylizer, frame[None], din)
  pooled = temporal.clip_statistics(stylizer, [frame, frame], din)
  for a, b in zip(jax.tree.leaves(own), jax.tree.leaves(pooled), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_exposure_is_tracked_and_cuts_restart_the_average():
  photo = skdata.chelsea().astype(np.float32) / 255
  other = skdata.astronaut()[:300, :451].astype(np.float32) / 255
  thumbs = [temporal.thumbnail(x) for x in (photo, photo, photo * 0.6, photo * 0.6, other)]
  smoothed = temporal.SmoothedStatistics(weight=0.5, cut_threshold=0.15)
  gains, cuts = smoothed.track(np.stack(thumbs))
  np.testing.assert_allclose(gains, [1, 1, 0.6, 0.6, 1], atol=0.03)
  assert cuts.tolist() == [True, False, False, False, True] and smoothed.cuts == 1
  own = {'layer': (np.arange(5.0)[None, :, None], np.ones((1, 5, 1)))}
  means = smoothed.update(own, cuts)['layer'][0][0, :, 0]
  np.testing.assert_allclose(means, [0, 0.5, 1.25, 2.125, 4])  # restarted at the cut


def test_an_even_sample_of_a_stream_of_unknown_length():
  sample = pipeline.EvenSample(4)
  for i in range(1000):
    sample.add(lambda i=i: i)
  picked = sample.items()
  assert len(picked) == 4 and len(sample.kept) <= 8
  assert picked[0] < 250 and picked[-1] > 750


# ----------------------------------------------------------------------------- bad input


def assert_one_line_error(capsys, code, words):
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 1 and len(err) == 1 and words in err[0] and 'Traceback' not in err[0], err


def test_bad_clips_are_one_line_errors_and_leave_no_output(tmp_path, style, capsys):
  out = tmp_path / 'out.mp4'
  text = tmp_path / 'notes.mp4'
  text.write_text('not a video')
  assert_one_line_error(
    capsys, stylize('--content', text, '--style', style[0], '--out', out), 'not a video FFmpeg'
  )
  empty = tmp_path / 'empty.avi'
  container = av.open(str(empty), 'w')
  stream = container.add_stream('mpeg4', rate=10)
  stream.width = stream.height = 16
  container.start_encoding()
  container.close()
  assert_one_line_error(
    capsys, stylize('--content', empty, '--style', style[0], '--out', out), 'no video frames'
  )
  unknown = tmp_path / 'unknown.avi'
  write_clip(tmp_path / 'ok.avi', moving_frames(3), container='avi')
  unknown.write_bytes((tmp_path / 'ok.avi').read_bytes().replace(b'H264', b'ZZ99'))
  assert_one_line_error(
    capsys, stylize('--content', unknown, '--style', style[0], '--out', out), 'no decoder'
  )
  assert not out.exists() and {p.name for p in tmp_path.iterdir()}.isdisjoint({'out.mp4'})


def test_a_failure_mid_clip_leaves_nothing_under_the_final_name(tmp_path, style, monkeypatch):
  source = write_clip(tmp_path / 'in.mp4', moving_frames(8))
  calls = []

  def failing(self, frames, dins):
    calls.append(len(frames))
    if len(calls) == 2:
      raise video_io.VideoError('disk full (simulated)')
    return frames

  monkeypatch.setattr(pipeline.FrameStylizer, '__call__', failing)
  out = tmp_path / 'out' / 'clip.mp4'
  assert stylize('--content', source, '--style', style[0], '--out', out, '--batch', 4) == 1
  assert calls == [4, 4] and os.listdir(out.parent) == []


def test_missing_pyav_is_a_one_line_install_hint(tmp_path, style, capsys, monkeypatch):
  source = write_clip(tmp_path / 'in.mp4', moving_frames(2))
  monkeypatch.setitem(sys.modules, 'av', None)
  assert_one_line_error(
    capsys,
    stylize('--content', source, '--style', style[0], '--out', tmp_path / 'o.mp4'),
    "pip install 'zmnet_jax[video]'",
  )


@pytest.mark.parametrize(
  'extra, words',
  [
    (['--backend', 'onnx'], '--backend: not for videos'),
    (['--exact-stats'], '--exact-stats: not for videos'),
    (['--style-sweep'], '--style-sweep: needs at least two signals'),
    (['--mask', 'mask.png'], '--mask: for still images'),
  ],
)
def test_options_videos_cannot_take(tmp_path, style, capsys, extra, words):
  source = write_clip(tmp_path / 'in.mp4', moving_frames(2))
  code = stylize('--content', source, '--style', style[0], '--out', tmp_path / 'o.mp4', *extra)
  err = capsys.readouterr().err
  assert code == 2 and words in err, err


def test_keep_partial_is_in_the_help(capsys):
  assert stylize('--help') == 0
  assert '--keep-partial' in capsys.readouterr().out


@pytest.mark.parametrize(
  'kind, words',
  [
    ('mp4', 'truncated or damaged: decoded {n} of the 60 frames its header declares'),
    ('mp4-raising', 'cannot decode past frame {n} of 60 ('),
    ('mkv', 'ends early: decoded {n} of the 60 frames its header declares'),
  ],
  ids=['mp4-skipped', 'mp4-raising', 'mkv'],
)
def test_a_clip_cut_short_is_an_error_or_a_warning_with_the_counts(
  tmp_path, style, capsys, monkeypatch, kind, words
):
  """Cut to 45% with its header intact. An .mp4 with its index in front: the last packet
  is cut; FFmpeg's frame-threaded decoder (ours) skips it and ends early, a single-threaded
  one raises; both are an error unless --keep-partial. A .mkv just ends: a warning."""
  if kind == 'mp4-raising':
    monkeypatch.setattr(video_io.VideoReader, 'THREAD_TYPE', 'SLICE', raising=False)
  # Noise: as many bytes each frame, so that 45% of them hold ~25 frames.
  frames = np.random.default_rng(0).integers(0, 256, (60, 48, 64, 3), dtype=np.uint8)
  if kind == 'mkv':
    whole = write_clip(str(tmp_path / 'in.mkv'), frames, container='matroska')
  else:
    whole = write_clip(str(tmp_path / 'in.mp4'), frames, options={'movflags': '+faststart'})
  source = cut_short(whole)
  for path in (whole, source):  # the header survived the cut
    with video_io.VideoReader(path) as reader:
      assert reader.info().frames == 60
  out = tmp_path / 'out' / 'clip.mp4'
  args = ['--content', source, '--style', style[0], '--out', out, '--batch', 8]
  if kind != 'mkv':
    code = stylize(*args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert re.fullmatch(
      r'error: .*in_cut\.mp4: .*--keep-partial keeps the \d+ frames before', err[0]
    )
    assert not out.exists() and os.listdir(out.parent) == []  # not even a temporary
    args.append('--keep-partial')
  assert stylize(*args) == 0
  captured = capsys.readouterr()
  warnings = [line for line in captured.err.splitlines() if line.startswith('warning:')]
  assert len(warnings) == 1 and source in warnings[0], captured.err
  decoded = int(re.search(r'(?:decoded|frame) (\d+) of', warnings[0]).group(1))
  assert 15 < decoded < 35 and words.format(n=decoded) in warnings[0]
  assert f'{decoded} of 60 frames' in captured.out
  assert len(read_clip(str(out))[1]) == decoded
  assert os.listdir(out.parent) == ['clip.mp4']


# ----------------------------------------------------------------------------- stopped runs


def test_sigterm_within_the_guard_is_a_keyboard_interrupt():
  before = signal.getsignal(signal.SIGTERM)
  with pytest.raises(KeyboardInterrupt), common.terminate_as_interrupt():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises at once
  assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_mid_clip_cleans_up_like_ctrl_c(tmp_path, style):
  """From the command line: the temporary removed, one line, the status of Ctrl-C."""
  source = write_clip(tmp_path / 'long.mp4', moving_frames(300))
  out = tmp_path / 'out' / 'clip.mp4'
  command = [sys.executable, '-m', 'zmnet_jax.stylize', '--content', source]
  command += ['--style', style[0], '--out', str(out), '--batch', '2']
  env = dict(os.environ, PYTHONPATH=REPO)
  proc = subprocess.Popen(
    command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
  )
  try:
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
      if out.parent.exists() and any(n.endswith('.tmp.mp4') for n in os.listdir(out.parent)):
        break
      time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.communicate()
  assert proc.returncode == 130, err[-2000:]
  assert err.strip().splitlines()[-1] == 'error: interrupted' and 'Traceback' not in err
  assert os.listdir(out.parent) == []  # no temporary, no output


def test_temporaries_of_killed_runs_are_removed_by_the_next_run(tmp_path, style, capsys):
  source = write_clip(tmp_path / 'in.mp4', moving_frames(2))
  folder = tmp_path / 'out'
  folder.mkdir()
  names = {
    'stale': '.clip.abcd_123.tmp.mp4',  # a killed run's: removed
    'fresh': '.clip.fresh123.tmp.mp4',  # a run starting, or killed just now: reported
    'locked': '.clip.locked12.tmp.mp4',  # a running run's (it holds the lock): left alone
    'other output': '.clip.v2.abcd1234.tmp.mp4',  # clip.v2.mp4's
    'other suffix': '.clip.abcd1234.tmp.mkv',
  }
  old = time.time() - 3600
  for key, name in names.items():
    (folder / name).write_bytes(b'')
    if key != 'fresh':
      os.utime(folder / name, (old, old))
  with open(folder / names['locked'], 'rb') as held:
    fcntl.flock(held, fcntl.LOCK_EX)
    assert stylize('--content', source, '--style', style[0], '--out', folder / 'clip.mp4') == 0
  err = capsys.readouterr().err
  left = set(os.listdir(folder))
  assert left == {'clip.mp4', *names.values()} - {names['stale']}
  assert f'note: removed {folder / names["stale"]}, the temporary of an earlier run' in err
  assert f'note: left {folder / names["fresh"]}' in err
  assert names['locked'] not in err and names['other output'] not in err
