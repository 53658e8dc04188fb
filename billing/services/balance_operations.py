"""TMF654 transfers and reservations on prepaid buckets.

A transfer moves money or units between two buckets of one unit and one customer, at once.
A reservation holds part of a bucket for a later use: like a charging session's quota it moves
from the bucket's `remaining` to its `reserved`, so the one notion of "available" (`remaining`)
is what sessions, transfers and other reservations can take. Every change locks the buckets it
touches (two in id order, so two transfers never wait on each other crosswise), checks what
they hold under the lock, and writes the ledger (BalanceAction) in the same transaction; the
bucket's CHECK (never negative) is the last word, as for charging.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery, Sum

from billing.models.balance_operations import (
    RESERVATION_TRANSITIONS,
    ReserveBalance,
    TransferBalance,
)
from billing.models.prepaid import (
    BalanceAction,
    BucketStatus,
    LedgerKind,
    PrepaidBucket,
    TopupState,
    UsageType,
)
from billing.services.payments import amount_check
from telco import clock
from telco.exceptions import DomainError, NotFound
from telco.money import plain_decimal
from telco.states import check_transition

VALIDITY_ENDED = "Validity ended"


def _side(bucket_id, product_id, usage_type: str) -> Q | None:
    """Which bucket a request names: by id, or the product's bucket of the usage type."""
    if bucket_id is not None:
        return Q(pk=bucket_id)
    if product_id is not None and usage_type:
        return Q(product_id=product_id, usage_type=usage_type)
    return None


def _found(buckets: list[PrepaidBucket], bucket_id, product_id, usage_type):
    if bucket_id is not None:
        return next((b for b in buckets if b.pk == bucket_id), None)
    return next(
        (b for b in buckets if b.product_id == product_id and b.usage_type == usage_type), None
    )


def _check_usable(bucket: PrepaidBucket, now: datetime, field: str) -> None:
    if bucket.status == BucketStatus.ACTIVE and bucket.valid_to and bucket.valid_to <= now:
        bucket.status = BucketStatus.EXPIRED  # past its validity; the sweep has not run yet
    if bucket.status != BucketStatus.ACTIVE:
        raise DomainError(
            f"Bucket {bucket.pk} is {bucket.status}: no balance moves in or out of it.",
            field=field,
        )


def _check_amount(bucket: PrepaidBucket, amount: Decimal, units: str) -> None:
    """A positive amount in the bucket's unit (money: at most its currency's decimals) that
    the bucket holds, reservations and open sessions apart."""
    if amount <= 0:
        raise DomainError("The amount must be more than zero.", field="amount.amount")
    if units and units != bucket.units:
        raise DomainError(f"Bucket {bucket.pk} holds {bucket.units}.", field="amount.units")
    if bucket.usage_type == UsageType.MONETARY:
        amount_check(amount, bucket.units, field="amount.amount")
    if amount > bucket.remaining:
        raise DomainError(
            f"Bucket {bucket.pk} has {plain_decimal(bucket.remaining)} {bucket.units} available"
            f" ({plain_decimal(bucket.reserved)} reserved): it cannot give "
            f"{plain_decimal(amount)}.",
            field="amount.amount",
        )


def _check_account(bucket: PrepaidBucket, account_id) -> None:
    if account_id is not None and str(bucket.billing_account_id) != str(account_id):
        raise DomainError(
            f"Bucket {bucket.pk} is not a balance of account '{account_id}'.",
            field="partyAccount.id",
        )


