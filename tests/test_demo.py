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

"""The web app: its engine, its HTTP API, and its page in a real (headless) Chromium.

The browser test writes screenshots to `$ZMNET_JAX_TEST_ARTIFACTS` (default
`test-artifacts/` in the repository) and skips where no Chromium is installed
(`apt-get install chromium chromium-driver`; `.ci/run` installs them).
"""

import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
from PIL import Image
import pytest

from benchmarks import browser  # test and benchmark support, outside the package
from zmnet_jax import infer
from zmnet_jax.app import engine as engine_lib
from zmnet_jax.data import image_arrays, image_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACTS = os.environ.get('ZMNET_JAX_TEST_ARTIFACTS') or os.path.join(REPO, 'test-artifacts')


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
  """A content photo (300x200), two styles, a non-image named .png, an oversized PNG."""
  root = tmp_path_factory.mktemp('uploads')
  content_val = os.path.dirname(engine_lib.example_images('content')[0])
  chelsea = image_files.load_image(os.path.join(content_val, 'chelsea.png'))
  paths = {}
  for name, image in {
    'cat': image_arrays.resize_short_side(chelsea, 200)[:, :300],
    'gravel': image_files.load_image(engine_lib.example_images('style')[0]),
    'stripes': np.kron(np.indices((8, 8)).sum(0) % 2, np.ones((16, 16)))[..., None]
    * np.array([230, 40, 20])[None, None],
  }.items():
    paths[name] = str(root / f'{name}.png')
    image_files.save_image(paths[name], image.astype(np.uint8))
  paths['text'] = str(root / 'notes.png')
  (root / 'notes.png').write_text('not an image, whatever the name says\n')
  paths['huge'] = str(root / 'huge.png')
  Image.new('RGB', (1200, 1000), (90, 120, 200)).save(paths['huge'])
  return paths


@pytest.fixture(scope='module')
def shipped():
  return infer.Stylizer.load()


@pytest.fixture(scope='module')
def engine(shipped, tmp_path_factory):
  return engine_lib.Engine(shipped, str(tmp_path_factory.mktemp('results')), max_pixels=1_000_000)


def run(engine, photos, **request):
  request.setdefault('styles', (photos['gravel'],))
  result = engine.run(engine_lib.Request(photos['cat'], **request))
  return image_files.load_image(result.path), result


# ----------------------------------------------------------------------------- engine


def test_result_is_a_stylized_png_at_the_chosen_size(engine, photos):
  out, result = run(engine, photos, size=128)
  assert out.shape == (128, 192, 3) and result.shape == (128, 192)
  assert os.path.basename(result.path) == 'cat__gravel.png'
  assert result.summary.startswith('cat__gravel.png: 192x128, ')
  cat = image_arrays.resize_short_side(image_files.load_image(photos['cat']), 128)
  assert np.abs(out.astype(float) - cat).mean() > 10  # stylized, not the photo
  as_uploaded, _ = run(engine, photos, size=None)
  assert as_uploaded.shape == (200, 300, 3)


def test_mix_slides_from_the_first_style_to_the_second(engine, photos):
  both = dict(styles=(photos['gravel'], photos['stripes']), size=64)
  first, result = run(engine, photos, mix=0.0, **both)
  assert np.array_equal(first, run(engine, photos, styles=(photos['gravel'],), size=64)[0])
  second, _ = run(engine, photos, mix=1.0, **both)
  assert np.array_equal(second, run(engine, photos, styles=(photos['stripes'],), size=64)[0])
  half, mixed = run(engine, photos, mix=0.5, **both)
  assert os.path.basename(mixed.path) == 'cat__gravel+stripes.png'
  gap = np.abs(first.astype(float) - second).mean()
  assert gap > 5
  assert np.abs(half.astype(float) - first).mean() < gap
  assert np.abs(half.astype(float) - second).mean() < gap


def test_strength_and_colour_follow_the_stylizer(engine, shipped, photos):
  cat = image_arrays.to_float(
    image_arrays.resize_short_side(image_files.load_image(photos['cat']), 64)
  )[None]
  gravel = image_files.load_image(photos['gravel'])
  din = shipped.with_strength(shipped.encode_images([gravel]), cat, 0.3)
  want = shipped.stylize(cat, din, preserve_colors=True)[0, 0]
  out, _ = run(engine, photos, strength=0.3, preserve_color=True, size=64)
  assert np.abs(out.astype(float) - image_files.to_uint8(want)).max() <= 1


