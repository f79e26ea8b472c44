#!/usr/bin/env python3
"""moto's server, with its state kept in a file across restarts.

    python moto_durable.py [-H HOST] [-p PORT] --state FILE

Serves the same WSGI app as `moto_server` (moto.server.DomainDispatcherApplication
with moto's request handler, threaded). The services mercado uses (SERVICES below)
are saved to FILE and restored from it:

* At start, before the port is bound, FILE (if present) is loaded and each
  service's backends are put back into moto's BackendDict. A snapshot written by
  another moto version, or one that cannot be read, is logged, moved aside to
  FILE.unreadable and the server starts empty. A service that fails to load
  starts empty (the rest are restored; FILE is copied to FILE.unreadable).
* A snapshot is written atomically (temp file, fsync, rename) every few seconds
  when a request that may have changed something was served since the last one,
  and on SIGTERM/SIGINT before exiting. Changes are noticed by the WSGI
  middleware, which counts per service (from the SigV4 credential scope or
  X-Amz-Target; all services when unsure) the requests that are not reads
  (GET/HEAD/OPTIONS, or an action named Get*/Describe*/List*/Query/Scan/...).
  A periodic save pickles only the services changed since the last one (S3 and
  EventBridge count as changing SQS too: notifications, rule targets), so a busy
  queue does not re-pickle every image; the save on exit pickles everything.
  SQS ReceiveMessage only moves visibility/receive counts: it makes no periodic
  save, but is included in the one on exit.

Each service is pickled on its own, so one that fails is logged and skipped (its
previous pickle, if any, is kept) instead of failing the rest. Locks and
conditions inside moto's models (e.g. an SQS queue's Condition) are pickled as
fresh, unlocked ones; a Cognito user pool's signing key (a joserfc RSAKey around
a `cryptography` key object) as its JWK dict; S3 keys pickle their bytes through
moto's own FakeKey.__getstate__ (which drops the SpooledTemporaryFile and lock).

Requests run through a gate: a snapshot waits until the requests in flight are
done and holds new ones meanwhile, so it never sees a half-applied change. SQS
ReceiveMessage is let through without the gate, since a long poll may block for
up to 20 s (the snapshot retries a service whose containers it changed meanwhile).

Log lines on stderr (scripts/lib/stack.sh relies on the first one, which only a
complete restore prints):
    moto_durable: restored state from FILE (services: ...)
    moto_durable: partially restored state from FILE (services: ...; failed: ...)
    moto_durable: starting with empty state (...)
    moto_durable: saved state to FILE (...)
"""

from __future__ import annotations

import argparse
import copyreg
import fcntl
import io
import os
import pickle
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from contextlib import contextmanager
from typing import Any

# The services mercado uses (AWS SDK crates: dynamodb, s3, sqs, eventbridge,
# cognitoidentityprovider). sts/iam are not needed: nothing stores state there.
SERVICES = ("dynamodb", "s3", "sqs", "events", "cognito-idp")
FORMAT = 1
# Seconds between checks for changes to save.
INTERVAL = 5.0
# Actions (of X-Amz-Target or ?Action=) that change nothing.
READ_ONLY_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Head")


def log(msg: str) -> None:
    # One write, so that werkzeug's request lines (other threads) do not split it.
    sys.stderr.write(f"moto_durable: {msg}\n")
    sys.stderr.flush()


# --- pickling ----------------------------------------------------------------

# Locks and conditions cannot be pickled; they carry no state worth keeping
# (a snapshot never runs while a gated request holds one), so each is saved as
# "a new one of the same kind".
_FRESH_LOCKS = {
    type(threading.Lock()): threading.Lock,
    type(threading.RLock()): threading.RLock,
    threading.Condition: threading.Condition,
}


def _fresh_reducer(factory: Any) -> Any:
    return lambda _obj: (factory, ())


def _rsa_key_reducer(key: Any) -> Any:
    # A Cognito user pool signs its tokens with a joserfc RSAKey, which wraps a
    # `cryptography` key object (not picklable): save it as its JWK dict.
    return (type(key).import_key, (key.as_dict(private=key.is_private),))


