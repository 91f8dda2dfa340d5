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

"""The local web app (`zmnet-demo`, the [demo] extra): a page and an HTTP API.

  engine  one request without a web framework: check uploads, encode (cached), stylize
  page    the Gradio page and its `/stylize` endpoint (imports gradio)
  server  load, warm up, queue, launch on localhost

Only `page` and `server.launch` need Gradio; the engine is plain inference.
"""
