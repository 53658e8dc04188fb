"""Prepaid balances: provisioned when a prepaid product activates, topped up by voucher or by
a TMF676 payment, expired at the end of their validity, and the customer told when a balance
runs low or is about to expire. Online charging against them is `charging`."""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Model, Q

from billing.choices import PaymentState
from billing.models.prepaid import (
    BUCKET_UNITS,
    AdjustBalance,
    BalanceAction,
    BucketStatus,
    LedgerKind,
    PrepaidBucket,
    PrepaidPlan,
    TopupBalance,
    UsageType,
    Voucher,
)
from billing.services.balance_operations import reservations_release_expired
from billing.services.charging import charging_sessions_release_silent
from billing.services.payments import amount_check, payment_create
from crm import services as crm_services
from telco import clock
from telco.exceptions import Conflict, DomainError, NotFound
from telco.money import plain_decimal, round_money

NOTICE_ACTOR = "prepaid"
# Money stays usable this long after the last top-up or activation (allowances: the plan's).
MONEY_VALIDITY_DAYS = 365


def prepaid_provision(*, product: Model, at: datetime | None = None) -> list[PrepaidBucket]:
    """The balances of a product whose offering is prepaid (made once, when it activates):
    one bucket per allowance of the plan for its validity, and the money bucket with the
    opening credit. Anything else, or a product already provisioned: nothing."""
    plan = PrepaidPlan.objects.filter(offering_id=product.product_offering_id).first()
    if plan is None or PrepaidBucket.objects.filter(product=product).exists():
        return []
    now = at or clock.now()
    buckets = [
        PrepaidBucket(
            product=product,
            billing_account_id=product.billing_account_id,
            usage_type=usage_type,
            units=BUCKET_UNITS.get(usage_type, plan.currency),
            remaining=plan.allowance(usage_type),
            valid_from=now,
            valid_to=now
            + timedelta(
                days=MONEY_VALIDITY_DAYS if usage_type == UsageType.MONETARY else plan.validity_days
            ),
            created_at=now,
            last_update=now,
        )
        for usage_type in UsageType.values
        if usage_type == UsageType.MONETARY or plan.allowance(usage_type) > 0
    ]
    with transaction.atomic():
        PrepaidBucket.objects.bulk_create(buckets)
        BalanceAction.objects.bulk_create(
            BalanceAction(bucket=bucket, kind=LedgerKind.TOPUP, amount=bucket.remaining)
            for bucket in buckets
            if bucket.remaining > 0
        )
    return buckets


def voucher_create(
    *, amount: Decimal, currency: str = "EUR", valid_to: datetime | None = None
) -> Voucher:
    """A new voucher with an unguessable code."""
    if amount <= 0 or amount != round_money(amount, currency):
        raise DomainError("A voucher is worth a positive amount of money.", field="amount")
    return Voucher.objects.create(
        code=secrets.token_hex(8).upper(), amount=amount, currency=currency, valid_to=valid_to
    )


def _credit(bucket: PrepaidBucket, amount: Decimal, now: datetime, **topup) -> TopupBalance:
    """Put `amount` on the (locked) bucket, with its top-up and ledger rows; a money bucket's
    validity is extended and it is active again."""
    topup = TopupBalance.objects.create(
        bucket=bucket, amount=amount, requested_date=now, confirmation_date=now, **topup
    )
    updates = {
        "remaining": F("remaining") + amount,
        "low_balance_notified_at": None,
        "last_update": now,
    }
    if bucket.usage_type == UsageType.MONETARY:
        valid_to = now + timedelta(days=MONEY_VALIDITY_DAYS)
        updates.update(
            status=BucketStatus.ACTIVE,
            valid_to=max(bucket.valid_to or valid_to, valid_to),
            expiry_notified_at=None,
        )
    PrepaidBucket.objects.filter(pk=bucket.pk).update(**updates)
    BalanceAction.objects.create(
        bucket=bucket, kind=LedgerKind.TOPUP, amount=amount, topup=topup, created_at=now
    )
    return topup


def _locked_bucket(bucket_id, account_id) -> PrepaidBucket:
    bucket = PrepaidBucket.objects.select_for_update().filter(pk=bucket_id).first()
    if bucket is None:
        raise DomainError(f"Bucket '{bucket_id}' does not exist.", field="bucket.id")
    if account_id is not None and str(bucket.billing_account_id) != str(account_id):
        raise DomainError(
            f"Bucket '{bucket_id}' is not a balance of account '{account_id}'.",
            field="partyAccount.id",
        )
    return bucket


