"""The file the installers register: ``<venv python> -S <this file> claude-code|cursor``.

``-S`` skips ``site`` (and every ``.pth`` file of the venv), so this file puts the package
root on ``sys.path`` itself, after the standard library so nothing installed next to the
package can shadow a stdlib module. It stays this small because a script run by path is
compiled on every run, while ``hook`` is imported from its cached bytecode.
"""

import os
import sys

sys.path[0:1] = []
sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from blueplane_pipeline.capture.hook import main  # noqa: E402

main()
