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


"""Does int8 make the ONNX transformer faster? Static QDQ quantization, timed and compared.

  python benchmarks/onnx_quantization.py --size 512

Quantizes the shipped model's `transformer.onnx` (weights int8, activations uint8, QDQ)
with ONNX Runtime's static quantizer, calibrated on held-out photos x paintings at 256
px, then times both graphs on one photo at --size and reports the output difference.
Measured on this project's 2-core CPU: no faster (518 vs 532 ms at 512 px, busy CPU),
mean abs difference 0.0035 (max 0.037), so the float graph is what ships.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np
import onnxruntime
from onnxruntime import quantization
import timing

from zmnet_jax.data import image_arrays, image_files
from zmnet_jax.portable import bundle, onnx_graphs, runtime

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared')


def feeds(stylizer, content, din) -> dict:
  out = {'content': content.astype(np.float32)}
  for layer, _ in stylizer.layers:
    out[onnx_graphs.gamma_name(layer)], out[onnx_graphs.beta_name(layer)] = din[layer]
  return out


class Calibration(quantization.CalibrationDataReader):
  def __init__(self, samples):
    self._samples = iter(samples)

  def get_next(self):
    return next(self._samples, None)


def median_ms(session, inputs, repeats: int) -> float:
  return 1000 * timing.median_seconds(lambda: session.run(None, inputs), repeats)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--model', default='default')
  p.add_argument('--data', default=os.path.join(SHARED, 'data'))
  p.add_argument('--size', type=int, default=512)
  p.add_argument('--threads', type=int, default=2)
  p.add_argument('--repeats', type=int, default=5)
  args = p.parse_args(argv)
  stylizer = runtime.OnnxStylizer.load(args.model, args.threads)
  styles = image_files.list_images(os.path.join(args.data, 'style', 'val'))[:4]
  photos = image_files.list_images(os.path.join(args.data, 'content', 'val'))[:4]
  dins = [stylizer.encode_images([image_files.load_image(s)]) for s in styles]
  contents = [
    image_arrays.square(image_arrays.to_float(image_files.load_image(c)), 256)[None] for c in photos
  ]
  source = os.path.join(stylizer.bundle, bundle.TRANSFORMER_FILE)
  with tempfile.TemporaryDirectory() as tmp:
    quantized = os.path.join(tmp, 'transformer_int8.onnx')
    quantization.quantize_static(
      source,
      quantized,
      Calibration([feeds(stylizer, c, d) for c in contents for d in dins]),
      quant_format=quantization.QuantFormat.QDQ,
      activation_type=quantization.QuantType.QUInt8,
      weight_type=quantization.QuantType.QInt8,
    )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    sessions = {
      name: onnxruntime.InferenceSession(path, options)
      for name, path in (('float32', source), ('int8', quantized))
    }
    photo = image_arrays.square(
      image_arrays.to_float(image_files.load_image(photos[0])), args.size
    )[None]
    inputs = feeds(stylizer, photo, dins[1])
    outputs = {}
    for name, session in sessions.items():
      print(f'{name}: {median_ms(session, inputs, args.repeats):.0f} ms at {args.size} px')
      outputs[name] = session.run(None, inputs)[0]
  diff = np.abs(outputs['float32'] - outputs['int8'])
  print(f'int8 vs float32: mean abs {diff.mean():.4f}, max {diff.max():.4f}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
