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

"""Images in and out: files (`image_files`), arrays (`image_arrays`), evaluation sets
(`eval_sets`), image folders prepared as TFDS datasets (`folder_dataset`), the Grain
training stream (`train_input`, `word_input`), the embedded default images (`embedded`)
and which folders a config uses (`datasets`). Importing the package imports none of them."""
