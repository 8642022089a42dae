import sys

from leitstand.cli import main

sys.exit(main())
