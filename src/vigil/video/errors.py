"""Errors of `vigil.video`: one base class, a specific subclass per failure."""

from __future__ import annotations


class VideoError(Exception):
    """Base class for every error of `vigil.video`."""


class ModelError(VideoError):
    """A detector model that cannot be found, verified, loaded or decoded."""


class ZoneConfigError(VideoError):
    """A zones file that cannot be used, with where it is: `file:line: message`."""

    def __init__(self, message: str, file: str = "<zones>", line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class SourceError(VideoError):
    """A camera or file that cannot be opened or read."""


class ModelConversionError(ModelError):
    """A TensorFlow.js graph model that cannot be read or turned into ONNX."""


class UnsupportedOpError(ModelConversionError):
    """A graph op the converter has no rule for; `op` names it."""

    def __init__(self, op: str, node: str) -> None:
        self.op = op
        self.node = node
        super().__init__(f"unsupported TensorFlow.js op {op!r} (node {node!r})")


class ModelDownloadError(ModelError):
    """The package registry could not be reached or did not have the model's package."""


class ModelIntegrityError(ModelError):
    """A download or an installed model whose checksum is not the one expected."""


class ModelNotInstalledError(ModelError):
    """A model asked for that is not in the model cache."""


class FrameError(VideoError):
    """A frame that is not a non-empty BGR image (H x W x 3, uint8)."""


class GroundTruthError(VideoError):
    """A MOTChallenge sequence or results file that cannot be read."""
