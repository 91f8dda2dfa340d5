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

"""The user-level cache directory (VGG weights, prepared datasets, embedded images)."""

from __future__ import annotations

import os

CACHE_ENV = 'ZMNET_JAX_CACHE'


def cache_dir() -> str:
  """`$ZMNET_JAX_CACHE`, else `$XDG_CACHE_HOME/zmnet_jax`, else `~/.cache/zmnet_jax`."""
  if os.environ.get(CACHE_ENV):
    return os.path.expanduser(os.environ[CACHE_ENV])
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'zmnet_jax')
