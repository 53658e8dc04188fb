"""`python manage.py bill_run [--as-of YYYY-MM-DD] [--account ID] | --resume RUN_ID`."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.services import bill_run_resume, bill_run_start
from telco import clock
from telco.exceptions import DomainError


class Command(BaseCommand):
    help = "Bill every period that ended on or before a date (synchronously), or resume a run."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD (default today)")
        parser.add_argument("--account", type=int, help="Only this billing account id")
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="Resume a bill run")

    def handle(self, *args, **options):
        try:
            if options["resume"] is not None:
                if options["as_of"] or options["account"] is not None:
                    raise CommandError("--resume takes no --as-of or --account.")
                bill_run = bill_run_resume(bill_run_id=options["resume"], progress=self._progress)
            else:
                bill_run = bill_run_start(
                    as_of=options["as_of"] or clock.now().date(),
                    billing_account_id=options["account"],
                    progress=self._progress,
                )
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Bill run {bill_run.pk} {bill_run.state}: accounts "
                f"{bill_run.accounts_done}/{bill_run.accounts_total}, "
                f"bills created {bill_run.bills_created}"
            )
        )
        for failure in bill_run.failures.filter(resolved_at__isnull=True).select_related(
            "billing_account"
        ):
            self.stdout.write(
                self.style.WARNING(
                    f"Account {failure.billing_account.account_number} not billed: {failure.reason}"
                )
            )

    def _progress(self, bill_run):
        self.stdout.write(
            f"accounts {bill_run.accounts_done}/{bill_run.accounts_total}, "
            f"bills created {bill_run.bills_created}"
        )
