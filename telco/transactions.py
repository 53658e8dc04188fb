"""Transactions that take no savepoint inside a caller's transaction."""

from contextlib import ContextDecorator, nullcontext

from django.db import connection, transaction


class atomic_in_caller(ContextDecorator):
    """`transaction.atomic()` when no transaction is open, else nothing: within the caller's
    transaction. A savepoint's two round trips buy nothing for a service that raises before
    it writes (a refused move, a pool exhausted, no capacity) and whose failed write aborts the
    caller's transaction anyway; an activation made a dozen of them."""

    def __enter__(self):
        self._block = nullcontext() if connection.in_atomic_block else transaction.atomic()
        return self._block.__enter__()

    def __exit__(self, *exc):
        return self._block.__exit__(*exc)

    def _recreate_cm(self):
        return type(self)()  # one block per call of a decorated function (calls nest)
