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

"""ZM-Net as two ONNX graphs, written op by op from the trained parameters.

    style encoder: style [N, h, w, 3] in [0, 1] (or signal [N, D]) -> gamma_L, beta_L [N, C_L]
    transformer:   content [N, H, W, 3] in [0, 1] + gamma_L, beta_L -> stylized [N, H, W, 3]

one pair of DIN inputs per layer of `zmnet.conditioned_layers` (H and W multiples of 4,
any size). Each graph mirrors the Flax module it replaces layer for layer (the same
reflect padding, nearest upsampling, instance statistics and activations), so ONNX Runtime
reproduces the JAX outputs to float rounding; the parity tests hold it to 1e-4.

Why written by hand rather than traced: the two networks are ~20 plain layers, and the
`onnx` package alone (no converter, no extra pins beside JAX's) keeps the export exact by
construction, readable, and free of the tracer's version constraints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from zmnet_jax.models import fast_encoder, vgg_weights, zmnet

OPSET = 18
CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)
LAYER_NORM_EPS = 1e-6  # flax.linen.LayerNorm's default
STD_EPS = 1e-5  # ImageSignalEncoder's pooled standard deviation


def gamma_name(layer: str) -> str:
  return f'gamma_{layer}'


def beta_name(layer: str) -> str:
  return f'beta_{layer}'


class GraphBuilder:
  """Accumulates nodes and constants of one graph; each op returns its output's name."""

  def __init__(self):
    self.nodes: list[onnx.NodeProto] = []
    self.initializers: list[onnx.TensorProto] = []
    self._count = 0

  def fresh(self, hint: str) -> str:
    self._count += 1
    return f'{hint}_{self._count}'

  def const(self, value, hint: str = 'const') -> str:
    name = self.fresh(hint)
    self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
    return name

  def op(self, op_type: str, inputs, output: str | None = None, **attributes) -> str:
    output = output or self.fresh(op_type.lower())
    self.nodes.append(helper.make_node(op_type, list(inputs), [output], **attributes))
    return output

  def ops(self, op_type: str, inputs, num_outputs: int, **attributes) -> list[str]:
    outputs = [self.fresh(op_type.lower()) for _ in range(num_outputs)]
    self.nodes.append(helper.make_node(op_type, list(inputs), outputs, **attributes))
    return outputs

  # ---------------------------------------------------------------- layers (NCHW)

  def conv(self, x: str, kernel_hwio, bias, stride: int = 1, pad: int = 0) -> str:
    """Conv with a Flax kernel [kh, kw, I, O]; `pad` zero pixels on each side."""
    kernel = np.transpose(np.asarray(kernel_hwio, np.float32), (3, 2, 0, 1))
    return self.op(
      'Conv',
      [x, self.const(kernel, 'kernel'), self.const(np.asarray(bias, np.float32), 'bias')],
      kernel_shape=list(kernel.shape[2:]),
      strides=[stride, stride],
      pads=[pad] * 4,
    )

  def reflect_pad(self, x: str, pad: int) -> str:
    pads = self.const(np.array([0, 0, pad, pad, 0, 0, pad, pad], np.int64), 'pads')
    return self.op('Pad', [x, pads], mode='reflect')

  def upsample_nearest(self, x: str) -> str:
    """Nearest x2: output pixel (i, j) is input (i // 2, j // 2), as `jnp.repeat`."""
    scales = self.const(np.array([1, 1, 2, 2], np.float32), 'scales')
    return self.op(
      'Resize',
      [x, '', scales],
      mode='nearest',
      coordinate_transformation_mode='asymmetric',
      nearest_mode='floor',
    )

  def instance_norm(self, x: str, channels: int, gamma: str, beta: str, eps: float) -> str:
    """DIN: `gamma * (x - mean) / sqrt(var + eps) + beta`, gamma and beta [N, C] inputs."""
    ones = self.const(np.ones(channels, np.float32), 'ones')
    zeros = self.const(np.zeros(channels, np.float32), 'zeros')
    normalized = self.op('InstanceNormalization', [x, ones, zeros], epsilon=eps)
    scaled = self.op('Mul', [normalized, self.per_channel(gamma)])
    return self.op('Add', [scaled, self.per_channel(beta)])

  def dense(self, x: str, params: Mapping[str, Any]) -> str:
    kernel = self.const(np.asarray(params['kernel'], np.float32), 'kernel')
    return self.op('Add', [self.op('MatMul', [x, kernel]), self.const(params['bias'], 'bias')])

  def layer_norm(self, x: str, params: Mapping[str, Any]) -> str:
    scale = self.const(np.asarray(params['scale'], np.float32), 'scale')
    bias = self.const(np.asarray(params['bias'], np.float32), 'bias')
    return self.op('LayerNormalization', [x, scale, bias], axis=-1, epsilon=LAYER_NORM_EPS)

  def residual_mlp(self, x: str, params: Mapping[str, Any]) -> str:
    """`zmnet.ResidualMLPBlock`: x + fc2(relu(fc1(LayerNorm(x))))."""
    y = self.layer_norm(x, params['norm'])
    y = self.dense(self.op('Relu', [self.dense(y, params['fc1'])]), params['fc2'])
    return self.op('Add', [x, y])

  def to_nchw(self, x: str) -> str:
    return self.op('Transpose', [x], perm=[0, 3, 1, 2])

  def to_nhwc(self, x: str, output: str | None = None) -> str:
    return self.op('Transpose', [x], output, perm=[0, 2, 3, 1])

  def per_channel(self, vector: str) -> str:
    """[N, C] -> [N, C, 1, 1], to broadcast over an NCHW tensor."""
    return self.op('Unsqueeze', [vector, self.const(np.array([2, 3], np.int64), 'axes')])

  def spatial_mean(self, x: str, keepdims: int = 0) -> str:
    axes = self.const(np.array([2, 3], np.int64), 'axes')
    return self.op('ReduceMean', [x, axes], keepdims=keepdims)

  def model(self, name: str, inputs, outputs, doc: str) -> onnx.ModelProto:
    graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)])
    model.doc_string = doc
    model.producer_name = 'zmnet_jax'
    onnx.checker.check_model(model)
    return model


