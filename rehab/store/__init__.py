"""The session store: patients, protocol snapshots, assignments and crash-safe session logs.

Public API::

    from rehab.store import Store
    store = Store()                       # rehab.paths.data_dir() / rehab.db
    store.check_writable()                # before a session: StoreError if it cannot record
    writer = store.writer()               # a rehab.engine.writer.SessionWriter
"""

from rehab.store.db import Assignment, Patient, Store
from rehab.store.queries import SessionRow

__all__ = ["Assignment", "Patient", "SessionRow", "Store"]
