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
