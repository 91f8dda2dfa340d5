"""Inference: load a trained model (params only) and stylize images with any signal.

  core      the jitted encode / transform / statistics functions, shardings declared
  tiling    images of any size: stride padding, exact tiles, whole-image statistics
  color     colour preservation
  loading   finding a model (workdir or params file) and reading its params
  stylizer  `Stylizer`, the API: encode signals once, stylize many images

Imports nothing from training: no optimizer, no orbax (until a workdir is read), no
grain or TFDS.
"""

from zmnet_jax.infer.color import preserve_color
from zmnet_jax.infer.loading import InferenceError
from zmnet_jax.infer.stylizer import Stylizer, mix

__all__ = ['InferenceError', 'Stylizer', 'mix', 'preserve_color']
