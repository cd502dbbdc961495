import sys

from nmt_attention.cli import main

sys.exit(main())
