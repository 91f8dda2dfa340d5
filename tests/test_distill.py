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

"""The fast style encoder: distilled from a model, saved with it, read by every backend."""

import os
import shutil

import jax
import numpy as np
import pytest

from zmnet_jax import infer, params_file
from zmnet_jax.cli import distill as distill_cli, evaluate as evaluate_cli, stylize as stylize_cli
from zmnet_jax.data import embedded, image_files
from zmnet_jax.infer import signal_inputs
from zmnet_jax.models import fast_encoder
from zmnet_jax.training import distill

from conftest import built_once

OPTIONS = distill.Options(
  num_styles=14, steps=150, batch=4, encoder=fast_encoder.FastEncoderConfig(width=8, size=32)
)


@pytest.fixture(scope='module')
def styles(tmp_path_factory):
  """14 training images (the embedded photos and textures) in one folder."""

  def gather(root):
    folders = embedded.materialize_embedded_data(os.path.join(root, 'embedded'))
    for name in ('content_train', 'style_train'):
      shutil.copytree(folders[name], os.path.join(root, 'styles', name))

  return os.path.join(built_once(tmp_path_factory, 'distill_styles', gather), 'styles')


@pytest.fixture(scope='module')
def distilled(trained_workdir, styles, tmp_path_factory):
  """(teacher params file, the distilled model's file, its report)."""
  teacher = os.path.join(trained_workdir, 'model.safetensors')
  out = str(tmp_path_factory.mktemp('distill') / 'fast.safetensors')
  report = distill.distill(teacher, [styles], out, OPTIONS)
  return teacher, out, report


def test_the_fast_encoder_learns_the_teachers_din_parameters(distilled, styles):
  teacher_path, out, report = distilled
  teacher = infer.Stylizer.load(teacher_path)
  fast = infer.Stylizer.load(out, style_encoder='fast')
  assert fast.style_encoder == 'fast' and teacher.style_encoder == 'vgg'
  assert report['styles'] == 12 and report['steps'] == 150 and report['teacher_style_size'] == 64
  assert fast.card['fast_encoder'] == report
  pictures = [image_files.load_image(p) for p in image_files.list_images(styles)]
  want = teacher.encode_images(pictures)
  got = fast.encode_images(pictures)
  # Per style, the fast DIN parameters are nearer the teacher's than the teacher's mean
  # over the styles is (R^2 over all of them; 12 of the 14 were trained on).
  want_flat = np.concatenate([np.asarray(x).reshape(14, -1) for x in jax.tree.leaves(want)], 1)
  got_flat = np.concatenate([np.asarray(x).reshape(14, -1) for x in jax.tree.leaves(got)], 1)
  residual = np.sum((got_flat - want_flat) ** 2)
  total = np.sum((want_flat - want_flat.mean(0)) ** 2)
  assert 1 - residual / total > 0.8
  # The ZMNet params are the teacher's, untouched.
  theirs = params_file.flatten(jax.device_get(teacher.params))
  ours = params_file.flatten(jax.device_get(fast.params))
  assert ours.keys() == theirs.keys()
  assert all(np.array_equal(ours[k], theirs[k]) for k in ours)


def test_the_fast_encoder_stylizes_any_style_shape_in_one_compile(distilled):
  fast = infer.Stylizer.load(distilled[1], style_encoder='fast')
  rng = np.random.default_rng(0)
  styles = [rng.uniform(size=shape).astype(np.float32) for shape in ((40, 90, 3), (77, 33, 3))]
  fast.encode_images(styles)
  assert fast.fast_encoder.encode._cache_size() == 1  # one square shape
  contents = rng.uniform(size=(1, 36, 44, 3)).astype(np.float32)
  out = fast.stylize(contents, fast.encode_images(styles))
  assert out.shape == (2, 1, 36, 44, 3) and np.all(np.isfinite(out))
  mixed = fast.with_strength(fast.encode_images(styles[:1]), contents, 0.5)
  assert jax.tree.leaves(mixed)[0].shape[:2] == (1, 1)