def balance_transfer(
    *,
    amount: Decimal,
    usage_type: str,
    bucket_id: int | None = None,
    product_id: int | None = None,
    receiver_bucket_id: int | None = None,
    receiver_product_id: int | None = None,
    receiver_usage_type: str = "",
    units: str = "",
    account_id: str | None = None,
    reason: str = "",
    description: str = "",
    channel: str = "",
    by: str = "",
) -> TransferBalance:
    """Move `amount` from one bucket (or a product's bucket of `usage_type`) to another of the
    same unit held by the same customer (TMF654 transferBalance), in one transaction: both
    buckets locked in id order, the amount checked against what the giver has available, a
    ledger row on each side."""
    receiver_usage_type = receiver_usage_type or usage_type
    giver_side = _side(bucket_id, product_id, usage_type)
    receiver_side = _side(receiver_bucket_id, receiver_product_id, receiver_usage_type)
    if giver_side is None:
        raise DomainError("Name the bucket (or the product) to take from.", field="bucket.id")
    if receiver_side is None:
        raise DomainError("Name the bucket (or the product) to give to.", field="receiverBucket.id")
    now = clock.now()
    with transaction.atomic():
        # One statement locks both, in id order: a transfer A -> B and one B -> A queue.
        buckets = list(
            PrepaidBucket.objects.select_for_update(of=("self",))
            .select_related("product")
            .filter(giver_side | receiver_side)
            .order_by("pk")
        )
        giver = _found(buckets, bucket_id, product_id, usage_type)
        receiver = _found(buckets, receiver_bucket_id, receiver_product_id, receiver_usage_type)
        if giver is None:
            raise DomainError("No such bucket to take from.", field="bucket.id")
        if receiver is None:
            raise DomainError("No such bucket to give to.", field="receiverBucket.id")
        _check_account(giver, account_id)
        if giver.usage_type != usage_type:
            raise DomainError(f"Bucket {giver.pk} holds {giver.usage_type}.", field="usageType")
        if giver.pk == receiver.pk:
            raise DomainError(
                "A transfer moves a balance to another bucket.", field="receiverBucket.id"
            )
        if receiver.usage_type != receiver_usage_type:
            raise DomainError(
                f"Bucket {receiver.pk} holds {receiver.usage_type}.",
                field="receiverBucketUsageType",
            )
        if receiver.units != giver.units:
            raise DomainError(
                f"Bucket {receiver.pk} holds {receiver.units}, bucket {giver.pk} "
                f"{giver.units}: a transfer stays in one unit.",
                field="receiverBucket.id",
            )
        if receiver.product.customer_id != giver.product.customer_id:
            raise DomainError(
                f"Bucket {receiver.pk} belongs to another customer: transfers stay between "
                "one customer's subscriptions.",
                field="receiverBucket.id",
            )
        _check_usable(giver, now, "bucket.id")
        _check_usable(receiver, now, "receiverBucket.id")
        _check_amount(giver, amount, units)
        transfer = TransferBalance.objects.create(
            bucket=giver,
            receiver_bucket=receiver,
            amount=amount,
            status=TopupState.COMPLETED,
            reason=reason[:200],
            description=description[:300],
            channel=channel[:40],
            created_by=by,
            requested_date=now,
            confirmation_date=now,
        )
        PrepaidBucket.objects.filter(pk=giver.pk).update(
            remaining=F("remaining") - amount, last_update=now
        )
        # Above its low-balance threshold again: the receiver's customer is told next time.
        PrepaidBucket.objects.filter(pk=receiver.pk).update(
            remaining=F("remaining") + amount, low_balance_notified_at=None, last_update=now
        )
        BalanceAction.objects.bulk_create(
            [
                BalanceAction(
                    bucket=giver,
                    kind=LedgerKind.TRANSFER_OUT,
                    amount=amount,
                    transfer=transfer,
                    created_at=now,
                ),
                BalanceAction(
                    bucket=receiver,
                    kind=LedgerKind.TRANSFER_IN,
                    amount=amount,
                    transfer=transfer,
                    created_at=now,
                ),
            ]
        )
    return transfer


def transfer_balance_describe(*, transfer_id: int, description: str) -> TransferBalance:
    """A transfer is done once made; only its description changes afterwards."""
    updated = TransferBalance.objects.filter(pk=transfer_id).update(description=description[:300])
    if not updated:
        raise NotFound(f"Transfer '{transfer_id}' does not exist.")
    return TransferBalance.objects.get(pk=transfer_id)


def balance_reserve(
    *,
    amount: Decimal,
    usage_type: str,
    bucket_id: int | None = None,
    product_id: int | None = None,
    units: str = "",
    account_id: str | None = None,
    valid_to: datetime | None = None,
    reason: str = "",
    description: str = "",
    channel: str = "",
    by: str = "",
) -> ReserveBalance:
    """Hold `amount` of a bucket (or of a product's bucket of `usage_type`) for a later use
    (TMF654 reserveBalance) until it is used, cancelled or `valid_to` passes (by default the
    bucket's own validity); what it holds is no longer available to anything else."""
    side = _side(bucket_id, product_id, usage_type)
    if side is None:
        raise DomainError("Name the bucket (or the product) to reserve on.", field="bucket.id")
    now = clock.now()
    if valid_to is not None and valid_to <= now:
        raise DomainError("A reservation ends in the future.", field="validFor.endDateTime")
    with transaction.atomic():
        bucket = PrepaidBucket.objects.select_for_update().filter(side).first()
        if bucket is None:
            raise DomainError("No such bucket.", field="bucket.id")
        _check_account(bucket, account_id)
        if bucket.usage_type != usage_type:
            raise DomainError(f"Bucket {bucket.pk} holds {bucket.usage_type}.", field="usageType")
        _check_usable(bucket, now, "bucket.id")
        _check_amount(bucket, amount, units)
        reservation = ReserveBalance.objects.create(
            bucket=bucket,
            amount=amount,
            status=TopupState.CREATED,
            valid_to=valid_to or bucket.valid_to,
            reason=reason[:200],
            description=description[:300],
            channel=channel[:40],
            created_by=by,
            requested_date=now,
            confirmation_date=now,
        )
        PrepaidBucket.objects.filter(pk=bucket.pk).update(
            remaining=F("remaining") - amount, reserved=F("reserved") + amount, last_update=now
        )
        _action(reservation, LedgerKind.RESERVE, now).save()
    return reservation


