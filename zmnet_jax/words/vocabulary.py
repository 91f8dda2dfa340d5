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

"""The vocabulary of a word-signal model: text -> signal vector, saved beside its model.

`SignalVocabulary` chains the embedder, expression mixing and the reducer, and serializes
to JSON (`signal_vocabulary.json` next to the checkpoints or the exported params), so a
trained model rebuilds exactly the signals it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import json
import os

import ml_collections
import numpy as np

from zmnet_jax import files
from zmnet_jax.words.embedders import TextEmbedder, TextError, clean_text, make_embedder
from zmnet_jax.words.expressions import embed_expression
from zmnet_jax.words.reducer import Reducer

VOCABULARY_FILE = 'signal_vocabulary.json'


class SignalVocabulary:
  """Text -> signal vector: embedder, then expression mixing, then the reducer.

  `words` are the training words / phrases and `vectors` their raw embeddings
  (recorded so `from_dict` can check the embedder still reproduces them). Because the
  reducer is affine and weights sum to 1, reducing a mix equals mixing reductions.
  """

  def __init__(
    self,
    embedder: TextEmbedder,
    words: Sequence[str],
    reducer: Reducer | None = None,
    vectors: np.ndarray | None = None,
  ):
    self.embedder = embedder
    self.words = [clean_text(w) for w in words]
    if len(set(self.words)) != len(self.words):
      raise TextError(f'duplicate training words in {self.words}')
    self.reducer = reducer or Reducer.identity()
    if self.reducer.mean is not None and self.reducer.mean.shape != (embedder.dim,):
      raise TextError(
        f'reducer expects {self.reducer.mean.shape[0]}-d vectors but embedder '
        f'{embedder.name!r} gives {embedder.dim}-d ones'
      )
    self.vectors = (
      embedder.embed(self.words)
      if vectors is None
      else _table(vectors, len(self.words), embedder.dim)
    )

  @classmethod
  def build(
    cls,
    embedder: TextEmbedder | str,
    words: Sequence[str],
    out_dim: int | None = None,
    background_words: Sequence[str] = (),
  ) -> SignalVocabulary:
    """Embeds the training words and, when out_dim is set, fits a PCA reducer on them
    (plus the background words' embeddings, which only shape the axes)."""
    embedder = make_embedder(embedder) if isinstance(embedder, str) else embedder
    vocab = cls(embedder, words)
    if out_dim is not None:
      background = embedder.embed(list(background_words)) if background_words else None
      vocab.reducer = Reducer.fit(vocab.vectors, out_dim, background=background)
    return vocab

  @property
  def dim(self) -> int:
    return self.reducer.out_dim or self.embedder.dim

  def signal(self, text: str) -> np.ndarray:
    """float32 [dim] for a word, phrase or expression ('0.5 morning + 0.5 night')."""
    return self.reducer.transform(embed_expression(self.embedder, text))

  def signals(self, texts: Sequence[str]) -> np.ndarray:
    """float32 [len(texts), dim]."""
    rows = [self.signal(t) for t in texts]
    return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)

  def training_signals(self) -> np.ndarray:
    """float32 [len(words), dim]: the training words' signals, from the recorded vectors."""
    return self.reducer.transform(self.vectors)

  def to_dict(self) -> dict:
    return {
      'embedder': self.embedder.name,
      'words': list(self.words),
      'vectors': self.vectors.tolist(),
      'reducer': self.reducer.to_dict(),
    }

  @classmethod
  def from_dict(
    cls, data: Mapping, embedder: TextEmbedder | None = None, atol: float | None = 1e-5
  ) -> SignalVocabulary:
    """Rebuilds a vocabulary; `embedder` defaults to make_embedder(data['embedder']).

    With `atol` set, raises TextError when the embedder's vectors for the training
    words differ from the recorded ones by more than atol (a changed vector file or
    model); atol=None skips the check.
    """
    missing = {'embedder', 'words', 'vectors', 'reducer'} - set(data)
    if missing:
      raise TextError(f'bad signal vocabulary dict: missing {sorted(missing)}')
    embedder = embedder or make_embedder(data['embedder'])
    vocab = cls(embedder, data['words'], Reducer.from_dict(data['reducer']), data['vectors'])
    if atol is not None and vocab.words:
      _check_vectors(vocab, embedder.embed(vocab.words), atol)
    return vocab


def _table(vectors, rows: int, dim: int) -> np.ndarray:
  vectors = np.asarray(vectors, np.float32)
  vectors = vectors.reshape(0, dim) if not rows and not vectors.size else vectors
  if vectors.shape != (rows, dim):
    raise TextError(
      f'training vectors have shape {vectors.shape}; the words and embedder need {(rows, dim)}'
    )
  return vectors


def _check_vectors(vocab: SignalVocabulary, current: np.ndarray, atol: float) -> None:
  diff = np.max(np.abs(current - vocab.vectors), axis=1)
  worst = int(np.argmax(diff))
  if diff[worst] > atol:
    raise TextError(
      f'embedder {vocab.embedder.name!r} no longer reproduces the training '
      f'vector of {vocab.words[worst]!r} (max diff {diff[worst]:.3g})'
    )


def build_vocabulary(signals: ml_collections.ConfigDict) -> SignalVocabulary:
  """Embeds the training words; fits the optional reduction (the paper's 2-D) on them."""
  words = list(signals.words.keys())
  out_dim = int(signals.reduce_dim) if signals.reduce_dim else None
  return SignalVocabulary.build(signals.embedder, words, out_dim=out_dim)


def save_vocabulary(vocab: SignalVocabulary, model_dir: str) -> str:
  """Writes the vocabulary into `model_dir` (atomically), where inference finds it."""
  return files.write_json(os.path.join(model_dir, VOCABULARY_FILE), vocab.to_dict())


def load_vocabulary(model_dir: str) -> SignalVocabulary | None:
  """The vocabulary saved in `model_dir`; None for image-signal models (no file)."""
  path = os.path.join(model_dir, VOCABULARY_FILE)
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    return SignalVocabulary.from_dict(json.load(f))
