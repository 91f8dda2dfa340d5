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

"""Tests for zmnet_jax.text: embedders, vector files, expressions, reducer, vocabulary."""

import importlib.util
import json
import socket

import numpy as np
import pytest

from zmnet_jax.words import embedders, expressions, reducer as reducer_lib, vocabulary
from zmnet_jax.words.embedders import TextError

needs_wordllama = pytest.mark.skipif(
  importlib.util.find_spec('wordllama') is None,
  reason="wordllama not installed (pip install 'zmnet_jax[text]')",
)

TABLE = {
  'morning': [1.0, 0.0, 0.0],
  'noon': [0.0, 2.0, 0.0],
  'night': [0.0, 0.0, 3.0],
  'late': [1.0, 1.0, 0.0],
  'evening': [0.0, 1.0, 1.0],
  'ice cream': [0.5, 0.5, 0.5],
}


def _cos(a, b):
  return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _one_line(excinfo):
  message = str(excinfo.value)
  assert message and '\n' not in message
  return message


def _write_json(tmp_path, table=TABLE, name='vectors.json'):
  path = tmp_path / name
  path.write_text(json.dumps(table))
  return path


@pytest.fixture(name='table_embedder')
def _table_embedder(tmp_path):
  return embedders.VectorFileEmbedder(_write_json(tmp_path))


@pytest.fixture(name='no_network')
def _no_network(monkeypatch):
  def refuse(*args, **kwargs):
    raise OSError('network access blocked in this test')

  class NoSocket(socket.socket):  # a class still: modules imported now may subclass it
    def __init__(self, *args, **kwargs):
      refuse()

  monkeypatch.setattr(socket, 'socket', NoSocket)
  monkeypatch.setattr(socket, 'create_connection', refuse)
  monkeypatch.setattr(socket, 'getaddrinfo', refuse)


# --- wordllama ---------------------------------------------------------------


@needs_wordllama
def test_wordllama_offline_deterministic_semantic(no_network):
  del no_network
  embedder = embedders.make_embedder('wordllama')
  assert (embedder.name, embedder.dim) == ('wordllama', 256)
  words = ['morning', 'noon', 'banana', 'late evening']
  a = embedder.embed(words)
  b = embedders.WordLlamaEmbedder().embed(words)
  assert a.dtype == np.float32 and a.shape == (4, 256)
  np.testing.assert_array_equal(a, b)
  np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
  assert _cos(a[0], a[1]) > _cos(a[0], a[2]) + 0.1  # morning~noon 0.22, ~banana 0.07


@needs_wordllama
def test_wordllama_truncated_dim(no_network):
  del no_network
  embedder = embedders.make_embedder('wordllama:64')
  assert (embedder.name, embedder.dim) == ('wordllama:64', 64)
  v = embedder.embed(['morning', 'noon', 'banana'])
  assert v.shape == (3, 64)
  assert _cos(v[0], v[1]) > _cos(v[0], v[2])
  assert embedders.make_embedder(embedder.name).name == 'wordllama:64'


@needs_wordllama
def test_wordllama_errors():
  embedder = embedders.WordLlamaEmbedder()
  with pytest.raises(TextError) as e:
    embedder.embed(['morning', '  '])
  assert 'empty text' in _one_line(e)
  with pytest.raises(TextError) as e:
    embedders.make_embedder('wordllama:32')
  _one_line(e)


def test_missing_wordllama_message(monkeypatch):
  monkeypatch.setitem(__import__('sys').modules, 'wordllama', None)
  with pytest.raises(TextError) as e:
    embedders.WordLlamaEmbedder().embed(['morning'])
  assert "pip install 'zmnet_jax[text]'" in _one_line(e)


# --- expressions -------------------------------------------------------------


@pytest.mark.parametrize(
  'expression, terms',
  [
    ('morning', [(1.0, 'morning')]),
    ('0.5 morning + 0.5 night', [(0.5, 'morning'), (0.5, 'night')]),
    ('0.3*noon + 0.7 night', [(0.3, 'noon'), (0.7, 'night')]),
    ('  late   evening ', [(1.0, 'late evening')]),
    ('2 * ice cream + 1e-1 noon', [(2.0, 'ice cream'), (0.1, 'noon')]),
    ('2nd breakfast', [(1.0, '2nd breakfast')]),
  ],
)
def test_parse_signal_expression(expression, terms):
  assert expressions.parse_signal_expression(expression) == terms


