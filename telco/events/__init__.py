"""Events other systems subscribe to (TMF688 and the `/hub` of every TMF API).

- `registry`: which table is which API's resource; each app registers its own in
  `<app>/api/events.py` (found by `registry.discover()`), so this package imports no app.
- `triggers`: PostgreSQL statement-level triggers write one outbox row per changed row, in the
  transaction of the change, only while a listener of that API exists.
- `delivery`: a Celery task posts each listener's events in outbox order, signed, with retries,
  backoff and suspension; `hub`: the `POST /hub` and `DELETE /hub/{id}` endpoints.
"""
