"""`python -m resnet_edu ...`: see resnet_edu/cli/."""

import sys

from resnet_edu.cli import main

sys.exit(main())
