"""`python -m zmnet_jax.stylize`: the stylize command (`zmnet_jax.cli.stylize`)."""

import sys

from zmnet_jax.cli.stylize import main

if __name__ == '__main__':
  sys.exit(main())
