"""The weekly digest: content (through KpiService), exactly-once delivery, scheduling.

``content`` gathers the figures, ``blocks`` renders one Block Kit message, ``store``
keeps subscriptions and the delivery ledger in ``KPI_STATE_DB``, ``service`` delivers,
``schedule`` says when digests are due, ``runtime`` runs APScheduler inside the bot and
``cli`` is ``python -m bot digest``.
"""
