#!/usr/bin/python3
"""panp_client behind the adapter protocol of conformance/README.md
("Client-side mode"), for

  panp-conformance --as-broker ADDR --client-cmd '/usr/bin/python3 interop/python/conformance_adapter.py'

Commands arrive on stdin, one JSON object per line; results and events go to
stdout, one JSON object per line.  Commands are executed one at a time, in
order; events the library delivers while a command runs are written as they
arrive (from the reader thread), before that command's result.
"""
import json
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import panp.v1.panp_pb2  # noqa: F401  (PYTHONPATH=$(GEN)/py)
except ImportError:  # fall back to $PANP_BUILD/gen/py (default build/)
    _b = os.environ.get("PANP_BUILD", "build")
    sys.path.insert(0, os.path.join(_b if os.path.isabs(_b) else os.path.join(HERE, "..", "..", _b), "gen", "py"))
import panp_client as pc  # noqa: E402

out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(",", ":"))
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(msg):
    with out_lock:
        sys.stderr.write(f"py-adapter: {msg}\n")
        sys.stderr.flush()


FILTERS = {"PER_USER": pc.PER_USER, "ALL_USERS": pc.ALL_USERS}
STYLES = {"UNIDIRECTIONAL": pc.UNIDIRECTIONAL, "BIDIRECTIONAL": pc.BIDIRECTIONAL}


class Adapter:
    def __init__(self):
        self.conn = None
        self.reg_by_label = {}     # label -> handle
        self.label_by_handle = {}  # handle -> label (kept after unregister, [PANP-CLI-18])
        self.chan_by_label = {}    # label -> channel_id
        self.label_by_chan = {}

    # ---- events ------------------------------------------------------------

    def on_event(self, ev):
        if ev.kind == "notify":
            emit({"event": "notify", "reg": self.reg_label(ev.registration),
                  "conversation": str(ev.conversation_id), "channel_id": str(ev.channel_id),
                  "sequence": str(ev.sequence), "type": pc.uuid_text(ev.notification_type),
                  "payload": ev.payload.hex(), "client_state": ev.client_state.hex()})
        elif ev.kind == "reply":
            emit({"event": "reply", "chan": self.label_by_chan.get(ev.channel_id, str(ev.channel_id)),
                  "sequence": str(ev.sequence), "responder": ev.responder, "payload": ev.payload.hex()})
        elif ev.kind == "closed":
            o = {"event": "closed", "channel_id": str(ev.channel_id),
                 "reason": ev.reason_name if ev.reason_name is not None else ev.reason,
                 "release": ev.release, "payload": ev.payload.hex()}
            if ev.sender_side:
                o["chan"] = self.label_by_chan.get(ev.channel_id, str(ev.channel_id))
            else:
                o["reg"] = self.reg_label(ev.registration)
                o["conversation"] = str(ev.conversation_id)
            if ev.synthesized:
                o["synthesized"] = True
            emit(o)
        elif ev.kind == "registration_ended":
            emit({"event": "registration_ended", "reg": self.reg_label(ev.handle),
                  "reason": ev.reason_name if ev.reason_name is not None else ev.reason})
        elif ev.kind == "connection":
            emit({"event": "connection", "state": ev.state, "message": ev.message or ""})

    def reg_label(self, handle):
        return self.label_by_handle.get(handle, handle.hex())

    # ---- commands ----------------------------------------------------------

    def need(self):
        if self.conn is None:
            raise pc.LocalError("NOT_CONNECTED", "no connection")
        return self.conn

    def c_connect(self, c):
        def trace(d, t):
            if os.environ.get("PANP_PY_TRACE"):
                log(f"{d} {t}")
        self.conn = None
        conn = pc.Connection(c["broker"], token=c.get("token"), session_label=c.get("session_label") or "",
                             on_event=self.on_event, trace=trace)
        self.conn = conn
        conn._connect()
        emit({"event": "connection", "state": "up", "message": f"user {conn.identity.user}"})
        return {}

    def c_register(self, c):
        reg = self.need().register(c["type"], printer=c.get("printer"), user_filter=FILTERS[c.get("filter", "PER_USER")],
                                   style=STYLES[c.get("style", "UNIDIRECTIONAL")], lease_seconds=int(c.get("lease") or 0),
                                   client_state=bytes.fromhex(c.get("client_state") or ""))
        label = c.get("reg")
        self.reg_by_label[label] = reg.handle
        self.label_by_handle[reg.handle] = label
        return {"handle": reg.handle.hex(), "lease": reg.lease_seconds}

    def c_unregister(self, c):
        self.need().unregister(self.reg_by_label[c["reg"]])
        return {}

    def c_renew(self, c):
        return {"lease": self.need().renew(self.reg_by_label[c["reg"]], int(c.get("lease") or 0))}

    def c_list(self, c):
        regs, total = self.need().list_registrations()
        return {"total": total, "registrations": [
            {"handle": r.handle.hex(), "user": r.user, "type": pc.uuid_text(r.notification_type),
             "lease_remaining": r.lease_remaining_seconds} for r in regs]}

    def c_open(self, c):
        cid = self.need().open_channel(c["type"], printer=c.get("printer"),
                                       user_filter=FILTERS[c.get("filter", "PER_USER")],
                                       style=STYLES[c.get("style", "UNIDIRECTIONAL")])
        self.chan_by_label[c["chan"]] = cid
        self.label_by_chan[cid] = c["chan"]
        return {"channel_id": str(cid)}

    def c_send(self, c):
        seq, rec = self.need().send(self.chan_by_label[c["chan"]], bytes.fromhex(c.get("payload") or ""))
        return {"sequence": str(seq), "recipients": rec}

    def c_reply(self, c):
        self.need().reply(int(c["conversation"]), bytes.fromhex(c.get("payload") or ""))
        return {}

    def c_close(self, c):
        reason = c.get("reason")
        reason = bytes.fromhex(reason) if reason is not None else None
        if "chan" in c:
            r = self.need().close_channel(channel_id=self.chan_by_label[c["chan"]], reason_payload=reason)
        else:
            r = self.need().close_channel(conversation_id=int(c["conversation"]), reason_payload=reason)
        return {"result": r}

    def c_sync(self, c):
        self.need().ping()
        return {}

    def c_disconnect(self, c):
        self.need().disconnect()
        return {}

    def run_command(self, c):
        cid = c.get("id")
        fn = getattr(self, "c_" + str(c.get("cmd")), None)
        if fn is None:
            return {"id": cid, "ok": False, "code": "UNKNOWN_COMMAND", "message": str(c.get("cmd"))}
        try:
            res = fn(c)
        except pc.PanpError as e:
            return {"id": cid, "ok": False, "code": e.name, "message": e.message, "field": e.field,
                    "fatal": e.fatal}
        except pc.LocalError as e:
            return {"id": cid, "ok": False, "code": e.name, "message": e.message}
        except (KeyError, ValueError, TypeError) as e:
            return {"id": cid, "ok": False, "code": "BAD_COMMAND", "message": repr(e)}
        out = {"id": cid, "ok": True}
        out.update(res)
        return out


def main():
    a = Adapter()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            c = json.loads(line)
        except ValueError as e:
            log(f"bad command line {line!r}: {e}")
            continue
        emit(a.run_command(c))
    with out_lock:
        sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
