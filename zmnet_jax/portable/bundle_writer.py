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


"""Write a trained model as an ONNX bundle: two graphs and a manifest (`bundle`).

The folder is written under a temporary name and renamed, so a bundle is whole or absent.
"""

from __future__ import annotations

import hashlib
import json
import os

import jax
import numpy as np

from zmnet_jax import files
from zmnet_jax.infer import loading
from zmnet_jax.models import zmnet
from zmnet_jax.portable import bundle, onnx_graphs
from zmnet_jax.words import vocabulary


def graphs(loaded: loading.LoadedModel) -> dict:
  """{bundle file: ONNX model} of a loaded model's params: the style encoder, the
  transformer, and the fast style encoder if the model has one."""
  config = loaded.config.model
  tnet = zmnet.TNetConfig.from_config(config.tnet.to_dict())
  pnet = zmnet.PNetConfig.from_config(config.pnet.to_dict())
  params = jax.tree.map(np.asarray, loaded.params)
  vgg = jax.tree.map(np.asarray, loaded.vgg_params)['params'] if pnet.signal == 'image' else None
  vgg_config = loaded.config.get('vgg', {})
  encoder = onnx_graphs.encoder_graph(
    tnet,
    pnet,
    params,
    vgg,
    vgg_config.get('arch', 'vgg19'),
    vgg_config.get('pooling', 'max'),
  )
  out = {
    bundle.ENCODER_FILE: encoder,
    bundle.TRANSFORMER_FILE: onnx_graphs.transformer_graph(tnet, params['transformer']),
  }
  if loaded.fast_encoder is not None:
    student = jax.tree.map(np.asarray, loaded.fast_encoder)
    out[bundle.FAST_ENCODER_FILE] = onnx_graphs.fast_encoder_graph(tnet, pnet, params, student)
  return out


def manifest(loaded: loading.LoadedModel, source: str) -> dict:
  config = loaded.config
  tnet = zmnet.TNetConfig.from_config(config.model.tnet.to_dict())
  info = {
    'format': bundle.FORMAT,
    'signal': config.model.pnet.signal,
    'signal_dim': int(config.model.pnet.get('signal_dim') or 0),
    'style_size': int(config.eval.style_size),
    'stride': 4,
    'layers': [[name, channels] for name, channels in zmnet.conditioned_layers(tnet)],
    'source': source,
    'step': loaded.step,
    'card': loaded.card,
  }
  if loaded.fast_encoder_config is not None:
    info['fast_style_size'] = loaded.fast_encoder_config.size
  return info


def export_onnx(model: str | None, out: str, overwrite: bool = False) -> str:
  """Exports a model (a shipped name, params file or workdir) as the bundle `out`."""
  source = loading.resolve_model_path(model)
  loaded = loading.load_model(source)
  return write_bundle(loaded, out, source.path, vocabulary_of(source, loaded), overwrite)


def vocabulary_of(source: loading.ModelSource, loaded: loading.LoadedModel) -> dict | None:
  """A word model's signal vocabulary (params-file metadata or the workdir's file)."""
  if loaded.vocabulary is not None or source.is_file:
    return loaded.vocabulary
  found = vocabulary.load_vocabulary(source.model_dir)
  return None if found is None else found.to_dict()


def write_bundle(
  loaded: loading.LoadedModel, out: str, source: str, vocab=None, overwrite: bool = False
) -> str:
  """Writes the bundle folder `out` (whole or not at all; an existing one is replaced
  only with `overwrite`, once the new one is written); returns it."""
  with files.atomic_folder(out, overwrite) as staging:
    info = manifest(loaded, source)
    info['sha256'] = {}
    for name, model in graphs(loaded).items():
      data = model.SerializeToString()
      files.write_plain(os.path.join(staging, name), data)
      info['sha256'][name] = hashlib.sha256(data).hexdigest()
    if vocab is not None:
      files.write_plain(os.path.join(staging, vocabulary.VOCABULARY_FILE), json.dumps(vocab))
    text = json.dumps(info, indent=2, default=str)
    files.write_plain(os.path.join(staging, bundle.MANIFEST), text)
  return out
