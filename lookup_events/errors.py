"""Project exceptions; each subclasses the closest builtin (STYLE 4).

Three things can be down, and each has its own name: the **database** (our
stores: ``DatabaseUnavailable``), the **dataset storage** (the disk or bucket a
dataset lives in: ``DatasetStorageUnavailable``) and the **queue**'s broker
(``QueueUnavailable``). All three are transient: the work is retried.
"""


class InvalidDataset(ValueError):
    """The dataset (or the dataset-info body describing it) is not valid."""


class NotFrozen(InvalidDataset):
    """The dataset is a proto dataset: not frozen (yet)."""


class DocumentTooLarge(InvalidDataset):
    """The dataset's metadata exceeds what the store accepts."""


class DatasetNotFound(LookupError):
    """No dataset is registered under that URI."""


class UnknownBaseURI(LookupError):
    """The base URI is not registered."""


class UnknownUser(LookupError):
    """The user is not registered."""


class AlreadyExists(ValueError):
    """The user, base URI or permission exists already."""


class PermissionDenied(PermissionError):
    """The user lacks the permission the action needs."""


class InvalidEvent(ValueError):
    """A queue message or storage notification cannot be understood."""


class QueryTooLarge(ValueError):
    """A search asks for more than ``store.limits.LIMITS`` allows; ``limit`` names which."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class QueryTimedOut(TimeoutError):
    """A read ran past its time budget (``DTOOL_LOOKUP_QUERY_TIMEOUT``) and was stopped."""


class DatabaseUnavailable(ConnectionError):
    """Our database (a store) cannot be reached right now; retrying may succeed."""


class QueueUnavailable(ConnectionError):
    """The event queue's broker cannot be reached right now; retrying may succeed."""


class DatasetStorageUnavailable(ConnectionError):
    """The storage holding a dataset (a disk, a bucket) cannot be read right now."""


class SetupError(RuntimeError):
    """The deployment is not set up for what was asked: a schema behind, a key missing."""


class InvalidQuery(ValueError):
    """A structured query or aggregation outside the supported subset; names the part."""


class DatasetStorageUnwritable(DatasetStorageUnavailable):
    """The storage holding a dataset refused (or failed) a write: nothing was indexed."""


class InvalidName(ValueError):
    """A tag or annotation name that dtool refuses."""