def test_moving_a_slider_reencodes_nothing(engine, photos, monkeypatch, tmp_path):
  run(engine, photos, size=64, strength=0.5)
  calls = []
  encode = engine.stylizer.encode_inputs
  monkeypatch.setattr(engine.stylizer, 'encode_inputs', lambda x: calls.append(1) or encode(x))
  for strength in (0.5, 0.7, 1.0):
    run(engine, photos, size=64, strength=strength)
  assert calls == []
  new_style = str(tmp_path / 'noise.png')
  image_files.save_image(
    new_style, np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
  )
  run(engine, photos, size=64, styles=(new_style,))
  assert calls == [1]


@pytest.mark.parametrize(
  'upload, request_fields, message',
  [
    ('text', {}, 'content image notes.png: not a recognized image file'),
    ('huge', {}, 'content image huge.png: too many pixels'),
    ('cat', {'styles': ('text',)}, 'style image notes.png: not a recognized image file'),
    ('cat', {'styles': ()}, 'give one or two style images, not 0'),
    ('cat', {'size': 2000}, 'output size 2000 makes it 3000x2000'),
    ('missing', {}, 'content image missing.png: cannot be read'),
  ],
)
def test_bad_requests_are_one_line(engine, photos, upload, request_fields, message):
  fields = dict(request_fields)
  fields['styles'] = tuple(photos[s] for s in fields.get('styles', ('gravel',)))
  content = photos.get(upload) or os.path.join(os.path.dirname(photos['cat']), 'missing.png')
  with pytest.raises(engine_lib.RequestError) as error:
    engine.run(engine_lib.Request(content, **fields))
  assert message in str(error.value) and '\n' not in str(error.value)
  assert run(engine, photos, size=32)[0].shape == (32, 48, 3)  # still serving


def test_a_word_model_takes_text(trained_word_workdir, photos, tmp_path):
  words = engine_lib.Engine(infer.Stylizer.load(trained_word_workdir), str(tmp_path))
  assert words.takes_words and sorted(words.words) == ['night', 'noon']
  request = engine_lib.Request(photos['cat'], text='0.5 noon + 0.5  night', size=32)
  result = words.run(request)
  assert os.path.basename(result.path) == 'cat__0.5_noon_+_0.5_night.png'
  assert image_files.load_image(result.path).shape == (32, 48, 3)
  with pytest.raises(engine_lib.RequestError, match='type a word'):
    words.run(engine_lib.Request(photos['cat'], text=' '))
  with pytest.raises(engine_lib.RequestError, match='needs an image-signal model'):
    words.run(engine_lib.Request(photos['cat'], text='noon', strength=0.5))


def test_results_beyond_the_last_few_are_deleted(shipped, photos, tmp_path, monkeypatch):
  monkeypatch.setattr(engine_lib, 'KEEP_RESULTS', 2)
  small = engine_lib.Engine(shipped, str(tmp_path))
  paths = [run(small, photos, size=16)[1].path for _ in range(4)]
  assert [os.path.exists(p) for p in paths] == [False, False, True, True]
  assert sorted(os.listdir(tmp_path)) == ['000003', '000004']


# ----------------------------------------------------------------------------- server


@pytest.fixture(scope='module')
def server(engine):
  pytest.importorskip('gradio', reason='the [demo] extra (gradio) is not installed')
  from zmnet_jax.app import server as server_lib

  options = server_lib.ServerOptions(port=browser.free_port(), max_file_size='1mb')
  blocks, url = server_lib.launch(engine, options)
  yield url
  blocks.close()


def test_the_page_shows_the_signal_the_model_takes(engine, trained_word_workdir, tmp_path):
  pytest.importorskip('gradio', reason='the [demo] extra (gradio) is not installed')
  from zmnet_jax.app import page

  words = engine_lib.Engine(infer.Stylizer.load(trained_word_workdir), str(tmp_path))
  for eng, styles_visible in ((engine, True), (words, False)):
    blocks = {b.elem_id: b for b in page.build_page(eng).blocks.values() if b.elem_id}
    assert blocks['styles'].visible is styles_visible
    assert blocks['words'].visible is not styles_visible