def topup_balance_create(
    *,
    bucket_id: int,
    account_id: str | None = None,
    amount: Decimal | None = None,
    units: str = "",
    voucher: str = "",
    payment_method: str = "",
    reason: str = "",
    channel: str = "",
    by: str = "",
) -> TopupBalance:
    """Top up a bucket (TMF654 topupBalance): with a voucher's code (its amount, once only) or
    paid now (a TMF676 payment of `amount` on the bucket's account, by `payment_method`)."""
    if bool(voucher) == bool(payment_method):
        raise DomainError(
            "A top-up is paid by a voucher or by a payment method (one of them).",
            field="voucher",
        )
    now = clock.now()
    with transaction.atomic():
        bucket = _locked_bucket(bucket_id, account_id)
        if bucket.usage_type != UsageType.MONETARY:
            raise DomainError("Money tops up the monetary bucket.", field="bucket.id")
        if units and units != bucket.units:
            raise DomainError(f"The bucket holds {bucket.units}.", field="amount.units")
        if voucher:
            # Single use: the first top-up to mark it used takes it, any other finds it used.
            used = Voucher.objects.filter(
                Q(valid_to__isnull=True) | Q(valid_to__gt=now),
                code=voucher.strip().upper(),
                used_at__isnull=True,
                currency=bucket.units,
            ).update(used_at=now)
            card = Voucher.objects.filter(code=voucher.strip().upper()).first()
            if not used or card is None:
                raise Conflict(
                    "The voucher is unknown, used, expired or in another currency.",
                    field="voucher",
                )
            if amount is not None and amount != card.amount:
                raise DomainError(
                    f"The voucher is worth {plain_decimal(card.amount)} {card.currency}.",
                    field="amount.amount",
                )
            return _credit(
                bucket,
                card.amount,
                now,
                voucher=card,
                reason=reason or "Voucher",
                channel=channel,
                created_by=by,
            )
        if amount is None:
            raise DomainError("The amount to pay is needed.", field="amount.amount")
        payment, _ = payment_create(
            billing_account_id=bucket.billing_account_id,
            amount=amount,
            currency=bucket.units,
            method=payment_method,
            description=f"Prepaid top-up of bucket {bucket.pk}",
            created_by=by,
            for_bills=False,
        )
        # The whole payment goes to the balance: none of it is credit for bills.
        type(payment).objects.filter(pk=payment.pk).update(
            unallocated_amount=0, state=PaymentState.ALLOCATED, state_date=now
        )
        return _credit(
            bucket,
            amount,
            now,
            payment=payment,
            reason=reason or "Payment",
            channel=channel,
            created_by=by,
        )


def balance_adjust(
    *,
    bucket_id: int,
    amount: Decimal,
    reason: str,
    account_id: str | None = None,
    units: str = "",
    description: str = "",
    channel: str = "",
    by: str = "",
) -> AdjustBalance:
    """Adjust a bucket (TMF654 adjustBalance): credit a positive `amount` (a goodwill
    allowance, a correction) or debit a negative one, never below what the bucket holds."""
    if amount == 0:
        raise DomainError("An adjustment moves a balance: the amount is not zero.", field="amount")
    if not reason.strip():
        raise DomainError("Say why the balance is adjusted.", field="reason")
    with transaction.atomic():
        bucket = _locked_bucket(bucket_id, account_id)
        if units and units != bucket.units:
            raise DomainError(f"The bucket holds {bucket.units}.", field="amount.units")
        if bucket.usage_type == UsageType.MONETARY:
            amount_check(abs(amount), bucket.units, field="amount.amount")
        if bucket.status == BucketStatus.EXPIRED:
            raise DomainError(f"Bucket {bucket.pk} has expired.", field="bucket.id")
        if -amount > bucket.remaining:
            raise DomainError(
                f"Bucket {bucket.pk} holds {plain_decimal(bucket.remaining)} {bucket.units}: "
                "a debit cannot take more.",
                field="amount.amount",
            )
        return _adjust(
            bucket,
            amount,
            reason=reason[:200],
            description=description[:300],
            channel=channel[:40],
            created_by=by,
        )


def _adjust(
    bucket: PrepaidBucket, amount: Decimal, unrecovered: Decimal = Decimal(0), **adjustment
) -> AdjustBalance:
    """Record the adjustment of the (locked) bucket by `amount` and move it by what could be
    moved (`amount` less the `unrecovered` part of a debit), with its ledger row."""
    now = clock.now()
    adjustment = AdjustBalance.objects.create(
        bucket=bucket,
        amount=amount,
        unrecovered=unrecovered,
        requested_date=now,
        confirmation_date=now,
        **adjustment,
    )
    moved = amount + unrecovered
    if moved:
        updates = {"remaining": F("remaining") + moved, "last_update": now}
        if moved > 0:
            updates["low_balance_notified_at"] = None  # above the threshold again: tell next time
        PrepaidBucket.objects.filter(pk=bucket.pk).update(**updates)
        BalanceAction.objects.create(
            bucket=bucket,
            kind=LedgerKind.CREDIT if moved > 0 else LedgerKind.DEBIT,
            amount=abs(moved),
            adjustment=adjustment,
            created_at=now,
        )
    return adjustment


