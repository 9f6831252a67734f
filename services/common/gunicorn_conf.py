"""gunicorn settings shared by the platform's HTTP services.

    gunicorn -c python:services.common.gunicorn_conf 'services.ingest.app:create_app()'

One worker process with threads: the work is waiting on S3 and MongoDB, and
one process keeps Prometheus counters in one place. Scale with more pods.
"""
import os

bind = [os.environ.get("FRAMEGATE_BIND", "127.0.0.1:8000")]
if os.environ.get("FRAMEGATE_ORIGIN_BIND"):  # review's CDN origin, on a port only the CDN may reach
    bind.append(os.environ["FRAMEGATE_ORIGIN_BIND"])
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("FRAMEGATE_HTTP_THREADS", "16"))
timeout = 900  # completing an upload hashes and probes the whole master
graceful_timeout = 30
# Request lines and errors as JSON, like the rest of the platform's logs.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "services.common.logs.JsonFormatter", "service": os.environ.get("FRAMEGATE_SERVICE", "http")}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
accesslog = "-"