def reserve_balance_update(
    *,
    reservation_id: int,
    status: str | None = None,
    reason: str | None = None,
    description: str | None = None,
    by: str = "",
) -> ReserveBalance:
    """Change a reservation (TMF654 PATCH): its reason and description, and `status` once:
    `completed` uses what it holds (consumed from the bucket), `cancelled` releases it to the
    bucket's available balance. Any other move is a 409, nothing changed; the same status
    again changes nothing."""
    with transaction.atomic():
        reservation = ReserveBalance.objects.select_for_update().filter(pk=reservation_id).first()
        if reservation is None:
            raise NotFound(f"Reservation '{reservation_id}' does not exist.")
        if status is not None and status != reservation.status:
            check_transition(
                RESERVATION_TRANSITIONS, reservation.status, status, f"Reservation {reservation.pk}"
            )
            _close([reservation], status, clock.now(), reason=reason or "", by=by)
        texts = {"reason": reason, "description": description}
        texts = {
            name: text[: 300 if name == "description" else 200]
            for name, text in texts.items()
            if text is not None
        }
        if texts:
            ReserveBalance.objects.filter(pk=reservation.pk).update(**texts)
    reservation.refresh_from_db()
    return reservation


def reservations_release_expired(*, now: datetime | None = None) -> int:
    """Release every reservation whose validity ended (the minute sweep): a few statements,
    whatever their number. Returns how many."""
    now = now or clock.now()
    with transaction.atomic():
        due = list(
            ReserveBalance.objects.select_for_update(skip_locked=True)
            .filter(status=TopupState.CREATED, valid_to__lte=now)
            .order_by("pk")
        )
        _close(due, TopupState.CANCELLED, now, reason=VALIDITY_ENDED)
    return len(due)


def _close(reservations: list[ReserveBalance], status: str, now: datetime, *, reason, by=""):
    """Close the (locked, open) reservations: their amount leaves the buckets' `reserved`,
    consumed (`completed`) or back to `remaining` (`cancelled`); released onto a bucket that
    expired meanwhile, it is forfeited as the rest of that bucket was. Set-based: a few
    statements whatever the number, with a ledger row (two when forfeited) for each."""
    if not reservations:
        return
    ids = [reservation.pk for reservation in reservations]
    bucket_ids = sorted({reservation.bucket_id for reservation in reservations})
    # Buckets locked in id order (as transfers lock them), after the reservations.
    expired = set(
        PrepaidBucket.objects.select_for_update()
        .filter(pk__in=bucket_ids)
        .order_by("pk")
        .exclude(status=BucketStatus.ACTIVE)
        .values_list("pk", flat=True)
    )
    ReserveBalance.objects.filter(pk__in=ids).update(
        status=status, closed_at=now, closed_by=by, close_reason=reason[:200]
    )
    kind = LedgerKind.COMMIT if status == TopupState.COMPLETED else LedgerKind.RELEASE
    ledger = [_action(reservation, kind, now) for reservation in reservations]
    if kind == LedgerKind.RELEASE:
        ledger += [
            _action(r, LedgerKind.EXPIRE, now) for r in reservations if r.bucket_id in expired
        ]
    BalanceAction.objects.bulk_create(ledger)
    held = Subquery(
        ReserveBalance.objects.filter(pk__in=ids, bucket_id=OuterRef("pk"))
        .values("bucket_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    buckets = PrepaidBucket.objects.filter(pk__in=bucket_ids)
    buckets.update(reserved=F("reserved") - held, last_update=now)
    if kind == LedgerKind.RELEASE:
        buckets.exclude(pk__in=expired).update(remaining=F("remaining") + held)


def _action(reservation: ReserveBalance, kind: str, now: datetime) -> BalanceAction:
    return BalanceAction(
        bucket_id=reservation.bucket_id,
        kind=kind,
        amount=reservation.amount,
        reservation=reservation,
        created_at=now,
    )
