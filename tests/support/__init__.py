"""Helpers shared by the tests: no fixtures and no tests here, only what they use.

Each module is named for what it holds: ``data`` (the anchor's users, base
URIs and datasets), ``datasets`` (real dtool datasets on disk), ``aws`` (a
moto server's clients), ``stores``, ``postgres``, ``rabbitmq`` and ``servers``
(the databases and brokers under test), ``queues``, ``api``, ``cli_runner``,
``processes``, ``network`` and ``checks`` (driving and watching our code),
``http_events`` (Lambda's HTTP payloads), ``clients`` with ``client_drivers/``
(released clients in venvs of their own) and ``anchor_deployment`` with
``anchor_driver`` (a deployment written by the real dtool-lookup-server 0.18).
Fixtures live in the ``conftest.py`` files, which import from here; nothing
imports a conftest or a test module.
"""
