"""Running the product: Prometheus metrics, structured logs with a request id, health checks and
the production security headers. Project wiring: it reads every app's figures."""
