"""The file ``blueplane install claude-code --statusline`` registers:
``<venv python> -S <this file>`` (see ``run_hook.py`` for why ``-S`` and why so small)."""

import os
import sys

sys.path[0:1] = []
sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from blueplane_pipeline.capture.statusline import main  # noqa: E402

main()
