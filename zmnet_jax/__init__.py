"""zmnet_jax: ZM-Net, real-time zero-shot image manipulation, in JAX/Flax.

The inference API is importable from the package: `zmnet_jax.Stylizer`, `zmnet_jax.mix`,
`zmnet_jax.preserve_color` (loaded on first use, so `import zmnet_jax` stays light).
"""

import importlib

__version__ = '0.1.0'
_INFERENCE_EXPORTS = ('Stylizer', 'InferenceError', 'mix', 'preserve_color',
                      'transform_signals', 'encode_signals')
__all__ = list(_INFERENCE_EXPORTS)


def __getattr__(name):
  if name in _INFERENCE_EXPORTS:
    return getattr(importlib.import_module('zmnet_jax.inference'), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