def predict(client_lib, client, content: str, style: str, **fields):
  """The server's /stylize on two upload files: (result path, status)."""
  return client.predict(
    content=client_lib.handle_file(content),
    style=client_lib.handle_file(style),
    api_name='/stylize',
    **fields,
  )


def test_the_api_stylizes_and_reports_bad_uploads(server, photos):
  client_lib = pytest.importorskip('gradio_client')
  client = client_lib.Client(server, verbose=False)
  path, status = predict(client_lib, client, photos['cat'], photos['gravel'], size='64')
  assert image_files.load_image(path).shape == (64, 96, 3)
  assert status.startswith('cat__gravel.png: 96x64, ')
  with pytest.raises(Exception, match='content image notes.png: not a recognized image file'):
    predict(client_lib, client, photos['text'], photos['gravel'])
  path, _ = predict(client_lib, client, photos['cat'], photos['stripes'], size='32')
  assert image_files.load_image(path).shape == (32, 48, 3)


def test_the_video_api_returns_the_stylized_mp4(server, photos, tmp_path):
  client_lib = pytest.importorskip('gradio_client')
  clip = write_clip(tmp_path / 'clip.mp4')
  client = client_lib.Client(server, verbose=False)
  video, status = client.predict(
    video=client_lib.handle_file(clip),
    style=client_lib.handle_file(photos['gravel']),
    size='64',
    api_name='/stylize_video',
  )
  assert status.startswith('clip__gravel.mp4: 84x64, ')
  path = video['video'] if isinstance(video, dict) else video
  assert os.path.getsize(path) > 1000


def test_requests_queue_instead_of_running_side_by_side(server, engine, photos, monkeypatch):
  client_lib = pytest.importorskip('gradio_client')
  monkeypatch.setattr(engine, '_lock', contextlib.nullcontext())  # only Gradio's queue left
  spans, run = [], engine.run

  def timed_run(request):
    start = time.perf_counter()
    try:
      return run(request)
    finally:
      spans.append((start, time.perf_counter()))

  monkeypatch.setattr(engine, 'run', timed_run)
  client = client_lib.Client(server, verbose=False)
  jobs = [
    client.submit(
      content=client_lib.handle_file(photos['cat']),
      style=client_lib.handle_file(photos[style]),
      size=size,
      api_name='/stylize',
    )
    for style, size in (('gravel', '96'), ('stripes', '80'), ('gravel', '72'))
  ]
  shapes = [image_files.load_image(job.result(timeout=300)[0]).shape[:2] for job in jobs]
  assert shapes == [(96, 144), (80, 120), (72, 108)]
  spans.sort()
  assert len(spans) == 3
  assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


def test_an_upload_over_the_size_limit_is_refused(server, photos, tmp_path):
  client_lib = pytest.importorskip('gradio_client')
  big = str(tmp_path / 'noise.png')  # 1.2 MB; the test server takes at most 1 MB
  image_files.save_image(big, np.random.default_rng(0).integers(0, 255, (640, 640, 3), np.uint8))
  client = client_lib.Client(server, verbose=False)
  with pytest.raises(Exception, match='(?i)file.*(size|large)'):
    predict(client_lib, client, big, photos['gravel'])


FILE_DATA = {'_type': 'gradio.FileData'}  # what marks a file in the API's JSON


def call_api(server: str, data: list) -> tuple[str, dict | list]:
  """/stylize over plain HTTP, as any client may call it: (the last event, its data)."""
  post = urllib.request.Request(
    urllib.parse.urljoin(server, 'gradio_api/call/stylize'),
    json.dumps({'data': data}).encode(),
    {'Content-Type': 'application/json'},
  )
  with urllib.request.urlopen(post, timeout=30) as response:
    event_id = json.loads(response.read())['event_id']
  url = urllib.parse.urljoin(server, f'gradio_api/call/stylize/{event_id}')
  with urllib.request.urlopen(url, timeout=300) as response:
    lines = response.read().decode().splitlines()
  events = [line.removeprefix('event: ') for line in lines if line.startswith('event: ')]
  payloads = [line.removeprefix('data: ') for line in lines if line.startswith('data: ')]
  return events[-1], json.loads(payloads[-1])