@pytest.mark.parametrize(
  'expression',
  [
    '',
    '   ',
    '0.5 morning +',
    '+ noon',
    'a ++ b',
    '-1 noon',
    'nan noon',
    'inf noon',
    '0.5',
    '* noon',
    'noon * 2',
    '0 noon',
    '0.5 a + -0.5 b',
    '1e308 a + 1e308 b',
  ],
)
def test_malformed_expressions(expression):
  with pytest.raises(TextError) as e:
    expressions.parse_signal_expression(expression)
  _one_line(e)


def test_embed_expression_mixing(table_embedder):
  embed = lambda w: table_embedder.embed([w])[0]
  mix = expressions.embed_expression(table_embedder, '0.5 noon + 0.5 night')
  np.testing.assert_allclose(mix, (embed('noon') + embed('night')) / 2, rtol=1e-6)
  np.testing.assert_array_equal(expressions.embed_expression(table_embedder, 'noon + night'), mix)
  np.testing.assert_array_equal(expressions.embed_expression(table_embedder, 'noon'), embed('noon'))
  weighted = expressions.embed_expression(table_embedder, '0.3*noon + 0.9 night')
  np.testing.assert_allclose(weighted, 0.25 * embed('noon') + 0.75 * embed('night'), rtol=1e-6)
  assert mix.dtype == np.float32 and mix.shape == (3,)


def test_a_negative_weight_extrapolates_the_word_vectors(table_embedder):
  """Unlike `--mix` (DIN scales, refused below 0), an expression is arithmetic on word
  vectors: past 'night', away from 'noon'."""
  embed = lambda w: table_embedder.embed([w])[0]
  beyond = expressions.embed_expression(table_embedder, '1.5 night + -0.5 noon')
  np.testing.assert_allclose(beyond, 1.5 * embed('night') - 0.5 * embed('noon'), rtol=1e-5)


@needs_wordllama
def test_embed_expression_wordllama():
  embedder = embedders.WordLlamaEmbedder(64)
  a, b = embedder.embed(['morning', 'late evening'])
  np.testing.assert_array_equal(expressions.embed_expression(embedder, 'morning'), a)
  np.testing.assert_allclose(
    expressions.embed_expression(embedder, '0.5 morning + 0.5 late evening'),
    (a + b) / 2,
    rtol=1e-6,
    atol=1e-7,
  )


# --- vector files ------------------------------------------------------------


def _assert_table(embedder):
  assert embedder.dim == 3
  np.testing.assert_array_equal(embedder.embed(list(TABLE)), np.array(list(TABLE.values())))


def test_vector_file_json(tmp_path):
  _assert_table(embedders.make_embedder(str(_write_json(tmp_path))))


def test_vector_file_txt(tmp_path):
  lines = [f'{w} {" ".join(map(str, v))}' for w, v in TABLE.items()]
  (tmp_path / 'glove.txt').write_text('\n'.join(lines) + '\n')
  (tmp_path / 'w2v.txt').write_text('\n'.join([f'{len(lines)} 3'] + lines))
  _assert_table(embedders.make_embedder(str(tmp_path / 'glove.txt')))
  _assert_table(embedders.make_embedder(str(tmp_path / 'w2v.txt')))


def test_vector_file_npz_and_npy(tmp_path):
  values = np.array(list(TABLE.values()), np.float32)
  np.savez(tmp_path / 'per_word.npz', **{w: v for w, v in zip(TABLE, values, strict=True)})
  np.savez(tmp_path / 'table.npz', words=np.array(list(TABLE)), vectors=values)
  np.save(tmp_path / 'table.npy', values)
  (tmp_path / 'table.vocab').write_text('\n'.join(TABLE) + '\n')
  for name in ('per_word.npz', 'table.npz', 'table.npy'):
    _assert_table(embedders.make_embedder(str(tmp_path / name)))


