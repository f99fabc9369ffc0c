"""The event queue, one module per role.

- ``topology.py``: the exchange and queues, backoff, dead letters, counts;
- ``transports.py``: one class per broker, chosen once from the URL;
- ``delays.py``: how a retry waits out its backoff, per transport;
- ``embedded.py``: our SQLite transport for kombu, the default queue;
- ``event_queue.py``: ``EventQueue``, what the write side holds;
- ``consumer.py``: ``EventConsumer`` and ``Delivery``, batches to settle;
- ``publisher.py``: ``Publisher``, waiting out broker outages for the sources.
"""