def api_inputs(content=None, mix=0.5, size='64') -> list:
  """The inputs of /stylize: content, style, second style, mix, text, strength, colour, size,
  mode."""
  return [content, None, None, mix, '', 1.0, False, size, 'full']


def assert_refused(server, data, message, capfd, caplog):
  """The caller gets `message` as the error; the log one line, stderr no traceback."""
  capfd.readouterr()
  event, payload = call_api(server, data)
  assert (event, payload['error']) == ('error', message)
  refused = [r.getMessage() for r in caplog.records if r.name == 'zmnet_jax.app.page']
  assert refused == [f'request refused: {message}']
  assert 'Traceback' not in capfd.readouterr().err


@pytest.mark.parametrize(
  'content, message',
  [
    (
      {'path': '/etc/passwd', 'meta': FILE_DATA},
      'Cannot move /etc/passwd to the gradio cache dir because it was not uploaded by a user.',
    ),
    (
      {'path': '/srv/made/up.png', 'meta': FILE_DATA},
      'Cannot move /srv/made/up.png to the gradio cache dir because it was not uploaded by a user.',
    ),
    ({'path': '/etc/passwd'}, 'Content photo: /etc/passwd is not a file uploaded to this server'),
  ],
)
def test_the_api_refuses_a_path_never_uploaded(server, content, message, capfd, caplog):
  assert_refused(server, api_inputs(content), message, capfd, caplog)


@pytest.mark.parametrize('marked', [True, False])
def test_the_api_refuses_a_photo_on_the_server_never_uploaded(
  server, photos, marked, capfd, caplog
):
  cat = os.path.realpath(photos['cat'])
  content = {'path': cat, 'meta': FILE_DATA} if marked else {'path': cat}
  message = (
    f'Cannot move {cat} to the gradio cache dir because it was not uploaded by a user.'
    if marked
    else f'Content photo: {cat} is not a file uploaded to this server'
  )
  assert_refused(server, api_inputs(content), message, capfd, caplog)


def test_the_api_refuses_a_malformed_file_in_one_line(server, capfd, caplog):
  content = {'path': 5, 'meta': FILE_DATA}
  assert_refused(server, api_inputs(content), 'path: Input should be a valid string', capfd, caplog)


def test_a_call_with_too_few_inputs_is_refused_in_one_line(server, capfd, caplog):
  message = '8 inputs given, 9 wanted (see "Use via API" for them)'
  assert_refused(server, api_inputs()[:-1], message, capfd, caplog)


@pytest.mark.parametrize(
  'fields, message',
  [
    ({'size': "'x' > 1"}, "output size: a number of pixels or 'as uploaded', not \"'x' > 1\""),
    ({'mix': 2}, 'Value 2 is greater than maximum value 1.'),  # Gradio's own gr.Error
    ({'mix': 'half'}, "input 3 (slider): expected a float, got 'half'"),
  ],
)
def test_api_refusals_are_plain_text(server, fields, message, capfd, caplog):
  assert_refused(server, api_inputs(**fields), message, capfd, caplog)
  client_lib = pytest.importorskip('gradio_client')
  client = client_lib.Client(server, verbose=False)
  with pytest.raises(client_lib.exceptions.AppError) as error:
    client.predict(content=None, **fields, api_name='/stylize')
  assert error.value.message == message


# ----------------------------------------------------------------------------- command