def test_vector_file_lookup(table_embedder):
  np.testing.assert_array_equal(table_embedder.embed(['Morning'])[0], TABLE['morning'])
  np.testing.assert_allclose(table_embedder.embed(['late noon'])[0], [0.5, 1.5, 0.0])
  with pytest.raises(TextError) as e:
    table_embedder.embed(['mornin'])
  message = _one_line(e)
  assert "'mornin'" in message and "did you mean 'morning'" in message
  with pytest.raises(TextError) as e:
    table_embedder.embed(['late nite'])
  assert "unknown word 'nite'" in _one_line(e)


@pytest.mark.parametrize(
  'name, content, problem',
  [
    ('bad.txt', 'a 1 2\nb 1 x\n', 'bad.txt:2'),
    ('short.txt', 'a 1 2\nb 1\n', 'short.txt:2'),
    ('extra.txt', 'a 1 2\nb 1 2 3\n', 'extra.txt:2'),
    ('empty.txt', '\n', 'no vectors'),
    ('dup.txt', 'a 1 2\na 3 4\n', "duplicate word 'a'"),
    ('dims.json', '{"a": [1, 2], "b": [1, 2, 3]}', "'b'"),
    ('text.json', '{"a": ["x"]}', 'text.json'),
    ('broken.json', '{"a": [1, 2]', 'invalid JSON'),
    ('list.json', '[1, 2]', 'JSON object'),
    ('nan.json', '{"a": [NaN, 1]}', 'non-finite'),
    ('garbage.npz', 'not a zip', 'garbage.npz'),
    ('vectors.csv', 'a,1', 'unsupported'),
  ],
)
def test_malformed_vector_files(tmp_path, name, content, problem):
  (tmp_path / name).write_text(content)
  with pytest.raises(TextError) as e:
    embedders.VectorFileEmbedder(tmp_path / name)
  message = _one_line(e)
  assert name in message and problem in message


def test_vector_file_never_unpickles(tmp_path):
  np.save(tmp_path / 'obj.npy', np.array([{'a': 1}], dtype=object), allow_pickle=True)
  (tmp_path / 'obj.vocab').write_text('a\n')
  np.save(tmp_path / 'nov.npy', np.zeros((2, 3)))
  for name in ('obj.npy', 'nov.npy'):
    with pytest.raises(TextError) as e:
      embedders.VectorFileEmbedder(tmp_path / name)
    assert name in _one_line(e)


def test_make_embedder_errors(tmp_path):
  for spec in ('glove', str(tmp_path / 'missing.json'), 'wordllama:x'):
    with pytest.raises(TextError) as e:
      embedders.make_embedder(spec)
    _one_line(e)


# --- reducer -----------------------------------------------------------------


def _json_round_trip(data):
  return json.loads(json.dumps(data))


def test_reducer_pca_round_trip():
  rng = np.random.default_rng(0)
  train = rng.normal(size=(6, 16)).astype(np.float32)
  reducer = reducer_lib.Reducer.fit(train, 2)
  assert reducer.out_dim == 2
  np.testing.assert_allclose(reducer.components @ reducer.components.T, np.eye(2), atol=1e-12)
  y = reducer.transform(train)
  assert y.dtype == np.float32 and y.shape == (6, 2)
  assert np.var(y[:, 0]) >= np.var(y[:, 1])
  restored = reducer_lib.Reducer.from_dict(_json_round_trip(reducer.to_dict()))
  probe = rng.normal(size=(5, 16)).astype(np.float32)
  np.testing.assert_array_equal(restored.transform(probe), reducer.transform(probe))
  np.testing.assert_array_equal(reducer_lib.Reducer.fit(train, 2).components, reducer.components)


def test_reducer_two_words():
  a, b = np.eye(8, dtype=np.float32)[:2] + 0.1
  reducer = reducer_lib.Reducer.fit(np.stack([a, b]), 2)
  ya, yb = reducer.transform(np.stack([a, b]))
  np.testing.assert_allclose(np.linalg.norm(ya - yb), np.linalg.norm(a - b), rtol=1e-6)
  np.testing.assert_allclose(ya, -yb, atol=1e-7)
  np.testing.assert_allclose(reducer.components @ reducer.components.T, np.eye(2), atol=1e-12)
  assert np.all(np.isfinite(reducer.transform(np.ones((3, 8)))))
  restored = reducer_lib.Reducer.from_dict(_json_round_trip(reducer.to_dict()))
  np.testing.assert_array_equal(restored.transform(np.stack([a, b])), np.stack([ya, yb]))


