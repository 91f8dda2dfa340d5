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

"""The page (Gradio Blocks): content, signal, sliders, result; and its API endpoint.

One function, `stylize`, serves the button (and the HTTP API as `/stylize`); moving a
slider or ticking the colour box re-runs it on what is already there. All events share
one concurrency group of one, so requests queue instead of running JAX side by side.
Every refusal, ours or Gradio's, reaches the caller through `refusing`: one line of
plain text, and one line in the log.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from pathlib import Path
import re

import gradio as gr
from gradio.exceptions import ComponentProcessingError, InvalidPathError
import pydantic

from zmnet_jax.app import engine as engine_lib

log = logging.getLogger(__name__)

API_NAME = 'stylize'
VIDEO_API_NAME = 'stylize_video'
MODES = ('full', 'fast')
FAST_SIDE = 384  # the fast mode's working size (long side)
LIVE_SIZES = ('256', '384')  # the live frames' short side: what runs live on a CPU
LIVE_EVERY = 0.05  # seconds between the frames the browser sends
LIVE_TIME_LIMIT = 600  # seconds a live stream runs before the browser must restart it
AS_UPLOADED = 'as uploaded'
SIZES = ('256', '384', '512', '768', '1024', '2048', AS_UPLOADED)  # the output's short side
DEFAULT_SIZE = str(engine_lib.Request.size)
# What a request can be refused with: ours, a path that was never uploaded, a malformed
# file payload (pydantic), and Gradio's own checks (gr.Error).
REFUSALS = (
  engine_lib.RequestError,
  InvalidPathError,
  pydantic.ValidationError,
  gr.Error,
  ComponentProcessingError,  # a value a component cannot take (text for a slider)
)
# Gradio's ValueError for a call with too few inputs (its message runs over several lines).
TOO_FEW = re.compile(r"didn't receive enough input values \(needed: (\d+), got: (\d+)\)")
# What a ComponentProcessingError's long message says, in short.
UNPROCESSED = re.compile(
  r'input component at index (\d+) \(a `(\w+)` component\).*?'
  r'(?:Expected a `([^`]+)`, but the|The) value passed to the event handler was: (.*?) \(of type',
  re.S,
)


def theme() -> gr.themes.Base:
  """System fonts only: the page renders without the internet (no Google Fonts)."""
  return gr.themes.Soft(font=['ui-sans-serif', 'system-ui', 'sans-serif'])


def uploaded_image(**kwargs) -> gr.Image:
  """`gr.Image` that hands the uploaded file over undecoded: the engine decodes and checks
  it, so a file that is not an image gets one clear message instead of Pillow's error.
  (An instance's own `preprocess`: a subclass would make Gradio write a .pyi beside us.)"""
  image = gr.Image(type='filepath', **kwargs)
  image.preprocess = functools.partial(uploaded_path, image, image.preprocess)
  return image


def uploaded_path(image: gr.Image, decode, payload):
  """The uploaded file's path; Gradio's own `decode` only where there is no file.

  Raises gr.Error: Gradio hides any other type raised here in a ComponentProcessingError."""
  if payload is None or not payload.path or (payload.url or '').startswith('data:'):
    try:
      return decode(payload)  # Gradio's own: empty, or pasted as a data URL
    except Exception as e:  # Pillow raises many types for corrupt data.
      raise gr.Error(f'{image.label}: not a readable image ({e})') from e
  # Gradio checks only a payload marked as a file ("meta"); an unmarked one names any path.
  if not Path(payload.path).resolve().is_relative_to(Path(image.GRADIO_CACHE).resolve()):
    raise gr.Error(f'{image.label}: {payload.path} is not a file uploaded to this server')
  return payload.path


def build_page(engine: engine_lib.Engine) -> gr.Blocks:
  """The page for `engine`'s model: a photo tab (style images, two mixed, or a word box),
  the live camera and a video upload."""
  with gr.Blocks(title='zmnet_jax: stylize', analytics_enabled=False) as page:
    gr.Markdown(header(engine))
    with gr.Tabs():
      with gr.Tab('Photo', id='photo'):
        photo_tab(engine)
      with gr.Tab('Live camera', id='live', elem_id='live_tab'):
        live_tab(engine)
      with gr.Tab('Video', id='video', elem_id='video_tab'):
        video_tab(engine)
  page.process_api = refusing(page.process_api)
  return page


def signal_inputs(engine: engine_lib.Engine, suffix: str = ''):
  """(style upload, word box): the one the model takes is visible, with its samples."""
  words = engine.takes_words
  with gr.Column(visible=not words):
    style = uploaded_image(label='Style', sources=['upload', 'clipboard'], elem_id=f'style{suffix}')
    gr.Examples(engine_lib.sample_paintings(), inputs=style, label='Sample paintings')
  text = gr.Textbox(
    '',
    label='Word or expression',
    visible=words,
    placeholder=f'e.g. 0.5 {" + 0.5 ".join(engine.words[:2])}' if words else '',
    elem_id=f'text{suffix}',
  )
  return style, text


def photo_tab(engine: engine_lib.Engine) -> None:
  """The still photo: content, signal, sliders, result; the button is the `/stylize` API."""
  words = engine.takes_words
  with gr.Row(equal_height=False):
    with gr.Column():
      content = uploaded_image(
        label='Content photo',
        sources=['upload', 'webcam', 'clipboard'],
        elem_id='content',
      )
      gr.Examples(engine_lib.example_images('content'), inputs=content, label='Sample photos')
    with gr.Column(visible=not words, elem_id='styles'):
      style = uploaded_image(label='Style', sources=['upload', 'clipboard'], elem_id='style')
      gr.Examples(engine_lib.sample_paintings(), inputs=style, label='Sample paintings')
      gr.Examples(engine_lib.example_images('style'), inputs=style, label='Sample textures')
      with gr.Accordion('Mix in a second style', open=False):
        style_b = uploaded_image(
          label='Second style',
          sources=['upload', 'clipboard'],
          elem_id='style_b',
        )
        mix = gr.Slider(0, 1, 0.5, step=0.05, label='Share of the second style')
    with gr.Column(visible=words, elem_id='words'):
      text = gr.Textbox(
        '',
        label='Word or expression',
        placeholder=f'e.g. 0.5 {" + 0.5 ".join(engine.words[:2])}' if words else '',
        info=f'trained on: {", ".join(engine.words)}' if words else None,
        elem_id='text',
      )
    with gr.Column():
      result = gr.Image(
        label='Result',
        type='filepath',
        format='png',
        interactive=False,
        buttons=['download', 'fullscreen'],
        elem_id='result',
      )
      status = gr.Markdown(elem_id='status')
      button = gr.Button('Stylize', variant='primary', elem_id='run')
      strength = gr.Slider(
        0,
        1,
        1.0,
        step=0.05,
        label='Strength (0: the photo itself)',
        visible=not words,
        elem_id='strength',
      )
      preserve = gr.Checkbox(label="Keep the photo's colours", elem_id='preserve')
      size = gr.Dropdown(
        list(SIZES),
        value=DEFAULT_SIZE,
        allow_custom_value=True,
        label='Output size (short side, px; or type one)',
        elem_id='size',
      )
      mode = gr.Radio(
        list(MODES),
        value='full',
        label=f'full: every pixel through the network; fast: the network at {FAST_SIDE} px '
        'and a guided upsampling',
        elem_id='mode',
      )

  inputs = [content, style, style_b, mix, text, strength, preserve, size, mode]
  shared = dict(
    inputs=inputs, outputs=[result, status], concurrency_id='stylize', concurrency_limit=1
  )
  button.click(functools.partial(stylize, engine), api_name=API_NAME, **shared)
  for control, event in ((mix, 'release'), (strength, 'release'), (preserve, 'input')):
    getattr(control, event)(
      functools.partial(restylize, engine),
      api_visibility='private',
      trigger_mode='always_last',
      show_progress='minimal',
      **shared,
    )


def live_tab(engine: engine_lib.Engine) -> None:
  """The camera streamed to the server, each frame stylized with the chosen signal
  (encoded once) at the chosen size, shown as it comes with the frame rate."""
  with gr.Row(equal_height=False):
    with gr.Column():
      camera = gr.Image(
        label='Camera', sources=['webcam'], streaming=True, type='numpy', elem_id='camera'
      )
      live_size = gr.Radio(
        list(LIVE_SIZES), value=LIVE_SIZES[0], label='Short side (px)', elem_id='live_size'
      )
    with gr.Column():
      style, text = signal_inputs(engine, '_live')
    with gr.Column():
      frame = gr.Image(label='Stylized', interactive=False, elem_id='live_result')
      rate = gr.Markdown(elem_id='live_rate')
  camera.stream(
    functools.partial(live_frame, engine),
    inputs=[camera, style, text, live_size],
    outputs=[frame, rate],
    stream_every=LIVE_EVERY,
    time_limit=LIVE_TIME_LIMIT,
    concurrency_id='live',
    concurrency_limit=1,
    api_visibility='private',
  )


def video_tab(engine: engine_lib.Engine) -> None:
  """A clip uploaded, stylized by the video pipeline (steady statistics, its sound kept)
  with a progress bar; the MP4 comes back. The button is the `/stylize_video` API."""
  with gr.Row(equal_height=False):
    with gr.Column():
      video = gr.Video(label='Video', sources=['upload'], elem_id='video')
    with gr.Column():
      style, text = signal_inputs(engine, '_video')
    with gr.Column():
      result = gr.Video(label='Stylized video', interactive=False, elem_id='video_result')
      status = gr.Markdown(elem_id='video_status')
      button = gr.Button('Stylize the video', variant='primary', elem_id='run_video')
      size = gr.Dropdown(
        ['256', '384', '512', '720', AS_UPLOADED],
        value='384',
        allow_custom_value=True,
        label='Short side (px; or type one)',
        elem_id='video_size',
      )
      mode = gr.Radio(list(MODES), value='full', label='Mode', elem_id='video_mode')
  button.click(
    functools.partial(stylize_video, engine),
    inputs=[video, style, text, size, mode],
    outputs=[result, status],
    api_name=VIDEO_API_NAME,
    concurrency_id='stylize',
    concurrency_limit=1,
  )


def refusing(process_api):
  """`Blocks.process_api` that hands every refusal (REFUSALS) to the caller as a plain-text
  gr.Error and logs it in one line; Gradio would send other types as `"error": null`
  and print a traceback."""

  @functools.wraps(process_api)
  async def process(*args, **kwargs):
    try:
      return await process_api(*args, **kwargs)
    except REFUSALS as e:
      message = refusal_message(e)
    except ValueError as e:
      if not (found := TOO_FEW.search(str(e))):
        raise
      message = f'{found[2]} inputs given, {found[1]} wanted (see "Use via API" for them)'
    log.warning('request refused: %s', message)
    raise gr.Error(message, print_exception=False)

  return process


def refusal_message(error: Exception) -> str:
  """The refusal in one line of plain text, not HTML-escaped: API clients get it as is,
  and the page's toast sanitizes the HTML it renders."""
  if isinstance(error, gr.Error):
    text = str(error.message)
  elif isinstance(error, pydantic.ValidationError):
    text = '; '.join(': '.join(map(str, (*e['loc'], e['msg']))) for e in error.errors())
  elif isinstance(error, ComponentProcessingError) and (found := UNPROCESSED.search(str(error))):
    index, component, expected, value = found.groups()
    wanted = f'expected a {expected}, ' if expected else ''
    text = f'input {index} ({component}): {wanted}got {value}'
  else:
    text = str(error)
  return ' '.join(text.split())


def header(engine: engine_lib.Engine) -> str:
  stylizer = engine.stylizer
  seen = stylizer.card.get('images_seen')
  trained = f', {int(seen):,} images seen' if seen else ''
  what = 'a word or an expression' if engine.takes_words else 'a style image (or two, mixed)'
  return (
    '## zmnet_jax: zero-shot style transfer\n'
    f'A photo and {what}; any style works, no training needed. '
    f'Model: `{os.path.basename(stylizer.source.path)}` (step {stylizer.step}{trained}).'
  )


def stylize(
  engine,
  content,
  style=None,
  style_b=None,
  mix=0.5,
  text='',
  strength=1.0,
  preserve_color=False,
  size=DEFAULT_SIZE,
  mode='full',
):
  """The page's and the API's function: (result PNG path, status line)."""
  request = engine_lib.Request(
    content=content,
    styles=tuple(s for s in (style, style_b) if s),
    mix=number(mix, 'mix'),
    text=text or '',
    strength=number(strength, 'strength'),
    preserve_color=bool(preserve_color),
    size=short_side(size),
    work_size=work_size(mode),
  )
  result = engine.run(request)  # a RequestError goes to the caller through `refusing`
  log.info('stylized %s', result.summary)
  return result.path, result.summary


def number(value, name: str) -> float:
  """A slider's value as a float; a RequestError (one line) for anything else."""
  try:
    return float(value)
  except (TypeError, ValueError):
    raise engine_lib.RequestError(f'{name}: a number, not {value!r}') from None


def short_side(size) -> int | None:
  """The size box's value as pixels (None: as uploaded)."""
  try:
    return None if size in (None, '', AS_UPLOADED) else int(size)
  except (TypeError, ValueError):
    raise engine_lib.RequestError(
      f'output size: a number of pixels or {AS_UPLOADED!r}, not {size!r}'
    ) from None


def work_size(mode) -> int | None:
  if mode not in MODES:
    raise engine_lib.RequestError(f'mode: one of {", ".join(MODES)}, not {mode!r}')
  return FAST_SIDE if mode == 'fast' else None


def live_frame(engine, frame, style=None, text='', size=LIVE_SIZES[0]):
  """The live tab's function: (stylized frame, rate line). Until a signal is chosen the
  camera's frames pass through with a hint (a refusal would repeat with every frame)."""
  if frame is not None and not (style or (engine.takes_words and (text or '').strip())):
    hint = 'type a word' if engine.takes_words else 'choose a painting or upload a style'
    return frame, f'{hint} to stylize the stream'
  request = engine_lib.Request('', styles=(style,) if style else (), text=text or '')
  return engine.live(frame, dataclasses.replace(request, size=short_side(size)))


def stylize_video(
  engine,
  video,
  style=None,
  text='',
  size='384',
  mode='full',
  progress=gr.Progress(),  # noqa: B008
):
  """The video tab's and the `/stylize_video` API's function: (MP4 path, status line)."""
  if not video:
    raise engine_lib.RequestError('add a video first')
  request = engine_lib.Request(
    '',
    styles=(style,) if style else (),
    text=text or '',
    size=short_side(size),
    work_size=work_size(mode),
  )
  result = engine.run_video(
    video, request, lambda done, total: progress((done, total or None), unit='frames')
  )
  log.info('stylized %s', result.summary)
  return result.path, result.summary


def restylize(engine, content, style, style_b, *rest):
  """`stylize` after a slider moved: nothing (no message) until content and signal exist."""
  text = rest[1]
  if not content or not (style or style_b or (engine.takes_words and text)):
    return gr.skip(), gr.skip()
  return stylize(engine, content, style, style_b, *rest)
