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

"""Word embedders: text -> float32 vectors (WordLlama offline, or a user vector file).

A signal is a float32 vector fed to the parameter network in place of a style image. It
comes from a `TextEmbedder`, optionally mixed by an expression (`expressions`) and
reduced by a `Reducer` (`reducer`); `vocabulary.SignalVocabulary` ties the three together.

Every problem raises `TextError` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Sequence
import difflib
import json
import logging
import os
from pathlib import Path
from typing import Protocol
import zipfile

import numpy as np

WORDLLAMA_DIMS = (64, 128, 256)  # Matryoshka truncations of the 256-d weights in the wheel.
VECTOR_FILE_SUFFIXES = ('.json', '.txt', '.npz', '.npy')
_INSTALL_HINT = "pip install 'zmnet_jax[text]' (or pip install wordllama==0.4.0.post1)"


class TextError(ValueError):
  """Unusable text, expression, vector file or reducer, with a one-line reason."""

  def __init__(self, message: str):
    super().__init__(' '.join(str(message).splitlines()))


class TextEmbedder(Protocol):
  """Maps words or phrases to vectors; `name` is the spec `make_embedder` rebuilds it from."""

  name: str
  dim: int

  def embed(self, words: Sequence[str]) -> np.ndarray:
    """float32 [len(words), dim]."""


def clean_text(text: str) -> str:
  """Collapses whitespace; raises TextError for empty or non-string text."""
  if not isinstance(text, str):
    raise TextError(f'text must be a string, got {type(text).__name__}')
  cleaned = ' '.join(text.split())
  if not cleaned:
    raise TextError(f'empty text {text!r}')
  return cleaned


def _clean_words(words: Sequence[str]) -> list[str]:
  if isinstance(words, str):
    raise TypeError('embed() takes a sequence of strings, not a single string')
  return [clean_text(w) for w in words]


# --- WordLlama ---------------------------------------------------------------


def _import_wordllama():
  """Imports wordllama, undoing the logging.basicConfig it runs at import."""
  root = logging.getLogger()
  handlers, level = list(root.handlers), root.level
  try:
    import wordllama
  except ImportError as e:
    raise TextError(f'the wordllama embedder needs wordllama: {_INSTALL_HINT}') from e
  finally:
    root.handlers[:] = handlers
    root.setLevel(level)
  return wordllama


class WordLlamaEmbedder:
  """WordLlama l2_supercat token embeddings, mean-pooled over a phrase, L2-normalized.

  Fully offline: the 256-d weights ship inside the wordllama wheel. `dim` < 256 uses
  the model's Matryoshka truncation (first `dim` components, then normalized). Text is
  case-sensitive ('Morning' != 'morning'); every non-empty text has an embedding.
  """

  def __init__(self, dim: int = 256):
    if dim not in WORDLLAMA_DIMS:
      raise TextError(f'wordllama dim must be one of {WORDLLAMA_DIMS}, got {dim!r}')
    self.dim = dim
    self.name = 'wordllama' if dim == 256 else f'wordllama:{dim}'
    self._model = None

  def model(self):
    """The loaded WordLlamaInference (loaded once per instance)."""
    if self._model is None:
      wordllama = _import_wordllama()
      package_dir = Path(wordllama.__file__).parent
      trunc = None if self.dim == 256 else self.dim
      try:
        # cache_dir=package folder works around the wheel's tokenizer path bug.
        self._model = wordllama.WordLlama.load(
          dim=256, trunc_dim=trunc, cache_dir=package_dir, disable_download=True
        )
      except (OSError, ValueError) as e:
        raise TextError(f'cannot load the wordllama model from {package_dir}: {e}') from e
    return self._model

  def embed(self, words: Sequence[str]) -> np.ndarray:
    words = _clean_words(words)
    if not words:
      return np.zeros((0, self.dim), np.float32)
    vectors = self.model().embed(words, norm=False).astype(np.float32)
    return _unit_rows(vectors, words, self.name)


def _unit_rows(vectors: np.ndarray, words: Sequence[str], name: str) -> np.ndarray:
  norms = np.linalg.norm(vectors, axis=1, keepdims=True)
  zero = np.flatnonzero(norms[:, 0] == 0)
  if zero.size:
    raise TextError(f'{name}: no embedding for {words[zero[0]]!r}')
  return (vectors / norms).astype(np.float32)


# --- vector files ------------------------------------------------------------


class VectorFileEmbedder:
  """Word -> vector table read from a user file (vectors are used as stored).

  Formats, by suffix (no file is ever unpickled):
    .json  {"word": [v1, v2, ...], ...}
    .txt   GloVe / word2vec text: 'word v1 ... vD' per line, optional 'N D' header line;
           the last D fields are the vector, so a word may contain spaces.
    .npz   either arrays 'words' (1-D str) and 'vectors' ([N, D]), or one 1-D array
           per word (np.savez(path, **{word: vector})).
    .npy   a [N, D] array plus '<stem>.vocab' next to it: N words, one per line.

  Lookup tries the exact text, then its lower case. A phrase missing from the table
  is the mean of its words' vectors; an unknown word raises TextError with close
  vocabulary words as suggestions.
  """

  def __init__(self, path: str | os.PathLike):
    self.name = str(path)
    words, vectors = read_vector_file(path)
    self.words = words
    self.vectors = vectors
    self.dim = int(vectors.shape[1])
    self._index = {w: i for i, w in enumerate(words)}

  def embed(self, words: Sequence[str]) -> np.ndarray:
    rows = [self._phrase(w) for w in _clean_words(words)]
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.dim), np.float32)

  def _phrase(self, text: str) -> np.ndarray:
    row = self._lookup(text)
    if row is not None:
      return self.vectors[row]
    rows = [self._lookup(word) for word in text.split(' ')]
    missing = [w for w, r in zip(text.split(' '), rows, strict=True) if r is None]
    if missing:
      raise TextError(self._unknown_message(missing[0]))
    return np.mean(self.vectors[rows], axis=0)

  def _lookup(self, text: str) -> int | None:
    row = self._index.get(text)
    return self._index.get(text.lower()) if row is None else row

  def _unknown_message(self, word: str) -> str:
    close = difflib.get_close_matches(word, self.words, n=3, cutoff=0.6)
    close += difflib.get_close_matches(word.lower(), self.words, n=3, cutoff=0.6)
    hint = f'; did you mean {", ".join(repr(w) for w in dict.fromkeys(close))}?' if close else ''
    return f'unknown word {word!r} (not in {self.name}, {len(self.words)} words){hint}'


def read_vector_file(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
  """(words, float32 [N, D]) from a .json/.txt/.npz/.npy vector file (see VectorFileEmbedder)."""
  path = Path(path)
  readers = {'.json': _read_json, '.txt': _read_txt, '.npz': _read_npz, '.npy': _read_npy}
  reader = readers.get(path.suffix.lower())
  if reader is None:
    raise TextError(f'{path}: unsupported vector file type (use one of {VECTOR_FILE_SUFFIXES})')
  try:
    words, vectors = reader(path)
  except TextError:
    raise
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise TextError(f'{path}: cannot read vector file ({e})') from e
  return _checked_table(path, words, vectors)


def _checked_table(path: Path, words: list[str], vectors: np.ndarray):
  if not words:
    raise TextError(f'{path}: no vectors in file')
  if vectors.ndim != 2 or vectors.shape[0] != len(words) or vectors.shape[1] == 0:
    raise TextError(
      f'{path}: expected one vector per word, got array {vectors.shape} for {len(words)} words'
    )
  if not np.all(np.isfinite(vectors)):
    bad = words[int(np.flatnonzero(~np.all(np.isfinite(vectors), axis=1))[0])]
    raise TextError(f'{path}: non-finite value in the vector of {bad!r}')
  seen = set()
  for word in words:
    if not word.strip() or word != ' '.join(word.split()):
      raise TextError(f'{path}: bad word {word!r} (empty or irregular whitespace)')
    if word in seen:
      raise TextError(f'{path}: duplicate word {word!r}')
    seen.add(word)
  return words, vectors.astype(np.float32)


def _stack(path: Path, items: Sequence[tuple[str, object]], where) -> np.ndarray:
  """Stacks per-word 1-D vectors, naming the first whose length differs."""
  rows = []
  for i, (word, value) in enumerate(items):
    row = np.asarray(value, dtype=np.float64)
    if row.ndim != 1 or (rows and row.shape != rows[0].shape):
      want = f'{rows[0].shape[0]} values' if rows else 'a 1-D list of numbers'
      raise TextError(f'{path}: {where(i, word)} has shape {row.shape}, expected {want}')
    rows.append(row)
  return np.stack(rows) if rows else np.zeros((0, 0))


def _read_json(path: Path):
  with open(path, encoding='utf-8') as f:
    try:
      data = json.load(f)
    except json.JSONDecodeError as e:
      raise TextError(f'{path}: invalid JSON (line {e.lineno}: {e.msg})') from e
  if not isinstance(data, dict):
    raise TextError(f'{path}: expected a JSON object {{"word": [numbers...]}}')
  try:
    vectors = _stack(path, list(data.items()), lambda i, w: f'the vector of {w!r}')
  except (TypeError, ValueError) as e:
    raise TextError(f'{path}: vectors must be lists of numbers ({e})') from e
  return list(data), vectors


def _read_txt(path: Path):
  words, rows, dim = [], [], None
  with open(path, encoding='utf-8') as f:
    for lineno, line in enumerate(f, 1):
      fields = line.split()
      if not fields:
        continue
      if lineno == 1 and len(fields) == 2 and all(x.isdigit() for x in fields):
        dim = int(fields[1])  # word2vec header 'N D'
        continue
      dim = len(fields) - 1 if dim is None else dim
      word, row = _txt_line(path, lineno, fields, dim)
      words.append(word)
      rows.append(row)
  return words, np.asarray(rows, np.float64).reshape(len(rows), dim or 0)


def _txt_line(path: Path, lineno: int, fields: list[str], dim: int):
  """(word, [dim floats]); extra leading fields join the word unless they are numbers."""
  if dim < 1:
    raise TextError(f'{path}:{lineno}: expected a word followed by numbers')
  if len(fields) < dim + 1 or any(_is_number(x) for x in fields[1:-dim]):
    raise TextError(f'{path}:{lineno}: expected a word and {dim} numbers, got {len(fields)} fields')
  try:
    row = [float(x) for x in fields[-dim:]]
  except ValueError as e:
    raise TextError(f'{path}:{lineno}: {e}') from e
  return ' '.join(fields[:-dim]), row


def _is_number(field: str) -> bool:
  try:
    float(field)
  except ValueError:
    return False
  return True


def _read_npz(path: Path):
  with np.load(path, allow_pickle=False) as data:
    arrays = {name: data[name] for name in data.files}
  words, vectors = arrays.get('words'), arrays.get('vectors')
  if (
    set(arrays) == {'words', 'vectors'}
    and words.ndim == 1
    and words.dtype.kind == 'U'
    and vectors.ndim == 2
  ):
    return [str(w) for w in words], vectors.astype(np.float64)
  return list(arrays), _stack(path, list(arrays.items()), lambda i, w: f'array {w!r}')


def _read_npy(path: Path):
  vocab = path.with_suffix('.vocab')
  vectors = np.load(path, allow_pickle=False)
  if not vocab.is_file():
    raise TextError(f'{path}: a .npy vector file needs its word list in {vocab}')
  with open(vocab, encoding='utf-8') as f:
    words = [line.rstrip('\r\n') for line in f]
  while words and not words[-1].strip():
    words.pop()
  if vectors.dtype.kind not in 'fiu':
    raise TextError(f'{path}: expected a numeric array, got dtype {vectors.dtype}')
  if vectors.ndim != 2 or vectors.shape[0] != len(words):
    raise TextError(
      f'{path}: array {vectors.shape} does not match the {len(words)} words in {vocab.name}'
    )
  return words, vectors.astype(np.float64)


def make_embedder(spec: str = 'wordllama') -> TextEmbedder:
  """'wordllama' (256-d), 'wordllama:64' / ':128' / ':256', or a vector file path."""
  spec = str(spec)
  if spec == 'wordllama' or spec.startswith('wordllama:'):
    dim = spec[len('wordllama:') :] if ':' in spec else '256'
    if not dim.isdigit():
      raise TextError(
        f'bad embedder spec {spec!r}: expected wordllama:<dim>, dim in {WORDLLAMA_DIMS}'
      )
    return WordLlamaEmbedder(int(dim))
  if Path(spec).suffix.lower() in VECTOR_FILE_SUFFIXES:
    if not Path(spec).is_file():
      raise TextError(f'{spec}: vector file not found')
    return VectorFileEmbedder(spec)
  raise TextError(
    f"unknown embedder {spec!r}: expected 'wordllama', 'wordllama:<dim>' "
    f'or a vector file ({", ".join(VECTOR_FILE_SUFFIXES)})'
  )