def test_reducer_background_and_degenerate():
  rng = np.random.default_rng(1)
  train, background = rng.normal(size=(2, 10)), rng.normal(size=(20, 10))
  reducer = reducer_lib.Reducer.fit(train, 3, background=background)
  assert reducer.transform(train).shape == (2, 3)
  same = reducer_lib.Reducer.fit(np.ones((3, 4)), 2)  # rank 0: only fallback axes
  np.testing.assert_allclose(same.components @ same.components.T, np.eye(2), atol=1e-12)


def test_reducer_identity_and_errors():
  identity = reducer_lib.Reducer.identity()
  x = np.arange(6, dtype=np.float64).reshape(2, 3)
  np.testing.assert_array_equal(identity.transform(x), x.astype(np.float32))
  assert reducer_lib.Reducer.from_dict(_json_round_trip(identity.to_dict())).is_identity
  reducer = reducer_lib.Reducer.fit(x, 1)
  for call in (
    lambda: reducer.transform(np.zeros(4)),
    lambda: reducer_lib.Reducer.fit(x, 4),
    lambda: reducer_lib.Reducer.fit(x, 1, method='tsne'),
    lambda: reducer_lib.Reducer.from_dict({'method': 'pca'}),
    lambda: reducer_lib.Reducer.from_dict(
      {'method': 'pca', 'mean': [0, 0], 'components': [[1, 0, 0]]}
    ),
  ):
    with pytest.raises(TextError) as e:
      call()
    _one_line(e)


# --- vocabulary --------------------------------------------------------------


def test_signal_vocabulary_round_trip(tmp_path):
  path = _write_json(tmp_path)
  vocab = vocabulary.SignalVocabulary.build(str(path), ['morning', 'night'], out_dim=2)
  assert vocab.dim == 2
  signals = vocab.training_signals()
  assert signals.shape == (2, 2) and np.linalg.norm(signals[0] - signals[1]) > 1
  np.testing.assert_array_equal(vocab.signal('morning'), signals[0])
  mix = vocab.signal('0.5 morning + 0.5 night')
  np.testing.assert_allclose(mix, signals.mean(axis=0), atol=1e-6)
  data = _json_round_trip(vocab.to_dict())
  restored = vocabulary.SignalVocabulary.from_dict(data)
  for t in ('noon', 'late evening', '0.3*noon + 0.7 night'):
    np.testing.assert_array_equal(restored.signal(t), vocab.signal(t))
  assert restored.signals(['noon', 'night']).shape == (2, 2)


def test_signal_vocabulary_identity_and_check(tmp_path):
  path = _write_json(tmp_path)
  vocab = vocabulary.SignalVocabulary.build(embedders.make_embedder(str(path)), ['noon'])
  assert vocab.dim == 3 and vocab.reducer.is_identity
  np.testing.assert_array_equal(vocab.signal('noon'), TABLE['noon'])
  data = _json_round_trip(vocab.to_dict())
  _write_json(tmp_path, dict(TABLE, noon=[0.0, 2.5, 0.0]))
  with pytest.raises(TextError) as e:
    vocabulary.SignalVocabulary.from_dict(data)
  assert "'noon'" in _one_line(e)
  assert vocabulary.SignalVocabulary.from_dict(data, atol=None).words == ['noon']
  with pytest.raises(TextError) as e:
    vocabulary.SignalVocabulary.from_dict({'words': []})
  _one_line(e)


@needs_wordllama
def test_signal_vocabulary_wordllama():
  vocab = vocabulary.SignalVocabulary.build('wordllama', ['morning', 'night'], out_dim=2)
  restored = vocabulary.SignalVocabulary.from_dict(_json_round_trip(vocab.to_dict()))
  np.testing.assert_array_equal(restored.signal('noon'), vocab.signal('noon'))
  morning, night = vocab.training_signals()
  assert np.linalg.norm(morning - night) > 0.5
