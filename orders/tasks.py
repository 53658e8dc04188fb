"""Celery tasks of the order workflow: thin adapters over orders.services, ids only."""

from celery import shared_task

from inventory.network.base import TransientNetworkError
from orders import services


@shared_task(name="orders.process_product_order")
def process_product_order(product_order_id: int) -> None:
    services.product_order_process(product_order_id=product_order_id)


# Attempts are counted on each step's row (services.ACTIVATION_MAX_ATTEMPTS), which survives
# a re-delivered message; Celery's own retry counter does not, so it is not the limit here.
@shared_task(bind=True, name="orders.run_service_order", max_retries=None)
def run_service_order(self, service_order_id: int) -> None:
    try:
        services.service_order_run(service_order_id=service_order_id)
    except TransientNetworkError as error:
        raise self.retry(
            exc=error, countdown=services.retry_countdown(retries=self.request.retries)
        ) from error


@shared_task(name="orders.resume_stalled_orders")
def resume_stalled_orders() -> list[int]:
    return services.stalled_orders_resume()
