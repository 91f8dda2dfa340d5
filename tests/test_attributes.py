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

"""Word/attribute signals: vector-PNet training, vocabulary round trip, zero-shot table,
word-labelled batches, animation."""

import json
import os

import numpy as np
from PIL import Image
import pytest

from zmnet_jax import infer
from zmnet_jax.cli import animate, stylize
from zmnet_jax.configs import attributes as attributes_config
from zmnet_jax.data import eval_sets, word_input
from zmnet_jax.words import embedders, vocabulary

from conftest import word_config


def test_word_model_trains_and_writes_the_zero_shot_table(trained_word_workdir):
  lines = [json.loads(l) for l in open(os.path.join(trained_word_workdir, 'metrics.jsonl'))]
  losses = [l['loss'] for l in lines if 'loss' in l]
  assert len(losses) == 2 and all(np.isfinite(losses))
  report = json.load(open(os.path.join(trained_word_workdir, 'eval.json')))
  table = report['style_loss_vs_references']
  assert list(table) == ['noon', 'evening', '0.5 morning + 0.5 night', 'night']
  for row in table.values():
    assert set(row) == {'noon', 'night', 'dusk', 'nearest'}
    assert all(np.isfinite(row[r]) for r in ('noon', 'night', 'dusk'))
  assert sorted(report['training_words']) == ['night', 'noon']
  sheet = Image.open(os.path.join(trained_word_workdir, 'eval.png'))
  assert sheet.size[0] > sheet.size[1]  # 4 word columns + label column, 2 content rows


def test_vocabulary_round_trips_through_the_model_folder(trained_word_workdir):
  vocab = vocabulary.load_vocabulary(trained_word_workdir)
  assert sorted(vocab.words) == ['night', 'noon'] and vocab.dim == 2
  config = json.load(open(os.path.join(trained_word_workdir, 'config.json')))
  assert config['model']['pnet']['signal_dim'] == 2
  fresh = vocabulary.build_vocabulary(attributes_config.get_config('tiny').signals)
  for word in ('noon', 'night', 'evening', '0.5 morning + 0.5 night'):
    np.testing.assert_array_equal(vocab.signal(word), fresh.signal(word))
  # The two training words sit apart; their mixture halfway between.
  noon, night = vocab.signal('noon'), vocab.signal('night')
  assert np.linalg.norm(noon - night) > 0.1
  np.testing.assert_allclose(vocab.signal('0.5 noon + 0.5 night'), (noon + night) / 2, atol=1e-6)


def test_word_model_stylizes_unseen_words_and_mixtures(trained_word_workdir, word_folders):
  stylizer = infer.Stylizer.load(trained_word_workdir)
  vocab = vocabulary.load_vocabulary(trained_word_workdir)
  contents = eval_sets.load_eval_images(word_folders['content_val'], 32)[1]
  din = stylizer.encode_vectors(vocab.signals(['noon', 'night', 'morning']))
  out = stylizer.stylize(contents, din)
  assert out.shape == (3, len(contents), 32, 32, 3)
  assert np.abs(out[0] - out[1]).max() > 1e-4  # different words, different outputs
  with pytest.raises(infer.InferenceError, match='word|vector'):
    stylizer.encode_images([contents[0]])


def test_word_style_batches_are_deterministic_and_resume(word_folders, tmp_path):
  config = word_config(attributes_config.get_config('tiny'), word_folders)
  config.data.data_dir = str(tmp_path / 'tfds')
  vocab = vocabulary.build_vocabulary(config.signals)

  def make():
    return word_input.make_word_style_input(config.data, config.signals, vocab, 4, seed=3)

  first, second = make(), make()
  batches = [next(first) for _ in range(3)]
  state = first.get_state()
  after = next(first)
  for b in batches:
    np.testing.assert_array_equal(b['signal'], next(second)['signal'])
  assert batches[0]['signal'].shape == (4, 2) and batches[0]['style'].shape == (4, 32, 32, 3)
  # Every element's signal is one of the training words' vectors.
  words = vocab.training_signals()
  for row in np.concatenate([b['signal'] for b in batches]):
    assert min(np.abs(words - row).max(axis=1)) == 0
  resumed = make()
  resumed.set_state(state)
  again = next(resumed)
  for key in ('content', 'style', 'signal'):
    np.testing.assert_array_equal(after[key], again[key])
  for it in (first, second, resumed):
    it.close()