def _dispatch_table() -> dict[type, Any]:
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    for lock_type, factory in _FRESH_LOCKS.items():
        table[lock_type] = _fresh_reducer(factory)
    try:
        from joserfc.jwk import RSAKey

        table[RSAKey] = _rsa_key_reducer
    except ImportError:  # not this moto's dependency any more: pickling tells
        pass
    return table


class StatePickler(pickle.Pickler):
    """Pickles moto's models, with locks/conditions replaced by fresh ones and
    Cognito's signing keys by their JWK dict."""

    dispatch_table = _dispatch_table()


def dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    StatePickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


# BackendDict attributes set by its constructor (the live object keeps its own);
# any other attribute (S3BackendDict.bucket_accounts) is state and is saved.
_BACKEND_DICT_OWN = {"backend", "service_name", "_id", "_use_boto3_regions", "_additional_regions"}


def _backend_dict(service: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)  # type: ignore[arg-type]


def dump_service(service: str) -> bytes:
    bd = _backend_dict(service)
    # dict's own methods: BackendDict.__getitem__ creates missing accounts.
    accounts = {k: dict.__getitem__(bd, k) for k in list(dict.keys(bd))}
    attrs = {k: v for k, v in vars(bd).items() if k not in _BACKEND_DICT_OWN}
    last: Exception | None = None
    for _ in range(5):
        try:
            return dumps({"accounts": accounts, "attrs": attrs})
        except RecursionError:
            raise
        except RuntimeError as e:  # "changed size during iteration": a long poll ran
            last = e
            time.sleep(0.05)
    assert last is not None
    raise last


def restore_service(service: str, blob: bytes) -> None:
    from moto.core.base_backend import BackendDict, backend_lock

    state = pickle.loads(blob)
    bd = _backend_dict(service)
    with backend_lock:
        for k in list(dict.keys(bd)):
            dict.__delitem__(bd, k)
        for k, v in state["accounts"].items():
            dict.__setitem__(bd, k, v)
        for k, v in state["attrs"].items():
            setattr(bd, k, v)
        # So that POST /moto-api/reset resets it too.
        if bd not in BackendDict._instances:
            BackendDict._instances.append(bd)


# --- request gate ------------------------------------------------------------


class Gate:
    """Shared by requests, taken alone by a snapshot (which waits for the requests
    in flight and holds new ones until it is done)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False

    def enter(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            if self._active == 0:
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Any:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class Changes:
    """Counts, per service, the requests that may have changed it; and SQS receives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes = dict.fromkeys(SERVICES, 0)
        self._receives = 0

    def wrote(self, services: tuple[str, ...]) -> None:
        with self._lock:
            for service in services:
                self._writes[service] += 1

    def received(self) -> None:
        with self._lock:
            self._receives += 1

    def get(self) -> tuple[dict[str, int], int]:
        with self._lock:
            return dict(self._writes), self._receives


def _action(environ: dict[str, Any]) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    if target:
        return target.rsplit(".", 1)[-1]
    for part in (environ.get("QUERY_STRING") or "").split("&"):
        if part.startswith("Action="):
            return part[len("Action=") :]
    return ""


# SigV4 signing name (Authorization header, or X-Amz-Credential of a presigned
# URL such as a browser's image upload) -> service.
_SIGNING_NAMES = {
    "dynamodb": "dynamodb",
    "s3": "s3",
    "sqs": "sqs",
    "events": "events",
    "eventbridge": "events",
    "cognito-idp": "cognito-idp",
}
# X-Amz-Target prefix -> service (Cognito's user-facing calls are unsigned).
_TARGETS = {
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
    "AWSEvents": "events",
    "AWSCognitoIdentityProviderService": "cognito-idp",
}
# What a change to a service may change too: S3 notifications and EventBridge
# rule targets send SQS messages.
_ALSO_CHANGES = {"s3": ("sqs",), "events": ("sqs",)}
_CREDENTIAL = re.compile(r"Credential=[^/,&\s]*/[^/]*/[^/]*/([^/]*)/")


