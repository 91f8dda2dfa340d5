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

"""Signal expressions: '0.3*noon + 0.7 night' -> weighted terms -> one mixed vector."""

from __future__ import annotations

from collections.abc import Sequence
import math
import re

import numpy as np

from zmnet_jax.words.embedders import TextEmbedder, TextError, clean_text

_WEIGHT = r'[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf(?:inity)?)'
_TERM = re.compile(rf'^(?:({_WEIGHT})(?=[\s*]|$)\s*(\*)?)?\s*(.*)$', re.IGNORECASE)


def parse_signal_expression(text: str) -> list[tuple[float, str]]:
  """'0.3*noon + 0.7 night' -> [(0.3, 'noon'), (0.7, 'night')].

  Terms are separated by '+'; each is an optional weight (default 1, optionally
  followed by '*') and a word or multi-word phrase. Weights must be finite and sum to
  a positive number (single weights may be negative, to extrapolate). A leading
  number, 'nan' or 'inf' is always read as a weight.
  """
  text = clean_text(text)
  terms = [_parse_term(text, part) for part in text.split('+')]
  total = sum(w for w, _ in terms)
  if not 0 < total < math.inf:
    raise TextError(f'weights in {text!r} must sum to a positive finite number, got {total:g}')
  return terms


def _parse_term(text: str, part: str) -> tuple[float, str]:
  part = part.strip()
  if not part:
    raise TextError(f"malformed expression {text!r}: empty term around '+'")
  weight, _, phrase = _TERM.match(part).groups()
  if not phrase or '*' in phrase:
    what = f'weight {weight} has no word' if weight and not phrase else f'bad term {part!r}'
    raise TextError(f'malformed expression {text!r}: {what}')
  value = 1.0 if weight is None else float(weight)
  if not math.isfinite(value):
    raise TextError(f'malformed expression {text!r}: weight {weight!r} is not finite')
  return value, phrase


def expression_weights(terms: Sequence[tuple[float, str]]) -> np.ndarray:
  """The terms' weights normalized to sum to 1 (float64 [T])."""
  weights = np.array([w for w, _ in terms], np.float64)
  return weights / weights.sum()


def embed_expression(embedder: TextEmbedder, text: str) -> np.ndarray:
  """float32 [dim]: sum of the terms' embeddings with weights normalized to sum to 1.

  So '0.5 a + 0.5 b' (or 'a + b', or '2 a + 2 b') is the mean of the two embeddings
  and 'a' is embed(['a'])[0]; the result is not renormalized.
  """
  terms = parse_signal_expression(text)
  vectors = embedder.embed([phrase for _, phrase in terms]).astype(np.float64)
  return (expression_weights(terms) @ vectors).astype(np.float32)
