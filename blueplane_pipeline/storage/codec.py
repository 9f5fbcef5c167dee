"""Block compression for raw events.

Events are stored in blocks (zstd over ~hundreds of events) because a single small JSON
event compresses only ~2-3x on its own. Once enough of the user's own events exist, a
zstd dictionary is trained on them and used for later blocks; every block records the
dictionary it was written with, so old blocks stay readable.
"""

from __future__ import annotations

import zstandard as zstd

CODEC = "zstd"
# Small blocks (a sensor tick's trickle, a 100-event batch) compress worst and cost least,
# so they get the stronger level; big bulk-ingest blocks get the fast one. Measured in
# benchmarks/bench_storage.py: level 6 saves ~10% of block bytes at ~3x the CPU of level 3.
LEVEL = 3
SMALL_LEVEL = 6
SMALL_BLOCK_BYTES = 256 * 1024
DICT_SIZE = 64 * 1024
DICT_TRAIN_SAMPLES = 2000
SEPARATOR = b"\n"


class Codec:
    """Compressors/decompressors per dictionary id, created once and reused."""

    def __init__(self) -> None:
        self._dicts: dict[int, zstd.ZstdCompressionDict] = {}
        self._compressors: dict[tuple[int | None, int], zstd.ZstdCompressor] = {}
        self._decompressors: dict[int | None, zstd.ZstdDecompressor] = {}

    def add_dict(self, dict_id: int, data: bytes) -> None:
        self._dicts[dict_id] = zstd.ZstdCompressionDict(data)

    def has_dict(self, dict_id: int | None) -> bool:
        return dict_id is None or dict_id in self._dicts

    def compress(self, items: list[bytes], dict_id: int | None) -> bytes:
        data = SEPARATOR.join(items)
        level = SMALL_LEVEL if len(data) <= SMALL_BLOCK_BYTES else LEVEL
        comp = self._compressors.get((dict_id, level))
        if comp is None:
            kwargs = {"dict_data": self._dicts[dict_id]} if dict_id is not None else {}
            comp = self._compressors[dict_id, level] = zstd.ZstdCompressor(level=level, **kwargs)
        return comp.compress(data)

    def decompress(self, data: bytes, dict_id: int | None) -> list[bytes]:
        dec = self._decompressors.get(dict_id)
        if dec is None:
            kwargs = {"dict_data": self._dicts[dict_id]} if dict_id is not None else {}
            dec = self._decompressors[dict_id] = zstd.ZstdDecompressor(**kwargs)
        return dec.decompress(data).split(SEPARATOR)


def train_dict(samples: list[bytes]) -> bytes:
    """Train a dictionary on sample event bodies (raises ``zstd.ZstdError`` if too few)."""
    return zstd.train_dictionary(DICT_SIZE, samples, level=LEVEL).as_bytes()