def services_of(environ: dict[str, Any]) -> tuple[str, ...]:
    """The durable services a request may change; all of them when unsure."""
    service = None
    m = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION") or "")
    if not m and "X-Amz-Credential" in (environ.get("QUERY_STRING") or ""):
        m = _CREDENTIAL.search(urllib.parse.unquote(environ["QUERY_STRING"]))
    if m:
        service = _SIGNING_NAMES.get(m.group(1).lower())
    else:
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        service = _TARGETS.get(target.split(".", 1)[0])
    if service is None:
        return SERVICES
    return (service, *_ALSO_CHANGES.get(service, ()))


def classify(environ: dict[str, Any]) -> str:
    """'receive', 'read' or 'write' (unknown counts as write: a spare save is harmless)."""
    method = environ.get("REQUEST_METHOD", "GET")
    action = _action(environ)
    if action == "ReceiveMessage":
        return "receive"
    if method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    if action.startswith(READ_ONLY_PREFIXES):
        return "read"
    return "write"


class GatedApp:
    def __init__(self, app: Any, gate: Gate, changes: Changes) -> None:
        self.app = app
        self.gate = gate
        self.changes = changes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        kind = classify(environ)
        if kind == "receive":
            try:
                return self.app(environ, start_response)
            finally:
                self.changes.received()
        self.gate.enter()
        try:
            return self.app(environ, start_response)
        finally:
            self.gate.leave()
            # Counted once done, so the next snapshot includes the change.
            if kind == "write":
                self.changes.wrote(services_of(environ))


# --- state file --------------------------------------------------------------


