"""Checking what the server gives back: a file's content hashed as it streams in."""

from __future__ import annotations

import hashlib

import requests

from tests.support.services import Stack

BLOCK = 1024 * 1024


def download_sha256(stack: Stack, file_id: int) -> tuple[str, int]:
    """SHA-256 and size of a file's content as downloaded (never held whole in memory)."""
    digest = hashlib.sha256()
    size = 0
    with requests.get(
        f"{stack.base_url}/api/v1/files/{file_id}/content",
        headers=stack.auth(),
        stream=True,
        timeout=60,
    ) as response:
        response.raise_for_status()
        for block in response.iter_content(BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