def float_input(name: str, shape) -> onnx.ValueInfoProto:
  return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def din_value_infos(layers) -> list[onnx.ValueInfoProto]:
  infos = []
  for name, channels in layers:
    infos += [
      float_input(gamma_name(name), ['N', channels]),
      float_input(beta_name(name), ['N', channels]),
    ]
  return infos


# ----------------------------------------------------------------------------- TNet


def transformer_graph(tnet: zmnet.TNetConfig, params: Mapping[str, Any]) -> onnx.ModelProto:
  """`zmnet.TNet` with its DIN parameters as graph inputs (see the module docstring)."""
  g = GraphBuilder()

  def din(x, name):
    gamma, beta = gamma_name(name), beta_name(name)
    if tnet.base_affine:
      gamma = g.op('Add', [gamma, g.const(np.asarray(params[f'{name}_scale'], np.float32))])
      beta = g.op('Add', [beta, g.const(np.asarray(params[f'{name}_shift'], np.float32))])
    return g.instance_norm(x, _channels(params, name), gamma, beta, tnet.eps)

  def conv(x, name, kernel_size, stride=1):
    layer = params[name]['conv']
    return g.conv(g.reflect_pad(x, kernel_size // 2), layer['kernel'], layer['bias'], stride)

  def conv_din_relu(x, name, kernel_size, stride=1):
    return g.op('Relu', [din(conv(x, name, kernel_size, stride), name)])

  x = g.to_nchw('content')
  x = conv_din_relu(x, 'conv1', 9)
  x = conv_din_relu(x, 'conv2', 3, stride=2)
  x = conv_din_relu(x, 'conv3', 3, stride=2)
  for i in range(tnet.num_residual_blocks):
    y = conv_din_relu(x, f'res{i + 1}_a', 3)
    x = g.op('Add', [x, din(conv(y, f'res{i + 1}_b', 3), f'res{i + 1}_b')])
  for name in ('up1', 'up2'):
    x = conv_din_relu(g.upsample_nearest(x), name, 3)
  x = g.op('Sigmoid', [conv(x, 'conv_out', 9)])
  g.to_nhwc(x, 'stylized')
  layers = zmnet.conditioned_layers(tnet)
  return g.model(
    'zmnet_transformer',
    [float_input('content', ['N', 'H', 'W', 3])] + din_value_infos(layers),
    [float_input('stylized', ['N', 'H', 'W', 3])],
    'ZM-Net TNet: content [N, H, W, 3] in [0, 1] (H, W multiples of 4) and per-layer DIN '
    'parameters gamma_L, beta_L [N, C] -> stylized [N, H, W, 3] in [0, 1].',
  )


def _channels(params: Mapping[str, Any], layer: str) -> int:
  return int(np.asarray(params[layer]['conv']['bias']).shape[0])


# ----------------------------------------------------------------------------- PNet


def vgg_features(g: GraphBuilder, x: str, vgg_params: Mapping[str, Any], arch: str, pooling: str):
  """Caffe-preprocessed VGG activations of NCHW RGB images in [0, 1], up to relu4_1:
  {relu name: tensor}. The BGR channel order is folded into conv1_1's kernel (exact)."""
  x = g.op(
    'Sub',
    [
      g.op('Mul', [x, g.const(np.float32(255.0))]),
      g.const(CAFFE_BGR_MEAN[::-1].reshape(1, 3, 1, 1).copy(), 'mean'),
    ],
  )
  last = zmnet.STYLE_ENCODER_LAYERS[-1]
  features, block = {}, '1'
  for conv in vgg_weights.conv_shapes(arch):
    if conv[4] != block:
      pool = 'MaxPool' if pooling == 'max' else 'AveragePool'
      x, block = g.op(pool, [x], kernel_shape=[2, 2], strides=[2, 2]), conv[4]
    kernel = np.asarray(vgg_params[conv]['kernel'], np.float32)
    if conv == 'conv1_1':
      kernel = kernel[:, :, ::-1]  # RGB input, BGR weights
    x = g.op('Relu', [g.conv(x, kernel, vgg_params[conv]['bias'], pad=1)])
    relu = 'relu' + conv[len('conv') :]
    features[relu] = x
    if relu == last:
      return features
  raise ValueError(f'{arch} has no layer {last}')


def image_embedding(g: GraphBuilder, features, params: Mapping[str, Any]) -> str:
  """`zmnet.ImageSignalEncoder`: 1x1 conv + relu, per-channel mean and std, LN, dense."""
  pooled = []
  for name in zmnet.STYLE_ENCODER_LAYERS:
    proj = params[f'proj_{name}']
    f = g.op('Relu', [g.conv(features[name], proj['kernel'], proj['bias'])])
    pooled += mean_and_std(g, f)
  x = g.layer_norm(g.op('Concat', pooled, axis=1), params['pool_norm'])
  return g.dense(x, params['embed'])


def mean_and_std(g: GraphBuilder, f: str) -> list[str]:
  """Per-channel spatial mean and sqrt(var + eps) of NCHW features, [N, C] each."""
  mean = g.spatial_mean(f, keepdims=1)
  centered = g.op('Sub', [f, mean])
  var = g.spatial_mean(g.op('Mul', [centered, centered]))
  std = g.op('Sqrt', [g.op('Add', [var, g.const(np.float32(STD_EPS))])])
  squeeze_axes = g.const(np.array([2, 3], np.int64), 'axes')
  return [g.op('Squeeze', [mean, squeeze_axes]), std]


def fast_embedding(g: GraphBuilder, style: str, params: Mapping[str, Any]) -> str:
  """`fast_encoder.FastStyleEncoder`: the conv stages, pooled, LN, two dense layers."""
  x = g.op('Sub', [g.to_nchw(style), g.const(np.float32(fast_encoder.IMAGE_MEAN))])
  x = g.op('Div', [x, g.const(np.float32(fast_encoder.IMAGE_STD))])
  pooled = []
  for name, _, _, stride, pad in fast_encoder.CONVS:
    x = g.op('Relu', [g.conv(x, params[name]['kernel'], params[name]['bias'], stride, pad)])
    if name in fast_encoder.POOLED_AFTER:
      pooled += mean_and_std(g, x)
  h = g.layer_norm(g.op('Concat', pooled, axis=1), params['pool_norm'])
  h = g.op('Relu', [g.dense(h, params['hidden'])])
  return g.dense(h, params['embed'])


def vector_embedding(g: GraphBuilder, x: str, params: Mapping[str, Any], num_blocks: int) -> str:
  """`zmnet.VectorSignalEncoder`: dense, then residual MLP blocks."""
  x = g.dense(x, params['input'])
  for i in range(num_blocks):
    x = g.residual_mlp(x, params[f'block{i}'])
  return x


def din_heads(g: GraphBuilder, embedding: str, params, layers, variant: str) -> None:
  """`zmnet.SerialPNet` / `ParallelPNet`: writes the outputs gamma_L, beta_L."""
  h = embedding
  for name, channels in layers:
    if variant == 'serial':
      h = g.residual_mlp(h, params[f'stage_{name}'])
      branch = h
    else:
      branch = g.residual_mlp(embedding, params[f'branch_{name}'])
    head = params[f'head_{name}']
    out = g.dense(g.layer_norm(branch, head['norm']), head['affine'])
    delta_gamma, beta = g.ops(
      'Split', [out, g.const(np.array([channels, channels], np.int64))], 2, axis=1
    )
    g.op('Add', [delta_gamma, g.const(np.float32(1.0))], gamma_name(name))
    g.op('Identity', [beta], beta_name(name))


def encoder_graph(
  tnet: zmnet.TNetConfig,
  pnet: zmnet.PNetConfig,
  params: Mapping[str, Any],
  vgg_params: Mapping[str, Any] | None = None,
  vgg_arch: str = 'vgg19',
  vgg_pooling: str = 'max',
) -> onnx.ModelProto:
  """PNet with its signal encoder (VGG included for image signals) -> DIN parameters."""
  g = GraphBuilder()
  layers = zmnet.conditioned_layers(tnet)
  encoder = params['signal_encoder']
  if pnet.signal == 'image':
    if vgg_params is None:
      raise ValueError('an image-signal encoder needs the VGG parameters')
    features = vgg_features(g, g.to_nchw('style'), vgg_params, vgg_arch, vgg_pooling)
    embedding = image_embedding(g, features, encoder)
    inputs = [float_input('style', ['N', 'h', 'w', 3])]
    doc = 'style [N, h, w, 3] in [0, 1]'
  else:
    embedding = vector_embedding(g, 'signal', encoder, pnet.vector_blocks)
    dim = np.asarray(encoder['input']['kernel']).shape[0]
    inputs = [float_input('signal', ['N', dim])]
    doc = f'signal vectors [N, {dim}]'
  din_heads(g, embedding, params['param_net'], layers, pnet.variant)
  return g.model(
    'zmnet_style_encoder',
    inputs,
    din_value_infos(layers),
    f'ZM-Net PNet: {doc} -> per-layer DIN parameters gamma_L, beta_L [N, C].',
  )


def fast_encoder_graph(
  tnet: zmnet.TNetConfig, pnet: zmnet.PNetConfig, params: Mapping[str, Any], student
) -> onnx.ModelProto:
  """The distilled style encoder (`fast_encoder`) and PNet's heads -> DIN parameters."""
  g = GraphBuilder()
  layers = zmnet.conditioned_layers(tnet)
  embedding = fast_embedding(g, 'style', student['params'])
  din_heads(g, embedding, params['param_net'], layers, pnet.variant)
  return g.model(
    'zmnet_fast_style_encoder',
    [float_input('style', ['N', 'h', 'w', 3])],
    din_value_infos(layers),
    'ZM-Net fast style encoder: style [N, s, s, 3] in [0, 1], the central square at the '
    "manifest's fast_style_size -> per-layer DIN parameters gamma_L, beta_L [N, C].",
  )