class StateFile:
    def __init__(self, path: str, gate: Gate, changes: Changes) -> None:
        import moto

        self.path = os.path.abspath(path)
        self.gate = gate
        self.changes = changes
        self.moto_version = moto.__version__
        # The counts of Changes at the last save, and what each service was saved as.
        self.saved_writes = dict.fromkeys(SERVICES, 0)
        self.saved_receives = 0
        self.last_blobs: dict[str, bytes] = {}

    def _move_aside(self) -> None:
        try:
            os.replace(self.path, self.path + ".unreadable")
            log(f"moved it to {self.path}.unreadable")
        except OSError as e:
            log(f"could not move it aside: {e}")

    def restore(self) -> bool:
        """Load the snapshot; True when every service in it was restored."""
        if not os.path.exists(self.path):
            log(f"starting with empty state (no state file {self.path} yet)")
            return False
        try:
            with open(self.path, "rb") as f:
                data = pickle.load(f)  # the envelope: services are still bytes
            fmt, version, blobs = data["format"], data["moto_version"], data["services"]
        except Exception as e:  # noqa: BLE001 - any unreadable file means: start empty
            log(f"starting with empty state: cannot read {self.path}: {type(e).__name__}: {e}")
            self._move_aside()
            return False
        if fmt != FORMAT or version != self.moto_version:
            log(
                f"starting with empty state: {self.path} was written by moto {version} "
                f"(format {fmt}); this is moto {self.moto_version} (format {FORMAT})"
            )
            self._move_aside()
            return False
        restored, failed = [], []
        for service, blob in blobs.items():
            if service not in SERVICES:
                log(f"ignoring service {service} in {self.path}: not a durable service")
                continue
            try:
                restore_service(service, blob)
                restored.append(service)
                self.last_blobs[service] = blob
            except Exception as e:  # noqa: BLE001
                failed.append(service)
                log(f"could not restore {service} (it starts empty): {type(e).__name__}: {e}")
                traceback.print_exc(file=sys.stderr)
        if failed:
            log(
                f"partially restored state from {self.path} "
                f"(services: {', '.join(restored) or 'none'}; failed: {', '.join(failed)})"
            )
            try:
                shutil.copyfile(self.path, self.path + ".unreadable")
                log(f"copied it to {self.path}.unreadable")
            except OSError as e:
                log(f"could not copy it aside: {e}")
            # The next save writes them as they are now (empty), so that the next
            # start does not trip over the same pickles again.
            for service in failed:
                self.saved_writes[service] = -1
            return False
        log(f"restored state from {self.path} (services: {', '.join(restored) or 'none'})")
        return True

    def _dirty(self, full: bool) -> tuple[list[str], dict[str, int], int]:
        writes, receives = self.changes.get()
        dirty = [s for s in SERVICES if writes[s] != self.saved_writes[s]]
        if full and (dirty or receives != self.saved_receives):
            dirty = list(SERVICES)
        return dirty, writes, receives

    def save(self, reason: str, full: bool = False) -> bool:
        """Write a snapshot if a request may have changed something since the last
        one. Periodic saves pickle only the services changed since (the others keep
        their last pickle); a full save (on exit) pickles every service and also
        counts SQS receives as changes. True if written."""
        if not self._dirty(full)[0]:
            return False
        started = time.monotonic()
        blobs: dict[str, bytes] = {}
        pickled, failed = [], []
        with self.gate.exclusive():
            # Again, now that no write request runs.
            dirty, writes, receives = self._dirty(full)
            for service in SERVICES:
                if service not in dirty and service in self.last_blobs:
                    blobs[service] = self.last_blobs[service]
                    continue
                try:
                    blobs[service] = dump_service(service)
                    pickled.append(service)
                except Exception as e:  # noqa: BLE001
                    failed.append(service)
                    kept = "keeping its previous snapshot" if service in self.last_blobs else "not saved"
                    log(f"cannot pickle {service} ({kept}): {type(e).__name__}: {e}")
                    if service in self.last_blobs:
                        blobs[service] = self.last_blobs[service]
        envelope = {
            "format": FORMAT,
            "moto_version": self.moto_version,
            "saved_at": time.time(),
            "services": blobs,
        }
        directory = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix=".moto-state.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(envelope, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        # A service that failed counts as saved too (it is retried on its next
        # change rather than every round).
        self.saved_writes, self.saved_receives = writes, receives
        self.last_blobs = blobs
        size = sum(len(b) for b in blobs.values())
        log(
            f"saved state to {self.path} ({reason}; pickled: {', '.join(pickled) or 'none'}; "
            f"{size // 1024} KiB, {time.monotonic() - started:.2f} s"
            + (f"; failed: {', '.join(failed)}" if failed else "")
            + ")"
        )
        return True


# --- main --------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    parser.add_argument("--state", required=True, help="snapshot file (created if missing)")
    parser.add_argument(
        "--interval", type=float, default=INTERVAL, help="seconds between change checks"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto_server does

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log(f"got {signal.Signals(signum).name}: saving and stopping")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    state_dir = os.path.dirname(os.path.abspath(args.state))
    os.makedirs(state_dir, exist_ok=True)
    # One server per state file: a second one would overwrite the first one's saves.
    lock_fd = os.open(os.path.abspath(args.state) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another moto_durable already uses {args.state}")
        return 1

    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    gate, changes = Gate(), Changes()
    state = StateFile(args.state, gate, changes)
    state.restore()
    if stop.is_set():
        return 0

    app = GatedApp(DomainDispatcherApplication(create_backend_app), gate, changes)
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    log(f"moto {state.moto_version} serving on http://{args.host}:{args.port} (state: {state.path})")

    while not stop.wait(args.interval):
        try:
            state.save("periodic")
        except Exception as e:  # noqa: BLE001 - keep serving; the next round retries
            log(f"periodic save failed: {type(e).__name__}: {e}")

    server.shutdown()  # stops accepting; requests in flight finish under the gate
    server.server_close()
    try:
        if not state.save("on exit", full=True):
            log(f"nothing changed since the last save; {state.path} left as it was")
    except Exception as e:  # noqa: BLE001
        log(f"final save failed: {type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