def topup_take_back(
    *, payment: Model, amount: Decimal, reason: str, is_refund: bool, by: str = ""
) -> AdjustBalance | None:
    """The top-up a payment paid loses `amount` of it: the payment is refunded or reversed.

    A refund pays back only what is still on the balance (more is refused: the customer spent
    it). A reversal (the money never arrived) takes back what is left and records the rest as
    `unrecovered`. None when the payment paid no top-up. Runs inside the caller's transaction.
    """
    topup = TopupBalance.objects.filter(payment=payment).first()
    if topup is None:
        return None
    bucket = _locked_bucket(topup.bucket_id, None)
    taken = min(amount, bucket.remaining)
    if is_refund and taken < amount:
        raise DomainError(
            f"Payment {payment.pk} topped up bucket {bucket.pk}, which holds "
            f"{plain_decimal(bucket.remaining)} {bucket.units}: at most that can be refunded.",
            field="amount.value",
        )
    return _adjust(
        bucket,
        -amount,
        unrecovered=amount - taken,
        reason=reason[:200],
        payment=payment,
        description=f"Top-up {topup.pk} paid by payment {payment.pk}",
        created_by=by,
    )


def buckets_renew(*, now: datetime | None = None) -> int:
    """Plans with a renewal price renew: each active product whose allowances ended (their
    validity passed, or they expired earlier for want of money) pays the fee from its money
    and gets its allowances again for another validity period; what was left of the old ones
    is forfeited. A product whose money cannot cover the fee is left to expire, and renews at
    the first sweep after a top-up covers it. A few statements per plan, whatever the number
    of products; every movement is on the ledger. Returns the products renewed."""
    now = now or clock.now()
    renewed = 0
    for plan in PrepaidPlan.objects.filter(renewal_price__gt=0).order_by("pk"):
        with transaction.atomic():
            renewed += _plan_renew(plan, now)
    return renewed


def _plan_renew(plan: PrepaidPlan, now: datetime) -> int:
    allowances = PrepaidBucket.objects.exclude(usage_type=UsageType.MONETARY).filter(
        product__product_offering_id=plan.offering_id, product__status="active"
    )
    ended = allowances.filter(
        Q(status=BucketStatus.EXPIRED) | Q(status=BucketStatus.ACTIVE, valid_to__lte=now)
    )
    paying = list(
        PrepaidBucket.objects.select_for_update()
        .filter(
            usage_type=UsageType.MONETARY,
            status=BucketStatus.ACTIVE,
            remaining__gte=plan.renewal_price,
            product_id__in=ended.values("product_id"),
        )
        .values_list("pk", "product_id")
    )
    if not paying:
        return 0
    products = [product_id for _, product_id in paying]
    PrepaidBucket.objects.filter(pk__in=[pk for pk, _ in paying]).update(
        remaining=F("remaining") - plan.renewal_price, last_update=now
    )
    renewing = list(
        allowances.select_for_update()
        .filter(product_id__in=products)
        .values_list("pk", "usage_type", "status", "remaining")
    )
    ledger = [
        BalanceAction(
            bucket_id=pk, kind=LedgerKind.RENEW, amount=plan.renewal_price, created_at=now
        )
        for pk, _ in paying
    ]
    ledger += [
        BalanceAction(bucket_id=pk, kind=LedgerKind.EXPIRE, amount=remaining, created_at=now)
        for pk, _, status, remaining in renewing
        if status == BucketStatus.ACTIVE and remaining > 0
    ]
    ledger += [
        BalanceAction(
            bucket_id=pk, kind=LedgerKind.TOPUP, amount=plan.allowance(usage_type), created_at=now
        )
        for pk, usage_type, _, _ in renewing
        if plan.allowance(usage_type) > 0
    ]
    for usage_type in sorted({usage_type for _, usage_type, _, _ in renewing}):
        PrepaidBucket.objects.filter(
            pk__in=[pk for pk, kind, _, _ in renewing if kind == usage_type]
        ).update(
            remaining=plan.allowance(usage_type),
            status=BucketStatus.ACTIVE,
            valid_from=now,
            valid_to=now + timedelta(days=plan.validity_days),
            low_balance_notified_at=None,
            expiry_notified_at=None,
            last_update=now,
        )
    BalanceAction.objects.bulk_create(ledger)
    return len(paying)


