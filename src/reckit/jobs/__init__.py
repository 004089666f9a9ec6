"""Jobs kept in the database until they are done, so that neither a failed attempt nor a crash
loses one: an outbox written in the same transaction as the change it follows, claimed with
leases by any node, retried with backoff, and, where it matters, run in order per key.

- ``repository.py``: the queue (add, claim, succeed, retry, fail, release, list).
- ``backoff.py``: when a failed job is tried again, and when it has had its last attempt.
- ``node.py``: this node's ID (the owner of its leases), and giving them back at start.

A kind of job (``delivery``: transfers to customers' storage) brings its own runner and
claims only its own kind.
"""
