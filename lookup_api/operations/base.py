"""What an operation is, and the tags and messages the operations share."""

from __future__ import annotations

from dataclasses import dataclass, field

PAGED = ("page", "page_size")
DATASET_LIST = (*PAGED, "sort_datasets")

LEGACY_DATASETS = "0.18: datasets"
LEGACY_USERS = "0.18: users and config"
LEGACY_ADMIN = "0.18: admin"
CONFIG = "config"
DATASETS = "datasets"
USERS = "users"
BASE_URIS = "base URIs"
DOCS = "documentation"
WEBHOOK = "webhook"
AUDIT = "audit"

NOT_REGISTERED = "The token names no registered user."
NO_SEARCH = "No search permission on the dataset's base URI (or no such base URI)."
NO_DATASET = "No dataset is registered at that URI."
NOT_ADMIN = "The caller is not an admin."
LEGACY_HIDDEN = "The caller is not registered, or may not see this (0.18 said 404 for both)."


@dataclass(frozen=True)
class Operation:
    """One method on one path, and what it reads and answers."""

    method: str
    path: str
    summary: str
    tag: str
    reply: str | None = "Empty"
    ok: tuple[int, ...] = (200,)
    body: str | None = None
    body_required: bool = True
    params: tuple[str, ...] = ()
    errors: dict[int, str] = field(default_factory=dict)
    auth: bool = True
    store: bool = True
    headers: tuple[str, ...] = ()
    media: str = "application/json"
    description: str = ""
    scheme: str = "bearerAuth"
    derived_errors: bool = True
    #: The token may be left out (``security: [{}, {scheme: []}]``): /metrics from this host.
    auth_optional: bool = False