def test_sweep_weights_walk_through_the_signals():
  w = animate.sweep_weights(3, 5)
  np.testing.assert_allclose(w, [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1]])
  with pytest.raises(animate.AnimationError, match='at least 2 signals'):
    animate.sweep_weights(1, 5)


@pytest.mark.parametrize('mode', ['params', 'embedding'])
def test_animation_writes_the_requested_frames(
  trained_word_workdir, word_folders, tmp_path, mode, capsys
):
  content = os.path.join(word_folders['content_val'], os.listdir(word_folders['content_val'])[0])
  out = str(tmp_path / f'anim_{mode}.gif')
  code = animate.main(
    [
      '--model',
      trained_word_workdir,
      '--content',
      content,
      '--signals',
      'noon, night',
      '--frames',
      '5',
      '--size',
      '32',
      '--out',
      out,
      '--interpolate',
      mode,
      '--batch',
      '2',
    ]
  )
  assert code == 0, capsys.readouterr().err
  gif = Image.open(out)
  assert gif.n_frames == 5
  frames = []
  for i in range(5):
    gif.seek(i)
    frames.append(np.asarray(gif.convert('RGB'), np.float32))
  assert np.abs(frames[0] - frames[-1]).max() > 0  # the signal sweep changes the image


def test_animation_mp4(trained_word_workdir, word_folders, tmp_path):
  pytest.importorskip('av', reason='MP4 needs PyAV (the [video] extra)')
  from zmnet_jax.video import io as video_io

  content = os.path.join(word_folders['content_val'], os.listdir(word_folders['content_val'])[0])
  out = str(tmp_path / 'anim.mp4')
  assert (
    animate.main(
      [
        '--model',
        trained_word_workdir,
        '--content',
        content,
        '--signals',
        'noon,evening,night',
        '--frames',
        '4',
        '--size',
        '32',
        '--out',
        out,
      ]
    )
    == 0
  )
  with video_io.VideoReader(out) as reader:
    frames = list(reader.frames())
    assert reader.info().fps == 12  # the --fps default
  assert len(frames) == 4 and min(frames[0].rgb.shape[:2]) == 32
  # The clip as a video content, swept from one word to another.
  words = str(tmp_path / 'words.mp4')
  args = ['--model', trained_word_workdir, '--content', out, '--text', 'noon', 'night']
  assert stylize.main([*args, '--style-sweep', '--out', words]) == 0
  with video_io.VideoReader(words) as reader:
    assert len(list(reader.frames())) == 4


def test_animation_errors_are_one_line(trained_word_workdir, tmp_path, capsys):
  code = animate.main(
    [
      '--model',
      trained_word_workdir,
      '--content',
      str(tmp_path / 'x.jpg'),
      '--signals',
      'noon,night',
      '--out',
      str(tmp_path / 'a.gif'),
    ]
  )
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1 and 'x.jpg' in err
  content = tmp_path / 'c.png'
  Image.new('RGB', (32, 32), 'gray').save(content)
  code = animate.main(
    [
      '--model',
      trained_word_workdir,
      '--content',
      str(content),
      '--signals',
      'noon,',
      '--out',
      str(tmp_path / 'a.gif'),
    ]
  )
  err = capsys.readouterr().err.strip()
  assert code == 1 and 'at least 2 signals' in err


def test_unknown_word_in_a_vector_file_vocabulary_is_one_line(tmp_path):
  vectors = tmp_path / 'v.json'
  vectors.write_text(json.dumps({'noon': [1.0, 0.0], 'night': [0.0, 1.0]}))
  vocab = vocabulary.SignalVocabulary.build(str(vectors), ['noon', 'night'])
  with pytest.raises(embedders.TextError) as e:
    vocab.signal('nigth')
  assert len(str(e.value).splitlines()) == 1 and 'night' in str(e.value)


def test_animation_sweeps_style_images_of_an_image_model(
  trained_workdir, word_folders, tmp_path, capsys
):
  styles = [
    os.path.join(word_folders['style_val'], n)
    for n in sorted(os.listdir(word_folders['style_val']))[:2]
  ]
  content = os.path.join(word_folders['content_val'], os.listdir(word_folders['content_val'])[0])
  out = str(tmp_path / 'styles.gif')
  code = animate.main(
    [
      '--model',
      trained_workdir,
      '--content',
      content,
      '--signals',
      ','.join(styles),
      '--frames',
      '3',
      '--size',
      '32',
      '--style-size',
      '32',
      '--out',
      out,
      '--interpolate',
      'embedding',
    ]
  )
  assert code == 0, capsys.readouterr().err
  assert Image.open(out).n_frames == 3
