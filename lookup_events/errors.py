"""Project exceptions; each subclasses the closest builtin (STYLE 4)."""


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


class StoreUnavailable(ConnectionError):
    """The database cannot be reached right now; retrying may succeed."""


class QueueUnavailable(ConnectionError):
    """The event queue's broker cannot be reached right now; retrying may succeed."""


class StorageUnavailable(ConnectionError):
    """The storage holding a dataset (disk, S3) cannot be read right now."""