@pytest.mark.parametrize('stop', [signal.SIGINT, signal.SIGTERM])
def test_the_command_serves_the_shipped_model_until_stopped(tmp_path, stop):
  pytest.importorskip('gradio', reason='the [demo] extra (gradio) is not installed')
  port = browser.free_port()
  env = dict(os.environ, ZMNET_JAX_CACHE=os.environ.get('ZMNET_JAX_CACHE', ''))
  process = subprocess.Popen(
    [sys.executable, '-m', 'zmnet_jax.demo', '--port', str(port)],
    cwd=tmp_path,
    env={k: v for k, v in env.items() if v},
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  try:
    config = browser.wait_for(lambda: read_config(port), 300, 'the server')
  finally:
    process.send_signal(stop)  # while it may still be starting
    out, err = process.communicate(timeout=60)
  assert config['title'] == 'zmnet_jax: stylize'
  assert 'fast.safetensors' in json.dumps(config)
  assert 'ready in' in err and process.returncode == 0, err
  assert out.strip().endswith('stopped')


def read_config(port: int):
  try:
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/config', timeout=5) as response:
      return json.loads(response.read())
  except OSError:
    return None


def test_the_command_refuses_a_busy_port_and_a_missing_extra(capsys, monkeypatch):
  from zmnet_jax.cli import demo

  with socket.socket() as busy:
    busy.bind(('127.0.0.1', 0))
    busy.listen()
    port = busy.getsockname()[1]
    assert demo.main(['--port', str(port)]) == 2
  err = capsys.readouterr().err
  assert err == f'error: --port {port}: cannot serve on 127.0.0.1:{port} (Address already in use)\n'
  monkeypatch.setattr(demo.importlib.util, 'find_spec', lambda name: None)
  assert demo.main([]) == 2
  assert "needs the [demo] extra: pip install 'zmnet_jax[demo]'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- browser


@pytest.fixture(scope='module')
def page_driver():
  found = browser.find_chromium()
  if not found:
    pytest.skip('no Chromium here (apt-get install chromium chromium-driver)')
  pytest.importorskip('selenium', reason='selenium is not installed')
  driver = browser.PageDriver(*found)
  yield driver
  driver.close()


def write_clip(path, frames: int = 6, fps: int = 10):
  """A short H.264 clip of the cat sliding sideways (uint8 frames 96x128)."""
  av = pytest.importorskip('av', reason='the [video] extra (PyAV) is not installed')
  content_val = os.path.dirname(engine_lib.example_images('content')[0])
  cat = image_files.load_image(os.path.join(content_val, 'chelsea.png'))[:96, :160]
  with av.open(str(path), 'w') as out:
    stream = out.add_stream('libx264', rate=fps)
    stream.height, stream.width, stream.pix_fmt = 96, 128, 'yuv420p'
    for i in range(frames):
      frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(cat[:, 4 * i : 4 * i + 128]))
      out.mux(stream.encode(frame))
    out.mux(stream.encode())
  return str(path)


def test_live_frames_come_back_stylized_with_the_rate(engine, photos):
  frame = image_files.load_image(photos['cat'])  # 300x200, as a camera frame
  request = engine_lib.Request('', styles=(photos['gravel'],), size=64)
  lines = []
  for _ in range(3):
    out, line = engine.live(frame, request)
    lines.append(line)
  assert out.shape == (64, 96, 3) and out.dtype == np.uint8
  small = image_arrays.resize_short_side(frame, 64)
  assert np.abs(out.astype(float) - small).mean() > 10
  assert lines[0] == 'starting at 96x64'  # the first frame compiles and encodes: not counted
  assert re.fullmatch(r'\d+\.\d frames/s \(\d+ ms a frame\) at 96x64', lines[-1]), lines
  assert engine.frame_rate.frames_per_second > 0
  with pytest.raises(engine_lib.RequestError, match='no camera frame yet'):
    engine.live(None, request)
  page = pytest.importorskip('zmnet_jax.app.page', reason='the [demo] extra (gradio)')
  passed, hint = page.live_frame(engine, frame, None, '', '64')  # no style chosen yet
  assert passed is frame and hint == 'choose a painting or upload a style to stylize the stream'


def test_a_video_upload_comes_back_stylized_with_progress(engine, photos, tmp_path):
  clip = write_clip(tmp_path / 'cat.mp4')
  seen = []
  request = engine_lib.Request('', styles=(photos['gravel'],), size=64)
  result = engine.run_video(clip, request, lambda done, total: seen.append((done, total)))
  assert result.path.endswith('cat__gravel.mp4') and result.shape == (64, 84)
  assert seen[-1] == (6, 6) and [d for d, _ in seen] == sorted(d for d, _ in seen)
  with pytest.raises(engine_lib.RequestError, match='notes.png'):
    engine.run_video(photos['text'], request)


