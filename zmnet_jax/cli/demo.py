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

"""`zmnet-demo`: the web app on localhost (the [demo] extra).

    pip install -e '.[demo]' && zmnet-demo          # then open http://127.0.0.1:7860
    zmnet-demo --model runs/words --port 8080      # a word model: a text box instead

The page's function is also an HTTP API (`/stylize`; docs/web_app.md has a client call).
"""

from __future__ import annotations

from collections.abc import Sequence
import importlib.util
import socket
import sys

from zmnet_jax.app import server
from zmnet_jax.cli import common
from zmnet_jax.cli.common import UsageError
from zmnet_jax.infer.signal_inputs import STYLE_ENCODERS


def build_parser():
  defaults = server.ServerOptions()
  p = common.ArgumentParser(prog='zmnet-demo', description=__doc__.split('\n')[0])
  common.add_model_argument(p)
  p.add_argument(
    '--style-encoder',
    choices=STYLE_ENCODERS,
    default=defaults.style_encoder,
    help="vgg (default: the model's own) or fast (its distilled encoder: a new style in "
    'milliseconds instead of a VGG pass)',
  )
  p.add_argument(
    '--host',
    default=defaults.host,
    help='address to serve on (default %(default)s: this machine only; 0.0.0.0 for the network)',
  )
  p.add_argument(
    '--port', type=common.integer(1, 65535), default=defaults.port, help='default %(default)s'
  )
  p.add_argument(
    '--max-pixels',
    type=common.number(least=1),
    default=defaults.max_pixels,
    metavar='N',
    help='refuse uploads with more pixels (default %(default).0e)',
  )
  p.add_argument(
    '--max-file-size',
    default=defaults.max_file_size,
    metavar='SIZE',
    help="refuse larger uploads, e.g. '64mb' (default %(default)s)",
  )
  p.add_argument(
    '--no-warm-up',
    dest='warm_up',
    action='store_false',
    help='start serving before compiling (the first request then waits for it)',
  )
  return p


def check_port(host: str, port: int) -> None:
  """UsageError when `host:port` cannot be served on (in use, or not this machine's)."""
  with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET) as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
    try:
      probe.bind((host, port))
    except OSError as e:
      raise UsageError(f'--port {port}: cannot serve on {host}:{port} ({e.strerror})') from e


def serve(argv: Sequence[str] | None) -> str:
  args = build_parser().parse_args(argv)
  if importlib.util.find_spec('gradio') is None:
    raise UsageError("zmnet-demo needs the [demo] extra: pip install 'zmnet_jax[demo]'")
  check_port(args.host, args.port)
  options = server.ServerOptions(
    model=args.model,
    style_encoder=args.style_encoder,
    host=args.host,
    port=args.port,
    max_pixels=int(args.max_pixels),
    max_file_size=args.max_file_size,
    warm_up=args.warm_up,
  )
  server.use_compilation_cache()
  print(f'loading {args.model} ...', file=sys.stderr)
  engine = server.load_engine(options)
  if options.warm_up:
    print('compiling the 512 px path on a sample ...', file=sys.stderr)
    print(f'ready in {server.warm_up(engine):.1f} s', file=sys.stderr)
  server.serve_until_interrupted(engine, options)
  return 'stopped'


def main(argv: Sequence[str] | None = None) -> int:
  return common.run(lambda: serve(argv))
