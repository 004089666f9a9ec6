"""Webhooks (docs/spec/webhooks.md): subscriptions per app, events written in the same
transaction as the change they report (an outbox of jobs, kind ``webhook``), each body
serialised and signed once, and sent by a leased runner on every node.

- ``models.py``: the event names and the stored webhook.
- ``bodies.py``: the management API's request bodies.
- ``guard.py``: URLs that resolve to loopback, private or link-local addresses are refused.
- ``signing.py``: the RSA-2048 key, PKCS#1 v1.5 signatures over SHA-256.
- ``repository.py``: all SQL of webhooks, the key, attempts and paused URLs.
- ``events.py``: the events' bodies and the outbox (called where the changes are written).
- ``render.py``: stored rows → wire objects.
- ``service.py``: the management API and the deliveries extension.
- ``runner.py``: the sender: claims due deliveries, POSTs them, settles each attempt.
"""
