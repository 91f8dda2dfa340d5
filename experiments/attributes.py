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

"""Claim 2: trained on the attributes noon and night only, the model makes plausible unseen
ones (morning, afternoon, evening, mixtures such as 0.5 morning + 0.5 night).

"Plausible" made measurable, on held-out contents (content/val) stylized with each word:
- the light follows the words: the outputs' mean luminance decreases along noon ->
  afternoon -> evening -> night (Spearman's rank correlation with that order);
- mixtures lie between their ends: '0.5 morning + 0.5 night' between morning and night;
- the dusk words come closer to real dusk photos (held out, never trained on) than the
  training words do: the Gram style loss of 'evening', 'sunset' and 'dusk' outputs to the
  attributes/dusk photos, against that of the 'noon' and 'night' outputs.
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np
from scipy import stats

from experiments import figures, runs
from zmnet_jax import infer
from zmnet_jax.configs import attributes as attributes_config
from zmnet_jax.data import eval_sets, image_arrays, image_files
from zmnet_jax.evaluation import attributes as word_eval
from zmnet_jax.infer import loading

LIGHT_ORDER = ('noon', 'afternoon', 'evening', 'night')
DUSK_WORDS = ('evening', 'sunset', 'dusk')
MIXTURE = ('0.5 morning + 0.5 night', 'morning', 'night')
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def config_name(scale: runs.Scale) -> str:
  return 'attributes:tiny' if scale.config.endswith(':tiny') else 'attributes'


def scores(model_path: str, data: str, num_contents: int) -> dict:
  """Luminance and reference style losses of every evaluation word's outputs."""
  stylizer = infer.Stylizer.load(model_path)
  vocab = loading.load_vocabulary(loading.resolve_model_path(model_path))
  size = stylizer.config.eval.image_size
  _, contents = eval_sets.load_eval_images(os.path.join(data, 'content', 'val'), size, num_contents)
  references = ml_collections.ConfigDict(
    {'references': {k: os.path.join(data, 'attributes', k) for k in ('noon', 'night', 'dusk')}}
  )
  words = list(attributes_config.EVAL_WORDS)
  outputs, table = word_eval.evaluate_words(
    stylizer.model,
    stylizer.params,
    stylizer.vgg_params,
    vocab,
    image_arrays.to_float(contents),
    words,
    word_eval.load_references(references, size),
  )
  luminance = {w: float(np.mean(out @ LUMA)) for w, out in zip(words, outputs, strict=True)}
  return {
    'words': words,
    'luminance': luminance,
    'style_loss': table,
    'outputs': outputs,
    'contents': contents,
  }


def verdicts(found: dict) -> dict:
  lum, loss = found['luminance'], found['style_loss']
  rho = stats.spearmanr([lum[w] for w in LIGHT_ORDER], range(len(LIGHT_ORDER)))[0]
  mix, a, b = (lum[w] for w in MIXTURE)
  trained_to_dusk = min(loss['noon']['dusk'], loss['night']['dusk'])
  return {
    'light_order_spearman': float(rho),  # -1: darker at every step of noon -> night
    'mixture_between_ends': bool(min(a, b) <= mix <= max(a, b)),
    'dusk_words_closer_to_dusk_photos': {
      w: bool(loss[w]['dusk'] < trained_to_dusk) for w in DUSK_WORDS
    },
    'dusk_loss': {w: loss[w]['dusk'] for w in (*DUSK_WORDS, 'noon', 'night')},
  }


def run(setting: runs.Setting) -> dict:
  scale = setting.scale
  trained = runs.train(setting, 'attributes', scale.attribute_steps, config=config_name(scale))
  found = scores(trained.model, setting.data, scale.grid[1])
  sheet = os.path.join(setting.out, 'attributes.png')
  words = found['words']
  labels = np.stack([word_eval.label_tile(w, found['outputs'].shape[2]) for w in words])
  contents = image_arrays.to_float(found['contents'])
  image_files.save_image(sheet, image_arrays.contact_sheet(contents, labels, found['outputs']))
  plot = os.path.join(setting.out, 'attributes_luminance.png')
  figures.bars(found['luminance'], 'mean output luminance', plot)
  return {
    'claim': 2,
    'luminance': found['luminance'],
    'style_loss_vs_references': found['style_loss'],
    **verdicts(found),
    'cpu_minutes': round(trained.cpu_seconds / 60, 1),
    'figures': [sheet, plot],
  }
