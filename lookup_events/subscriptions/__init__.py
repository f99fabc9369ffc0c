"""Subscriptions: saved searches whose matching datasets are notified to a target.

``manager.py`` creates them (checking the target, making the signing
secret), ``matching.py`` turns the outbox's changes into notifications with
the subscriber's permissions, ``targets.py`` sends them (webhooks through the
address policy of ``addresses.py``, or admin-named AMQP and SQS queues) and
``deliverer.py`` is the process draining the outbox.
"""