def buckets_expire(*, now: datetime | None = None) -> int:
    """Buckets past their validity expire: what they still hold is forfeited (an `expire`
    ledger row each). Set-based; sessions still open on them keep their reservation and
    release it when they end."""
    now = now or clock.now()
    with transaction.atomic():
        expiring = list(
            PrepaidBucket.objects.select_for_update()
            .filter(status=BucketStatus.ACTIVE, valid_to__lte=now)
            .values_list("pk", "remaining")
        )
        BalanceAction.objects.bulk_create(
            BalanceAction(bucket_id=pk, kind=LedgerKind.EXPIRE, amount=remaining, created_at=now)
            for pk, remaining in expiring
            if remaining > 0
        )
        PrepaidBucket.objects.filter(pk__in=[pk for pk, _ in expiring]).update(
            status=BucketStatus.EXPIRED, remaining=0, last_update=now
        )
    return len(expiring)


def _notify(buckets, subject: str, body, field: str, now: datetime) -> int:
    """Tell each bucket's customer, once (the bucket is marked in the same statement)."""
    buckets = list(buckets.select_related("product__customer__party"))
    PrepaidBucket.objects.filter(pk__in=[bucket.pk for bucket in buckets]).update(**{field: now})
    for bucket in buckets:
        crm_services.customer_notify(
            customer=bucket.product.customer,
            subject=subject,
            body=body(bucket),
            reason="Prepaid balance",
            related_entities=[
                {"id": str(bucket.product_id), "@referredType": "Product", "role": "prepaid"}
            ],
            by=NOTICE_ACTOR,
        )
    return len(buckets)


def prepaid_notices_send(*, now: datetime | None = None) -> int:
    """Low-balance notices (money under the plan's threshold, or an allowance under
    PREPAID_LOW_ALLOWANCE_PERCENT of the plan's) and expiry notices (PREPAID_EXPIRY_NOTICE_DAYS
    ahead), each once until the bucket is topped up or renewed."""
    now = now or clock.now()
    active = PrepaidBucket.objects.filter(status=BucketStatus.ACTIVE)
    plan = "product__product_offering__prepaid_plan__"
    share = Decimal(settings.PREPAID_LOW_ALLOWANCE_PERCENT) / 100
    low = active.filter(low_balance_notified_at__isnull=True).filter(
        Q(usage_type=UsageType.MONETARY, remaining__lt=F(f"{plan}low_balance_threshold"))
        | Q(usage_type=UsageType.DATA, remaining__lt=F(f"{plan}data_mb") * share)
        | Q(usage_type=UsageType.VOICE, remaining__lt=F(f"{plan}voice_minutes") * share)
        | Q(usage_type=UsageType.SMS, remaining__lt=F(f"{plan}sms") * share)
    )
    with transaction.atomic():
        sent = _notify(
            low,
            "Your prepaid balance is running low",
            lambda bucket: (
                f"Your {bucket.get_usage_type_display().lower()} balance on {bucket.product} "
                f"is down to {plain_decimal(bucket.remaining)} {bucket.units}. "
                "Top up to keep using it."
            ),
            "low_balance_notified_at",
            now,
        )
        expiring = active.filter(
            expiry_notified_at__isnull=True,
            valid_to__lte=now + timedelta(days=settings.PREPAID_EXPIRY_NOTICE_DAYS),
            remaining__gt=0,
        )
        sent += _notify(
            expiring,
            "Your prepaid balance expires soon",
            lambda bucket: (
                f"{plain_decimal(bucket.remaining)} {bucket.units} of "
                f"{bucket.get_usage_type_display().lower()} on {bucket.product} expire on "
                f"{bucket.valid_to:%Y-%m-%d %H:%M} UTC."
            ),
            "expiry_notified_at",
            now,
        )
    return sent


def prepaid_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """What beat runs every minute: silent sessions and reservations past their validity
    released (before buckets expire, so what they held is forfeited with the rest), plans
    renewed, expired buckets closed, notices sent."""
    now = now or clock.now()
    return {
        "released": charging_sessions_release_silent(now=now),
        "reservationsReleased": reservations_release_expired(now=now),
        "renewed": buckets_renew(now=now),
        "expired": buckets_expire(now=now),
        "notified": prepaid_notices_send(now=now),
    }


def prepaid_bucket_get(*, bucket_id) -> PrepaidBucket:
    bucket = PrepaidBucket.objects.filter(pk=bucket_id).first()
    if bucket is None:
        raise NotFound(f"Bucket '{bucket_id}' does not exist.", field="bucket.id")
    return bucket
