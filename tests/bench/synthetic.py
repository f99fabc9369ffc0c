"""Synthetic dataset-info documents shaped like what dtool datasets hold.

Everything derives from a seeded ``random.Random`` and the dataset's index, so
two runs with the same seed produce the same corpus, and the UUIDs the load
needs can be recomputed without keeping 100,000 documents in memory.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

BASE_URIS = (
    "s3://bench-raw-data",
    "s3://bench-archive",
    "s3://bench-results",
    "file://bench-host/srv/datasets",
    "file://bench-host/home/shared/dtool",
)
CREATORS = tuple(
    f"{first}{last}"
    for first in ("ann", "bob", "cara", "dev", "eli", "fay", "gus", "hal", "ida", "jo")
    for last in ("smith", "wong", "okafor", "ivanova", "garcia")
)
TAGS = (
    "raw", "processed", "simulation", "experiment", "microscopy", "sequencing", "rna-seq",
    "proteomics", "calibration", "pilot", "published", "draft", "ecoli", "yeast", "mouse",
    "human", "timeseries", "imaging", "spectroscopy", "md", "dft", "benchmark", "validated",
    "archive", "shared", "internal", "batch-1", "batch-2", "batch-3", "qc-failed",
)  # fmt: skip
WORDS = (
    "genome", "bacteria", "growth", "curve", "protein", "folding", "crystal", "structure",
    "sample", "measurement", "temperature", "pressure", "simulation", "molecular", "dynamics",
    "microscope", "image", "stack", "fluorescence", "sequencing", "reads", "alignment",
    "reference", "strain", "mutant", "wildtype", "culture", "medium", "glucose", "lactose",
    "enzyme", "kinetics", "assay", "plate", "replicate", "control", "treatment", "dose",
    "response", "spectrum", "peak", "calibration", "detector", "beamline", "diffraction",
    "lattice", "surface", "interface", "friction", "adhesion", "polymer", "membrane", "lipid",
    "solvent", "water", "ion", "channel", "voltage", "current", "neuron", "tissue", "cell",
    "division", "cycle", "expression", "regulation", "promoter", "plasmid", "vector", "clone",
    "library", "barcode", "pipeline", "analysis", "statistics", "model", "parameter", "fit",
    "error", "uncertainty", "raw", "processed", "derived", "figure", "table", "manuscript",
)  # fmt: skip
PROJECTS = ("hydra", "lumen", "orca", "quartz", "sable", "tundra", "vesper", "zephyr")
EPOCH_START = 1_600_000_000.0  # September 2020
EPOCH_SPAN = 3 * 365 * 24 * 3600.0
# The dependency links of ``LinkedCorpus``: one tree of this many, then families.
GRAPH_SIZE = 1000
FAMILY = 10
# NOTE(bench): earlier words are likelier, as in real prose (roughly Zipf).
_WORD_WEIGHTS = list(itertools.accumulate(range(len(WORDS), 0, -1)))


@dataclass(frozen=True)
class Corpus:
    """A reproducible synthetic corpus of ``size`` datasets."""

    size: int
    seed: int = 2026

    def uuid_of(self, index: int) -> str:
        """Return the UUID of dataset ``index`` (stable for a seed)."""
        rng = random.Random(f"{self.seed}:uuid:{index}")
        return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))

    def infos(self) -> Iterator[dict[str, Any]]:
        """Yield the info document of every dataset, in index order."""
        for index in range(self.size):
            yield self.info(index)

    def info(self, index: int) -> dict[str, Any]:
        """Return the info document of dataset ``index``."""
        rng = random.Random(f"{self.seed}:info:{index}")
        dataset_uuid = self.uuid_of(index)
        base_uri = rng.choice(BASE_URIS)
        name = f"{rng.choice(PROJECTS)}-{'-'.join(rng.sample(WORDS, 2))}-{index:06d}"
        leaf = dataset_uuid if base_uri.startswith("s3://") else name
        creator = rng.choice(CREATORS)
        frozen_at = EPOCH_START + rng.random() * EPOCH_SPAN
        return {
            "uuid": dataset_uuid,
            "base_uri": base_uri,
            "uri": f"{base_uri}/{leaf}",
            "name": name,
            "type": "dataset",
            "dtoolcore_version": "3.18.2",
            "creator_username": creator,
            "created_at": frozen_at - rng.uniform(60.0, 30 * 86400.0),
            "frozen_at": frozen_at,
            "readme": _readme(rng, name, creator, frozen_at),
            "manifest": _manifest(rng),
            "tags": rng.sample(TAGS, rng.randint(0, 4)),
            "annotations": _annotations(rng),
        }


@dataclass(frozen=True)
class LinkedCorpus(Corpus):
    """The synthetic corpus with dependency links: one big tree, then families of ten."""

    graph_size: int = GRAPH_SIZE

    def parent_of(self, index: int) -> int | None:
        """Return the index of the dataset ``index`` derives from, if any."""
        if index == 0:
            return None
        if index < self.graph_size:
            return (index - 1) // 3
        return None if index % FAMILY == 0 else index - 1

    def info(self, index: int) -> dict[str, Any]:
        """Return the info of dataset ``index``, naming its parent if it has one."""
        info = super().info(index)
        parent = self.parent_of(index)
        if parent is None:
            return info
        if index % 2:
            info["readme"] += f"derived_from:\n  uuid: {self.uuid_of(parent)}\n"
        else:
            info["annotations"]["source_dataset_uuid"] = self.uuid_of(parent)
        return info


def _sentence(rng: random.Random, words: int) -> str:
    chosen = rng.choices(WORDS, cum_weights=_WORD_WEIGHTS, k=words)
    return " ".join(chosen).capitalize() + "."


def _readme(rng: random.Random, name: str, creator: str, frozen_at: float) -> str:
    description = " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(1, 4)))
    return (
        "---\n"
        f"description: {description}\n"
        f"project: {name.split('-', 1)[0]}\n"
        "owners:\n"
        f"  - name: {creator.capitalize()}\n"
        f"    email: {creator}@example.org\n"
        f"    username: {creator}\n"
        f"funding_source: grant {rng.randint(100000, 999999)}\n"
        f"creation_date: {int(frozen_at)}\n"
        f"instrument: {rng.choice(('confocal', 'sequencer', 'cluster', 'diffractometer'))}\n"
    )


def _manifest(rng: random.Random) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for number in range(rng.randint(3, 20)):
        folder = rng.choice(("raw", "processed", "figures", "logs"))
        relpath = f"{folder}/{rng.choice(WORDS)}_{number:03d}.{rng.choice(('csv', 'tif', 'h5'))}"
        identifier = hashlib.sha1(relpath.encode()).hexdigest()
        items[identifier] = {
            "relpath": relpath,
            "size_in_bytes": rng.randint(100, 50_000_000),
            "hash": f"{rng.getrandbits(128):032x}",
            "utc_timestamp": EPOCH_START + rng.random() * EPOCH_SPAN,
        }
    return {"dtoolcore_version": "3.18.2", "hash_function": "md5sum_hexdigest", "items": items}


def _annotations(rng: random.Random) -> dict[str, Any]:
    return {
        "experiment_id": f"EXP-{rng.randint(1, 5000):05d}",
        "temperature_K": round(rng.uniform(4.0, 400.0), 1),
        "replicate": rng.randint(1, 6),
        "status": rng.choice(("ok", "ok", "ok", "needs-review")),
    }
