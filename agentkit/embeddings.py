"""Sentence embeddings from a small model that ships inside its wheel: nothing is downloaded, ever.

The model is WordLlama 0.4 (``l2_supercat``, 256 dimensions, 16 MB of weights packaged in the wheel). Its
loader looks for the packaged tokenizer config in the wrong place and would then try the network, so
``load()`` copies the packaged ``l2_supercat_tokenizer_config.json`` into a ``tokenizers/`` folder of its
own cache directory and loads with ``disable_download=True``. The model is loaded once per process, on
first use (about 0.2 s), and a sentence embeds in well under a millisecond.

Used by the sales agent's offline model (intents, product resolution) and by the recommendation agent's
semantic scoring, so both understand shopper text the same way.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

CONFIG = "l2_supercat"
DIM = 256
TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"

_lock = threading.Lock()


def _cache_dir() -> Path:
    """A folder of our own holding the packaged tokenizer where the loader looks for it."""
    import wordllama

    packaged = Path(wordllama.__file__).parent / "tokenizers" / TOKENIZER_FILE
    base = Path(tempfile.gettempdir()) / "retail-wordllama"
    target = base / "tokenizers" / TOKENIZER_FILE
    if not target.exists() or target.read_bytes() != packaged.read_bytes():  # the packaged one, exactly
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(packaged, partial)
        os.replace(partial, target)  # atomic: two processes loading at once both see a whole file
    return base


@functools.lru_cache(maxsize=1)
def model() -> Any:
    """The loaded model (once per process)."""
    with _lock:
        from wordllama import WordLlama

        return WordLlama.load(config=CONFIG, dim=DIM, cache_dir=_cache_dir(), disable_download=True)


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings, one row per text (an empty text embeds to zeros)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vectors = np.asarray(model().embed(list(texts), norm=False), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def embed_one(text: str) -> np.ndarray:
    return _embed_cached(text)


@functools.lru_cache(maxsize=4096)
def _embed_cached(text: str) -> np.ndarray:
    vector = embed([text])[0]
    vector.setflags(write=False)
    return vector


def similarity(query: str, texts: Sequence[str]) -> np.ndarray:
    """Cosine similarity of ``query`` to each of ``texts``."""
    if not texts:
        return np.zeros(0, dtype=np.float32)
    return embed(list(texts)) @ embed_one(query)
