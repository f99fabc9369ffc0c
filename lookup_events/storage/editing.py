"""Write tags, annotations and README back to a dataset where it lives.

Every write goes through dtoolcore's public ``DataSet`` methods, so the
files (or objects) are exactly those ``dtool tag``, ``dtool annotation``
and ``dtool readme write`` make: a ``dtool`` command sees the change, and
the registrar reads it back like any other change of a dataset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import dtoolcore
import dtoolcore.utils

from lookup_events.errors import (
    DatasetNotFound,
    DatasetStorageUnwritable,
    InvalidName,
)

Opener = Callable[[str], Any]

_NAME_RULE = "up to 80 of the characters 0-9 a-z A-Z - _ ."


def open_dataset(uri: str) -> Any:
    """Return the frozen dtoolcore dataset at ``uri``."""
    return dtoolcore.DataSet.from_uri(uri)


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if dtool accepts it as a tag or annotation name.

    Raises:
        InvalidName: dtool would refuse it (``dtoolcore.utils.name_is_valid``).
    """
    if not isinstance(name, str) or not dtoolcore.utils.name_is_valid(name):
        raise InvalidName(f"{kind} {name!r} is not a valid dtool name: use {_NAME_RULE}")
    return name


class DatasetEditor:
    """Changes the metadata of datasets in their own storage."""

    def __init__(self, opener: Opener = open_dataset) -> None:
        self._open = opener

    def set_tags(self, uri: str, tags: Sequence[str]) -> None:
        """Make the dataset's tags exactly ``tags``."""
        wanted = {check_name("tag", tag) for tag in tags}
        with self._writing(uri) as dataset:
            present = set(dataset.list_tags())
            for tag in sorted(present - wanted):
                dataset.delete_tag(tag)
            for tag in sorted(wanted - present):
                dataset.put_tag(tag)

    def add_tag(self, uri: str, tag: str) -> None:
        """Add one tag (nothing happens if it is there)."""
        check_name("tag", tag)
        with self._writing(uri) as dataset:
            dataset.put_tag(tag)

    def remove_tag(self, uri: str, tag: str) -> None:
        """Remove one tag (nothing happens if it is not there)."""
        check_name("tag", tag)
        with self._writing(uri) as dataset:
            if tag in dataset.list_tags():
                dataset.delete_tag(tag)

    def set_annotations(self, uri: str, annotations: Mapping[str, Any]) -> None:
        """Make the dataset's annotations exactly ``annotations``."""
        for name in annotations:
            check_name("annotation", name)
        with self._writing(uri) as dataset:
            for name in sorted(set(dataset.list_annotation_names()) - set(annotations)):
                dataset.delete_annotation(name)
            for name, value in annotations.items():
                dataset.put_annotation(name, value)

    def put_annotation(self, uri: str, name: str, value: Any) -> None:
        """Set one annotation."""
        check_name("annotation", name)
        with self._writing(uri) as dataset:
            dataset.put_annotation(name, value)

    def delete_annotation(self, uri: str, name: str) -> None:
        """Delete one annotation (nothing happens if there is none)."""
        check_name("annotation", name)
        with self._writing(uri) as dataset:
            if name in dataset.list_annotation_names():
                dataset.delete_annotation(name)

    def put_readme(self, uri: str, text: str) -> None:
        """Replace the README, keeping the old one as dtool does (``README.yml-<time>``)."""
        with self._writing(uri) as dataset:
            dataset.put_readme(text)

    @contextlib.contextmanager
    def _writing(self, uri: str) -> Iterator[Any]:
        """Open the dataset and turn any failure to write it into a project exception."""
        try:
            dataset = self._open(uri)
        except dtoolcore.DtoolCoreTypeError as ex:  # a proto dataset, or none
            raise DatasetNotFound(f"no frozen dataset at {uri}") from ex
        except Exception as ex:  # NOTE(dev): only broker code runs here (any scheme)
            raise DatasetStorageUnwritable(
                f"cannot open {uri} to change it ({type(ex).__name__}: {ex}); "
                "the index is unchanged"
            ) from ex
        try:
            yield dataset
        except (dtoolcore.DtoolCoreInvalidNameError, dtoolcore.DtoolCoreValueError) as ex:
            raise InvalidName(f"dtool refused a name: {ex}") from ex
        except Exception as ex:  # NOTE(dev): a broker's own errors (OSError, botocore)
            raise DatasetStorageUnwritable(
                f"the storage of {uri} refused the change ({type(ex).__name__}: {ex}); "
                "the index is unchanged"
            ) from ex
