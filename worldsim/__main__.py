import sys

from worldsim.cli import main

sys.exit(main())