def test_the_sample_paintings_ship_with_their_sources():
  paintings = engine_lib.sample_paintings()
  with open(os.path.join(os.path.dirname(paintings[0]), 'SOURCES.md')) as f:
    sources = f.read()
  assert len(paintings) == 6
  for path in paintings:
    assert f'`{os.path.basename(path)}`' in sources
    image = image_files.load_image(path)
    assert max(image.shape[:2]) == 512 and image.std() > 20


def test_the_page_stylizes_in_a_browser(server, page_driver, photos):
  from selenium.webdriver.common.action_chains import ActionChains

  os.makedirs(ARTIFACTS, exist_ok=True)
  page_driver.open(server)
  assert 'Sample paintings' in page_driver.driver.page_source
  page_driver.upload('content', photos['text'])
  page_driver.upload('style', photos['gravel'])
  page_driver.press()
  assert 'content image notes.png: not a recognized image file' in page_driver.error_text()
  time.sleep(0.5)  # the message fades in
  page_driver.screenshot(os.path.join(ARTIFACTS, 'demo_bad_upload.png'))

  page_driver.open(server)  # the server kept serving: a fresh page, good uploads
  page_driver.upload('content', photos['cat'])
  page_driver.upload('style', photos['gravel'])
  cold = page_driver.press()
  assert page_driver.status().startswith('cat__gravel.png: 768x512, ')
  out = page_driver.result_image()
  assert out.shape == (512, 768, 3)
  cat = image_arrays.resize_short_side(image_files.load_image(photos['cat']), 512)
  assert np.abs(out.astype(float) - cat).mean() > 10
  warm = page_driver.press()
  page_driver.screenshot(os.path.join(ARTIFACTS, 'demo_page.png'))

  before, shown = page_driver.result_number(), page_driver.result_src()
  slider = page_driver.driver.find_element(
    page_driver.by.CSS_SELECTOR, '#strength input[type=range]'
  )
  ActionChains(page_driver.driver).move_to_element_with_offset(
    slider, -slider.size['width'] // 2 + 1, 0
  ).click().perform()
  page_driver.wait_for_result(60, before)  # a slider moved to 0 re-ran without the button
  browser.wait_for(lambda: page_driver.result_src() != shown, 30, 'the new image')
  assert page_driver.status().startswith('cat__gravel.png: 768x512, ')
  weak = page_driver.result_image()
  assert np.abs(weak.astype(float) - cat).mean() < np.abs(out.astype(float) - cat).mean()
  print(f'button press to result at 512 px: {cold:.2f} s (first), {warm:.2f} s (again)')


def test_the_live_tab_streams_the_camera_stylized_with_its_frame_rate(server, photos):
  """Chromium's fake camera (its moving test pattern) through the live tab."""
  found = browser.find_chromium()
  if not found:
    pytest.skip('no Chromium here (apt-get install chromium chromium-driver)')
  pytest.importorskip('selenium', reason='selenium is not installed')
  driver = browser.PageDriver(*found, fake_camera=True)
  try:
    driver.open(server)
    driver.open_tab('Live camera')
    driver.upload('style_live', photos['gravel'])
    driver.start_camera()
    rate = re.compile(r'(\d+\.\d) frames/s \((\d+) ms a frame\) at (\d+)x(\d+)')
    line = browser.wait_for(lambda: rate.search(driver.text('live_rate')), 120, 'a frame rate')
    fps, ms, width, height = float(line[1]), int(line[2]), int(line[3]), int(line[4])
    assert fps > 0 and ms > 0 and min(width, height) == 256
    first = driver.image_src('live_result')
    browser.wait_for(lambda: driver.image_src('live_result') != first, 60, 'a newer frame')
    os.makedirs(ARTIFACTS, exist_ok=True)
    driver.screenshot(os.path.join(ARTIFACTS, 'demo_live.png'))
    with urllib.request.urlopen(driver.image_src('live_result')) as response:
      frame = image_files.decode_image_bytes(response.read(), 'the live frame')
    assert min(frame.shape[:2]) == 256
    assert frame.reshape(-1, 3).std(0).mean() > 10  # stylized, not the flat test pattern
    print(f'live: {fps} frames/s, {ms} ms a frame at {width}x{height}')
  finally:
    driver.close()
