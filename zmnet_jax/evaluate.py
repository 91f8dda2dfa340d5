"""`python -m zmnet_jax.evaluate`: the evaluate command (`zmnet_jax.cli.evaluate`)."""

import sys

from zmnet_jax.cli.evaluate import main

if __name__ == '__main__':
  sys.exit(main())
