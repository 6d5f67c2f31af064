"""Thumbnail decodes within a memory budget shared by every request thread."""

from __future__ import annotations

import dataclasses
import io
import logging
import threading
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from backend import memory_budget, migrate, thumbnails
from backend.app import create_app
from backend.config import DEFAULT_THUMBNAIL_MEMORY_BYTES, Config
from backend.extensions import db
from backend.memory_budget import MemoryBudget
from backend.models import User
from tests.backend.conftest import PASSWORD, PASSWORD_HASH, upload_file
from tests.backend.test_thumbnails import thumb

MiB = 1 << 20


def pillow_blocks_in_use() -> int:
    stats = Image.core.get_stats()
    return stats["allocated_blocks"] - stats["freed_blocks"] - stats["blocks_cached"]


class RecordingBudget(MemoryBudget):
    """A budget that records what its reservations held at once, counted on its own, and
    how many Pillow memory blocks were still in use whenever one was given back."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self._lock = threading.Lock()
        self.holding = 0
        self.most_held = 0
        self.needs: list[int] = []
        self.blocks_at_give_back: list[int] = []

    def take(self, need: int) -> None:
        super().take(need)
        with self._lock:
            self.needs.append(need)
            self.holding += need
            self.most_held = max(self.most_held, self.holding)

    def give_back(self, held: int) -> None:
        with self._lock:
            self.holding -= held
        self.blocks_at_give_back.append(pillow_blocks_in_use())
        super().give_back(held)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def gradient_rgba(width: int, height: int) -> Image.Image:
    ramp = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGBA", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp, ramp))


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7000x7000 RGBA in one colour: a file of a few hundred KB that decodes to 196 MB."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    Image.new("RGBA", (7000, 7000), (200, 30, 30, 255)).save(path, compress_level=1)
    return path


def wait_for(condition) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_reservations_never_hold_more_than_the_budget_at_once() -> None:
    budget = RecordingBudget(100)

    def worker(need: int) -> None:
        for _ in range(50):
            with budget.reservation() as reservation:
                reservation.take(need)
                time.sleep(0.0005)  # let the others try to take meanwhile

    threads = [threading.Thread(target=worker, args=(need,)) for need in (10, 30, 40, 60, 70, 90)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(budget.needs) == 6 * 50
    assert 90 <= budget.most_held <= 100
    assert budget.in_use == budget.holding == 0


def test_a_reservation_waits_its_turn_while_the_budget_is_spent() -> None:
    budget = MemoryBudget(100)
    order: list[str] = []

    def take(name: str, need: int) -> None:
        with budget.reservation() as reservation:
            reservation.take(need)
            order.append(name)

    with budget.reservation() as first:
        first.take(70)
        big = threading.Thread(target=take, args=("big", 50))
        big.start()
        wait_for(lambda: budget.waiting == 1)
        # 10 bytes would fit now, but the big one came first: no overtaking, no starving.
        small = threading.Thread(target=take, args=("small", 10))
        small.start()
        wait_for(lambda: budget.waiting == 2)
        assert order == [] and budget.in_use == 70
    big.join()
    small.join()
    assert order == ["big", "small"]
    assert budget.in_use == 0


def test_concurrent_thumbnails_share_the_budget(tmp_path: Path) -> None:
    data = png(gradient_rgba(1500, 1000))
    probe = RecordingBudget(1 << 30)
    thumbnails.render(io.BytesIO(data), 64, probe)
    budget = RecordingBudget(probe.needs[0] * 3 // 2)  # room for one decode at a time
    results: list[tuple[bytes, str]] = []

    def make(size: int) -> None:
        results.append(thumbnails.render(io.BytesIO(data), size, budget))

    threads = [threading.Thread(target=make, args=(size,)) for size in (64, 128, 200, 256)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(Image.open(io.BytesIO(d)).size[0] for d, _ in results) == [64, 128, 200, 256]
    assert len(budget.needs) == 4
    assert budget.most_held <= budget.total < 2 * min(budget.needs)
    assert budget.in_use == 0


@pytest.mark.parametrize("truncated", [False, True])
def test_the_decoded_image_is_freed_before_its_reservation_ends(truncated: bool) -> None:
    data = png(gradient_rgba(3000, 2000))  # 24 MB decoded: two Pillow blocks
    if truncated:
        data = data[: len(data) // 2]  # fails once the whole image is allocated
    budget = RecordingBudget(DEFAULT_THUMBNAIL_MEMORY_BYTES)
    before = pillow_blocks_in_use()
    if truncated:
        with pytest.raises(thumbnails.NoThumbnail, match="truncated"):
            thumbnails.render(io.BytesIO(data), 256, budget)
    else:
        thumbnails.render(io.BytesIO(data), 256, budget)
    assert budget.needs and budget.needs[0] > 3000 * 2000 * 4
    # At most the thumbnail itself is left when the memory goes back to the budget.
    assert budget.blocks_at_give_back[0] <= before + 1


def test_an_image_needing_more_than_the_whole_budget_is_refused_undecoded(
    client: FlaskClient,
    alice: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = RecordingBudget(8 * MiB)
    monkeypatch.setattr(thumbnails, "BUDGET", budget)
    data = png(Image.new("RGBA", (2000, 2000), (0, 128, 255, 128)))  # 16 MB decoded
    with pytest.raises(thumbnails.NoThumbnail) as refused:
        thumbnails.render(io.BytesIO(data), 256)
    assert "more than the whole thumbnail memory budget of 8 MiB" in str(refused.value)
    assert budget.needs == [] and budget.in_use == 0  # nothing held, nothing decoded

    file_id = upload_file(client, alice, data, "too big for the budget.png")
    caplog.set_level(logging.INFO, logger="backend.blueprints.thumbnails")
    response = thumb(client, alice, file_id)
    assert (response.status_code, response.json["code"]) == (404, "no_thumbnail")
    assert "more than the whole thumbnail memory budget" in caplog.text
    assert budget.in_use == 0


def test_a_49_megapixel_rgba_png_fits_the_default_budget_without_a_full_size_copy(
    huge_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = RecordingBudget(DEFAULT_THUMBNAIL_MEMORY_BYTES)
    largest: list[int] = [0]
    new_image = Image.Image._new

    def record(self: Image.Image, im) -> Image.Image:  # every image Pillow derives from another
        largest[0] = max(largest[0], im.size[0] * im.size[1])
        return new_image(self, im)

    monkeypatch.setattr(Image.Image, "_new", record)
    trimmed: list[bool] = []
    monkeypatch.setattr(memory_budget, "release_free_memory", lambda: trimmed.append(True))
    with huge_png.open("rb") as source:
        data, mimetype = thumbnails.render(source, 256, budget)
    image = Image.open(io.BytesIO(data))
    assert (mimetype, image.mode, image.size) == ("image/png", "RGBA", (256, 256))
    assert image.getpixel((128, 128)) == (200, 30, 30, 255)
    # The decoded image is the only full-size one: converted and reduced tile by tile.
    assert largest[0] <= 7000 * 7000 // 4
    assert 7000 * 7000 * 4 < budget.needs[0] <= budget.total
    assert trimmed == [True]  # freed memory goes back to the system after so large a decode


def test_large_images_through_the_api_within_the_configured_budget(
    config: Config, huge_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = RecordingBudget(1)
    monkeypatch.setattr(thumbnails, "BUDGET", budget)
    assert Config.from_env(
        {"TROVE_THUMBNAIL_MEMORY_BYTES": "300000000"}
    ).thumbnail_memory_bytes == (300_000_000)
    assert Config.from_env({}).thumbnail_memory_bytes == DEFAULT_THUMBNAIL_MEMORY_BYTES
    config = dataclasses.replace(config, thumbnail_memory_bytes=240 * MiB)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(config.database_url)
    app = create_app(config)
    try:
        assert budget.total == 240 * MiB  # sized from the configuration when the app is made
        client = app.test_client()
        with app.app_context():
            db.session.add(User(username="carol", password_hash=PASSWORD_HASH))
            db.session.commit()
        token = client.post(
            "/api/v1/auth/login", json={"username": "carol", "password": PASSWORD}
        ).json["token"]
        auth = {"Authorization": f"Bearer {token}"}
        file_id = upload_file(client, auth, huge_png.read_bytes(), "huge.png")
        for size in (64, 1024):
            response = thumb(client, auth, file_id, size=size)
            assert response.status_code == 200, response.json
            assert Image.open(io.BytesIO(response.data)).size == (size, size)
        assert len(budget.needs) == 2 and budget.most_held <= 240 * MiB
    finally:
        with app.app_context():
            db.engine.dispose()