def test_targets_are_kept_and_a_larger_draw_only_computes_the_new_ones(
  trained_workdir, styles, tmp_path, monkeypatch
):
  teacher = os.path.join(trained_workdir, 'model.safetensors')
  cache = str(tmp_path / 'targets.npz')
  calls = []
  embed = infer.Stylizer.embed
  monkeypatch.setattr(
    infer.Stylizer, 'embed', lambda self, x: calls.append(len(x)) or embed(self, x)
  )
  stylizer = infer.Stylizer.load(teacher)
  first = distill.teacher_targets(stylizer, distill.draw_styles([styles], 6, 0), 32, cache)
  assert sum(calls) == 6 and first.small.shape == (6, 32, 32, 3) and first.small.dtype == np.uint8
  more = distill.teacher_targets(stylizer, distill.draw_styles([styles], 9, 0), 32, cache)
  assert sum(calls) == 9  # the first six came from the file
  np.testing.assert_array_equal(more.emb[:6], first.emb)
  assert len(distill.read_targets(cache)) == 9


def test_an_interrupted_draw_keeps_the_targets_it_computed(
  trained_workdir, styles, tmp_path, monkeypatch
):
  teacher = os.path.join(trained_workdir, 'model.safetensors')
  cache = str(tmp_path / 'targets.npz')
  embed = infer.Stylizer.embed
  calls = []

  def interrupted(self, x):
    calls.append(len(x))
    if len(calls) == 2:
      raise KeyboardInterrupt
    return embed(self, x)

  monkeypatch.setattr(infer.Stylizer, 'embed', interrupted)
  with pytest.raises(KeyboardInterrupt):
    distill.teacher_targets(
      infer.Stylizer.load(teacher), distill.draw_styles([styles], 9, 0), 32, cache
    )
  assert len(distill.read_targets(cache)) == 4  # the first batch of 4


