"""gunicorn settings for the checkout: ``make serve``, or

    gunicorn -c gunicorn.conf.py 'checkout:create_app()'

Every setting comes from a ``CHECKOUT_*`` environment variable, as the app's own do
(checkout/config.py): one environment describes a server. Run one of these per machine
behind the load balancer; see README "Running several servers"."""
from __future__ import annotations

import os


def _int(name: str, default: int, low: int, high: int) -> int:
    """``CHECKOUT_<name>`` as a whole number from ``low`` to ``high``; a value that is not
    one stops the server (better than quietly running with a default)."""
    raw = os.environ.get(f"CHECKOUT_{name}", "").strip()
    value = int(raw) if raw else default
    if not low <= value <= high:
        raise ValueError(f"CHECKOUT_{name} must be from {low} to {high}, not {value}")
    return value


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# The gateway's timeout, as the app reads it (CHECKOUT_GATEWAY_TIMEOUT, default 15 s).
# Read here from the environment, not by importing the app: the master then holds none
# of the app's code, and a graceful reload (kill -HUP) loads the new code.
_gateway_timeout = float(os.environ.get("CHECKOUT_GATEWAY_TIMEOUT") or 15.0)

# bind: CHECKOUT_BIND, ``host:port`` (several: comma-separated; ``unix:/path`` works too).
# Loopback by default: put a load balancer or reverse proxy in front, or bind
# 0.0.0.0:8000 on a private network behind one.
bind = [b.strip() for b in os.environ.get("CHECKOUT_BIND", "127.0.0.1:8000").split(",") if b.strip()]

# workers: CHECKOUT_WORKERS processes. Default 2 x cores + 1 (gunicorn's rule of thumb),
# at most 8: each worker keeps its own database connection pool and gateway clients, and
# several servers of 8 workers each already come near PostgreSQL's default
# max_connections (100). More throughput: add servers, or raise it with the database's
# limit in mind.
workers = _int("WORKERS", min(2 * _cores() + 1, 8), 1, 64)

# worker_class / threads: CHECKOUT_THREADS threads per worker (default 4). A payment
# request mostly waits: on the gateway (up to GATEWAY_TIMEOUT) and on the database. With
# threads, a slow gateway call holds one thread, not the whole worker; a server answers
# workers x threads requests at once.
worker_class = "gthread"
threads = _int("THREADS", 4, 1, 64)

# timeout: a worker that does not check in with the master for this long is killed and
# replaced. A little above GATEWAY_TIMEOUT (CHECKOUT_GATEWAY_TIMEOUT, default 15 s), so
# that no setting ever kills a worker that is waiting, within its limit, for the
# gateway's answer to a charge. (With gthread the worker checks in between requests'
# threads anyway; the margin matters if one runs the sync worker with --worker-class.)
timeout = int(float(_gateway_timeout)) + 10

# graceful_timeout: on a restart or deploy (SIGTERM, SIGHUP), how long requests in flight
# may finish. As long as the timeout: a charge sent to the gateway gets its answer
# recorded instead of being cut off (the worker would settle it later, but the customer
# would wait).
graceful_timeout = timeout

# keepalive: CHECKOUT_KEEPALIVE, seconds an idle connection stays open for its next
# request (default 5; with gthread an idle connection holds no thread). Behind a load
# balancer that keeps connections to its targets, set it above the balancer's idle
# timeout (e.g. 65 behind a 60 s one), so that it never sends a request on a connection
# gunicorn has just closed.
keepalive = _int("KEEPALIVE", 5, 0, 600)

# preload_app: off. Each worker imports and builds the app after the fork, so its
# database engine (connection pool) and gateway clients are its own: sockets shared
# across a fork corrupt each other's traffic.
preload_app = False

# accesslog: off by default (CHECKOUT_ACCESS_LOG=- for stdout, or a file); a load
# balancer usually logs requests already. The error log (stderr) stays on: warnings such
# as "database unavailable" go there. Both are written by the workers, where the app
# factory has put its log mask (checkout/logmask.py) on gunicorn.access and gunicorn.error:
# a link's token shows as /c/[token:1a2b3c4d], a card-like number as [number]. Nothing
# to set here (and this file imports nothing of the app, for the reason above).
accesslog = os.environ.get("CHECKOUT_ACCESS_LOG") or None
errorlog = "-"

# control_socket: off. gunicorn's runtime control socket has one default path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl), which two servers on one machine would fight over.
control_socket_disable = True

# proc_name: how the processes show in ps/top.
proc_name = "checkout"
