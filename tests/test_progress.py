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

"""Progress shows in a log file (plain lines), not only on a terminal."""

import io

from zmnet_jax import progress


def test_a_log_gets_plain_lines_with_counts_and_time_left():
  log = io.StringIO()
  with progress.bar(4, 'output', 'val512', every=0.0, stream=log) as bar:
    for _ in range(4):
      bar.update()
  lines = log.getvalue().splitlines()
  assert '\r' not in log.getvalue()
  assert [line.split(',')[0] for line in lines] == [
    f'val512: {i}/4 outputs' for i in (1, 2, 3, 4, 4)
  ]
  assert lines[0].endswith(' left') and lines[-1].endswith(' in all')


def test_a_log_is_not_flooded_by_quick_work():
  log = io.StringIO()
  with progress.bar(None, 'frame', 'clip.mp4', every=3600.0, stream=log) as bar:
    for _ in range(1000):
      bar.update()
  assert log.getvalue() == ''  # quick work: not a line


def test_a_terminal_gets_a_bar():
  class Terminal(io.StringIO):
    def isatty(self):
      return True

  screen = Terminal()
  with progress.bar(2, 'image', 'stylize', stream=screen) as bar:
    bar.update(2)
  assert '\r' in screen.getvalue() and '2/2' in screen.getvalue()
