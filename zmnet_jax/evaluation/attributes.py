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

"""Zero-shot evaluation of word / attribute signals.

Unseen words and mixtures ('0.5 morning + 0.5 night') manipulate held-out contents; each
word's outputs are scored (Gram style loss) against reference photo sets, e.g. the
training words' noon and night photos and held-out dusk photos.
"""

from __future__ import annotations

from collections.abc import Sequence
import logging

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from zmnet_jax import files
from zmnet_jax.data import eval_sets, image_arrays, image_files
from zmnet_jax.infer import core
from zmnet_jax.models import losses
from zmnet_jax.words.vocabulary import SignalVocabulary

log = logging.getLogger(__name__)


def load_references(signals: ml_collections.ConfigDict, size: int):
  """{name: images [N, size, size, 3]} of the reference photo sets."""
  return {
    name: eval_sets.load_eval_images(folder, size)[1] for name, folder in signals.references.items()
  }


def style_loss_to_references(model, vgg_params, outputs: np.ndarray, references) -> dict:
  """Mean Gram style loss of outputs [N, ...] against each reference set: {name: float}."""
  out_feats = model.vgg_features(vgg_params, jnp.asarray(outputs))
  scores = {}
  for name, refs in references.items():
    ref_feats = model.vgg_features(vgg_params, jnp.asarray(refs))
    per_ref = []
    for i in range(refs.shape[0]):
      one = {
        k: jnp.broadcast_to(v[i : i + 1], (outputs.shape[0],) + v.shape[1:])
        for k, v in ref_feats.items()
      }
      terms = losses.style_terms(out_feats, one, model.loss.style_weights, 'gram')
      per_ref.append(float(jnp.mean(sum(terms.values()))))
    scores[name] = float(np.mean(per_ref))
  return scores


def evaluate_words(
  model,
  params,
  vgg_params,
  vocab: SignalVocabulary,
  contents: np.ndarray,
  words: Sequence[str],
  references,
) -> tuple:
  """Stylizes contents with every word/expression; scores against the references."""
  fns = core.functions_for(model)
  din = fns.encode(params, vgg_params, vocab.signals(list(words)))
  outputs = np.asarray(fns.transform(params, contents, din))
  table = {}
  for word, out in zip(words, outputs, strict=True):
    scores = style_loss_to_references(model, vgg_params, out, references)
    scores['nearest'] = min(scores, key=scores.get)
    table[word] = scores
  return outputs, table


def evaluate_and_report(
  model,
  params,
  vgg_params,
  vocab,
  contents,
  signals_config,
  image_size: int,
  prefix: str,
  step: int,
  log_table: bool = True,
) -> dict:
  """Writes `{prefix}.json` (word -> style loss vs each reference) and `{prefix}.png`."""
  words = list(signals_config.eval_words)
  references = load_references(signals_config, image_size)
  outputs, table = evaluate_words(model, params, vgg_params, vocab, contents, words, references)
  report = {
    'step': step,
    'words': words,
    'references': sorted(references),
    'style_loss_vs_references': table,
    'training_words': vocab.words,
  }
  if jax.process_index() == 0:
    files.write_json(prefix + '.json', report)
    labels = np.stack([label_tile(w, contents.shape[1]) for w in words])
    image_files.save_image(prefix + '.png', image_arrays.contact_sheet(contents, labels, outputs))
    for word in words if log_table else ():
      log.info('%-28s %s', word, '  '.join(f'{r} {table[word][r]:.3g}' for r in sorted(references)))
  return report


def label_tile(word: str, size: int) -> np.ndarray:
  """A white square with the word written on it (column header of the contact sheet)."""
  from PIL import Image, ImageDraw

  tile = Image.new('RGB', (size, size), 'white')
  draw = ImageDraw.Draw(tile)
  lines = [word[i : i + 10] for i in range(0, len(word), 10)][:4]
  for i, line in enumerate(lines):
    draw.text((2, 2 + 11 * i), line, fill='black')
  return image_arrays.to_float(np.asarray(tile))
