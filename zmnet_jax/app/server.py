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

"""Serving the page: load the model, warm it up, queue requests, launch on localhost."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import tempfile
import time

import jax

from zmnet_jax import cache, infer
from zmnet_jax.app import engine as engine_lib


@dataclasses.dataclass(frozen=True)
class ServerOptions:
  model: str | None = None  # a shipped model's name or a path (None: the pretrained one)
  style_encoder: str = 'vgg'  # or 'fast': the model's distilled style encoder
  host: str = '127.0.0.1'
  port: int = 7860
  max_pixels: int = 50_000_000  # uploads with more pixels are refused
  max_file_size: str = '64mb'  # larger uploads are refused by the server
  queue_size: int = 16  # requests waiting beyond this are refused ("queue full")
  warm_up: bool = True  # compile the 512 px path before the first request


def use_compilation_cache(folder: str | None = None) -> str:
  """Keeps XLA's compiled programs on disk (`cache_dir()/xla` by default), so a restarted
  server compiles the shapes it has seen before in a fraction of the time."""
  folder = folder or os.path.join(cache.cache_dir(), 'xla')
  jax.config.update('jax_compilation_cache_dir', folder)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)
  return folder


def load_engine(options: ServerOptions, out_dir: str | None = None) -> engine_lib.Engine:
  stylizer = infer.Stylizer.load(options.model, style_encoder=options.style_encoder)
  out_dir = out_dir or tempfile.mkdtemp(prefix='zmnet_demo_')
  return engine_lib.Engine(stylizer, out_dir, options.max_pixels)


def warm_up(engine: engine_lib.Engine) -> float:
  """Runs one sample request at the default size (compiles it); returns the seconds."""
  start = time.perf_counter()
  content = engine_lib.example_images('content')[0]
  if engine.takes_words:
    engine.run(engine_lib.Request(content, text=engine.words[0]))
  else:
    engine.run(engine_lib.Request(content, (engine_lib.example_images('style')[0],)))
  return time.perf_counter() - start


def launch(engine: engine_lib.Engine, options: ServerOptions):
  """Starts serving the page in the background: (the running Blocks, its URL)."""
  os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # it phones no one
  from zmnet_jax.app import page  # gradio: lazy

  blocks = page.build_page(engine)
  blocks.queue(max_size=options.queue_size, default_concurrency_limit=1)
  _, url, _ = blocks.launch(
    server_name=options.host,
    server_port=options.port,
    prevent_thread_lock=True,
    max_file_size=options.max_file_size,
    allowed_paths=[engine.out_dir],
    footer_links=['api'],
    theme=page.theme(),
    quiet=True,
  )
  return blocks, url


def serve_until_interrupted(engine: engine_lib.Engine, options: ServerOptions) -> None:
  """Serves the page until SIGINT (Ctrl-C) or SIGTERM, also one that comes while starting;
  a second one interrupts at once."""
  stop = []  # the handler only appends: a lock taken there could deadlock the main thread

  def request_stop(signum, frame):
    if stop:
      raise KeyboardInterrupt
    stop.append(signum)

  previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    blocks, url = launch(engine, options)
    print(f'serving on {url} (Ctrl-C stops)', file=sys.stderr)
    while not stop:
      time.sleep(0.2)
    blocks.close(verbose=False)
  finally:
    for signum, handler in previous.items():
      signal.signal(signum, handler)
