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

"""The experiments' figures (matplotlib, no display), each written under a temporary name."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw

from zmnet_jax import files


def pyplot():
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  return plt


def save(figure, path: str) -> None:
  with files.atomic_path(path) as tmp:
    figure.savefig(tmp, dpi=110, bbox_inches='tight', format='png')
  pyplot().close(figure)


def style_count(rows: Sequence[dict], path: str) -> None:
  """Held-out and training-style loss, and the protocol's style ratio, against the number
  of training styles."""
  plt = pyplot()
  counts = [r['training_styles'] for r in rows]
  figure, (loss, ratio) = plt.subplots(1, 2, figsize=(10, 3.8), layout='tight')
  loss.plot(counts, [r['held_out_loss']['total'] for r in rows], 'o-', label='held-out styles')
  loss.plot(
    counts, [r['training_styles_loss']['total'] for r in rows], 's--', label='own training styles'
  )
  loss.set(xscale='log', xlabel='training styles', ylabel='content + style loss')
  loss.legend()
  ratio.plot(counts, [r['style_ratio'] for r in rows], 'o-')
  ratio.set(xscale='log', xlabel='training styles', ylabel='val512 style ratio (lower: closer)')
  figure.suptitle('Claim 3: the number of training styles')
  save(figure, path)


def bars(values: dict, label: str, path: str) -> None:
  plt = pyplot()
  figure, axis = plt.subplots(figsize=(8, 3.2))
  axis.bar(range(len(values)), list(values.values()))
  axis.set_xticks(range(len(values)), list(values), rotation=30, ha='right')
  axis.set_ylabel(label)
  save(figure, path)


def side_by_side(paths: Sequence[str], titles: Sequence[str], path: str) -> None:
  """Images next to each other, each with its title above, scaled to one height."""
  images = [Image.open(p).convert('RGB') for p in paths]
  height = min(i.height for i in images)
  images = [i.resize((i.width * height // i.height, height)) for i in images]
  sheet = Image.new(
    'RGB', (sum(i.width for i in images) + 8 * (len(images) - 1), height + 20), 'white'
  )
  x = 0
  for image, title in zip(images, titles, strict=True):
    sheet.paste(image, (x, 20))
    ImageDraw.Draw(sheet).text((x + 4, 4), title, fill='black')
    x += image.width + 8
  with files.atomic_path(path) as tmp:
    sheet.save(tmp, format='PNG')
