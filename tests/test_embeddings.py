"""The kit's sentence embeddings: the model ships in its wheel and loads with downloads disabled."""

from __future__ import annotations

import numpy as np

from agentkit import embeddings


def test_the_model_loads_from_the_wheel_once_and_embeds_unit_vectors():
    assert embeddings.model() is embeddings.model()  # once per process
    vectors = embeddings.embed(["where is my order", "show me kurtas", ""])
    assert vectors.shape == (3, embeddings.DIM)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-3)
    assert not np.isnan(vectors).any()


def test_meaning_is_closer_than_an_unrelated_sentence():
    sims = embeddings.similarity("track my parcel", ["where is my order", "show me silk sarees"])
    assert sims[0] > sims[1]


def test_the_packaged_tokenizer_is_where_the_loader_looks():
    base = embeddings._cache_dir()
    copied = base / "tokenizers" / embeddings.TOKENIZER_FILE
    assert copied.exists() and copied.stat().st_size > 0
