"""gunicorn settings for auditapp: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every setting can be changed from the environment (12-factor style); the defaults suit a
small server behind a reverse proxy (nginx, Caddy, a cloud load balancer).

- ``PORT`` (default 8000) and ``HOST`` (default 0.0.0.0), or ``GUNICORN_BIND`` for a full
  bind address such as ``unix:/run/auditapp.sock``;
- ``WEB_CONCURRENCY``: worker processes, default CPU cores + 1;
- ``GUNICORN_THREADS``: threads per worker (default 4: gthread workers; 1: sync workers).
  Threads keep client connections alive and let a worker go on while another request
  waits for the database; on 2 cores, 3 workers × 4 threads served the end-of-month
  submission load with ~40 % less CPU per request than 5 sync workers
  (``benchmarks/submit_load.py``);
- ``GUNICORN_TIMEOUT``: seconds before a silent worker is restarted (default 120: a PDF
  report of a large region can take a while to render);
- ``GUNICORN_ACCESS_LOG`` / ``GUNICORN_ERROR_LOG``: file paths, default ``-`` (stdout /
  stderr, for journald or a container's log collector); ``LOG_LEVEL`` (default info).
  The access log masks assignment-link tokens (``/shopper/t/***``, ``token=***``).

The app keeps no state in a worker (sessions are signed cookies, rate limits live in
Redis when ``REDIS_URL`` is set, files go through ``auditapp.storage``), so workers and
machines can be added freely.
"""

from __future__ import annotations

import multiprocessing
import os

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"
)
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1)
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Restart each worker now and then, staggered, so a slow leak cannot grow for ever.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10
# Workers import the app themselves: no database connection is shared across a fork.
preload_app = False
# Heartbeat files in RAM: a container's overlay /tmp can stall the heartbeat.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


class TokenMaskingLogger(Logger):
    """gunicorn's logger, with link tokens masked in every access-log field (request line,
    path, query, referrer, headers) and in the error log ("Error handling request <url>"):
    whoever reads the logs must not be able to open a visit."""

    def setup(self, cfg):
        from auditapp.security import mask_secrets_in

        super().setup(cfg)
        mask_secrets_in(self.error_log)

    def atoms(self, resp, req, environ, request_time):
        from auditapp.security import mask_secrets

        atoms = super().atoms(resp, req, environ, request_time)
        atoms.pop("{authorization}i", None)
        return {key: mask_secrets(value) if isinstance(value, str) else value
                for key, value in atoms.items()}


logger_class = TokenMaskingLogger
proc_name = "auditapp"