def test_distill_errors_are_one_line(trained_workdir, styles, tmp_path, capsys):
  teacher = os.path.join(trained_workdir, 'model.safetensors')
  cases = [
    (['--model', trained_workdir, '--styles', styles], 'distil from a params file'),
    (['--model', teacher, '--styles', str(tmp_path)], 'no image files'),
    (['--model', teacher, '--styles', styles, '--num-styles', '5'], 'fewer than a batch'),
    (['--model', teacher, '--styles', styles, '--size', '30'], 'multiple of 16'),
    (['--model', teacher, '--styles', styles, '--val-styles', styles], 'must stay held out'),
  ]
  for argv, message in cases:
    assert distill_cli.main([*argv, '--out', str(tmp_path / 'x.safetensors')]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count('\n') == 1, err
  assert not os.path.exists(tmp_path / 'x.safetensors')


def test_a_model_without_a_fast_encoder_says_how_to_make_one(trained_workdir, tmp_path, capsys):
  teacher = os.path.join(trained_workdir, 'model.safetensors')
  with pytest.raises(infer.InferenceError, match='has no fast style encoder.*zmnet_jax.distill'):
    infer.Stylizer.load(teacher, style_encoder='fast')
  with pytest.raises(infer.InferenceError, match='must be one of vgg, fast'):
    infer.Stylizer.load(teacher, style_encoder='small')
  content = tmp_path / 'c.png'
  image_files.save_image(content, np.zeros((32, 32, 3), np.uint8))
  argv = ['--model', teacher, '--content', content, '--style', content, '--out', tmp_path / 'o.png']
  assert stylize_cli.main([str(a) for a in [*argv, '--style-encoder', 'fast']]) == 1
  assert 'has no fast style encoder' in capsys.readouterr().err
  bad = ['--model', teacher, '--content', tmp_path, '--styles', tmp_path, '--out', tmp_path / 'e']
  assert evaluate_cli.main([str(a) for a in [*bad, '--style-encoder', 'fast']]) == 2
  assert 'error: --style-encoder fast needs --protocol' in capsys.readouterr().err


def test_damaged_fast_encoder_arrays_are_refused(distilled, tmp_path):
  config, params, card, vocab = params_file.load(distilled[1])
  del config['model']['fast_encoder']
  path = params_file.save(tmp_path / 'no_config.safetensors', params, config, card, vocab)
  with pytest.raises(infer.InferenceError, match='arrays but no model.fast_encoder config'):
    infer.Stylizer.load(path)
  config, params, card, vocab = params_file.load(distilled[1])
  config['model']['fast_encoder']['width'] = 16
  path = params_file.save(tmp_path / 'wrong.safetensors', params, config, card, vocab)
  with pytest.raises(infer.InferenceError, match='do not match its model.fast_encoder config'):
    infer.Stylizer.load(path, style_encoder='fast')


def test_fast_style_array_is_the_central_square():
  style = np.zeros((40, 80, 3), np.uint8)
  style[:, 20:60] = 255  # the central 40 x 40
  square = signal_inputs.fast_style_array(style, 40)
  assert square.shape == (1, 40, 40, 3) and square.min() == 1.0
  assert signal_inputs.fast_style_array(style, 16).shape == (1, 16, 16, 3)
  with pytest.raises(infer.InferenceError, match='my.png: expected an image'):
    signal_inputs.fast_style_array(np.zeros((4, 4)), 16, 'my.png')


def test_the_onnx_bundle_carries_the_fast_encoder(distilled, tmp_path, capsys):
  pytest.importorskip('onnxruntime', reason='the [onnx] extra is not installed')
  from zmnet_jax.portable import bundle, runtime

  rng = np.random.default_rng(1)
  styles = [rng.uniform(size=(50, 70, 3)).astype(np.float32) for _ in range(2)]
  want = infer.Stylizer.load(distilled[1], style_encoder='fast').encode_images(styles)
  onnx_fast = runtime.OnnxStylizer.load(distilled[1], threads=1, style_encoder='fast')
  assert os.path.isfile(os.path.join(onnx_fast.bundle, bundle.FAST_ENCODER_FILE))
  got = onnx_fast.encode_images(styles)
  for name in want:
    for a, b in zip(got[name], want[name], strict=True):
      np.testing.assert_allclose(a, np.asarray(b), rtol=0, atol=1e-4)
  with pytest.raises(infer.InferenceError, match='has no fast style encoder'):
    runtime.OnnxStylizer.load(distilled[0], style_encoder='fast')
  content = tmp_path / 'c.png'
  image_files.save_image(content, (rng.uniform(size=(40, 48, 3)) * 255).astype(np.uint8))
  out = tmp_path / 'o.png'
  argv = ['--model', distilled[1], '--content', content, '--style', content, '--out', out]
  assert (
    stylize_cli.main([str(a) for a in [*argv, '--style-encoder', 'fast', '--backend', 'onnx']]) == 0
  )
  assert image_files.load_image(out).shape == (40, 48, 3)


def test_the_web_app_serves_with_the_fast_encoder(distilled, tmp_path):
  from zmnet_jax.app import engine as engine_lib, server

  options = server.ServerOptions(model=distilled[1], style_encoder='fast')
  engine = server.load_engine(options, str(tmp_path))
  assert engine.stylizer.style_encoder == 'fast'
  content = str(tmp_path / 'c.png')
  image_files.save_image(
    content, (np.random.default_rng(3).uniform(size=(48, 40, 3)) * 255).astype(np.uint8)
  )
  result = engine.run(engine_lib.Request(content, (content,), size=None))
  assert image_files.load_image(result.path).shape == (48, 40, 3)


def test_fine_tuning_from_a_model_with_a_fast_encoder_reads_its_model_params(distilled):
  from zmnet_jax.infer import loading

  teacher = loading.load_model(loading.resolve_model_path(distilled[0]))
  abstract = teacher.model.abstract_params(teacher.config, teacher.vgg_params)
  params, _ = loading.read_params(loading.resolve_model_path(distilled[1]), abstract)
  ours, theirs = params_file.flatten(params), params_file.flatten(teacher.params)
  assert ours.keys() == theirs.keys()
  assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
