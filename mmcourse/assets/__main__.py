"""python -m mmcourse.assets list | rebuild NAME [--device D] [--out FILE]"""

import sys

from . import main

sys.exit(main())
