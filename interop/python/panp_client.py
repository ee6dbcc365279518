"""panp_client: an independent Python client of panp v1, written from SPEC.md
and proto/panp/v1/panp.proto only.

Standard library plus google.protobuf (Debian's python3-protobuf), with the
generated module panp/v1/panp_pb2.py on PYTHONPATH ($(GEN)/py).

What it does (SPEC sections in brackets):
  * addresses unix:PATH, tcp:HOST:PORT, tcp:[V6]:PORT; tls: refused (4)
  * preface, sent together with the Hello, checked on receipt (5.1)
  * varint length framing with the receive-side prefix checks of 5.2
  * Hello/Welcome with EXTERNAL (unix) or TOKEN (tcp) (7.3, 8)
  * request ids, responses matched against the oldest outstanding request
    (7.4, 7.6); events dispatched to the application in arrival order
  * Ping/Pong as a barrier, keepalive (16)
  * register/renew/unregister/list, open/send/close, reply (9, 10, 12)
  * ChannelClosed including NOTIFICATION_RELEASE, and the synthesized
    ChannelClosed(PEER_GONE, NOTIFICATION_RELEASE) of [PANP-CLI-12]
  * a strict receive-side check of the wire profile (6.2, 6.3, 6.4),
    implemented here on the raw bytes, because python-protobuf accepts
    much that panp forbids (see WireValidator)

Threading: one reader thread per connection decodes frames and delivers
events (to `on_event` if given, and to an internal queue read by
`wait_event`) before it resolves the response that follows them, so an
application sees events in wire order relative to responses.  Callbacks run
on the reader thread and must not block on requests of the same connection.
"""

import collections
import ipaddress
import socket
import threading
import time
import uuid

from google.protobuf.descriptor import FieldDescriptor as FD

from panp.v1 import panp_pb2 as pb

PREFACE = b"\x89PANP\r\n\x1a"
DEFAULT_ADDRESS = "unix:/run/panp/panp.sock"  # tried when the user names none ([PANP-TRANS-4])
DEFAULT_FRAME_SIZE = 65536
MAX_PAYLOAD = 63488
NOTIFICATION_RELEASE = uuid.UUID("ba9a5027-a70e-4ae7-9b7d-eb3e06ad4157").bytes
NIL_UUID = bytes(16)
ASYNC_UI = uuid.UUID("f6853f92-eb31-4e23-b6e7-fd69056153f0").bytes
SOFTWARE = "panp-py/0.1"

PER_USER = pb.USER_FILTER_PER_USER
ALL_USERS = pb.USER_FILTER_ALL_USERS
BIDIRECTIONAL = pb.CONVERSATION_STYLE_BIDIRECTIONAL
UNIDIRECTIONAL = pb.CONVERSATION_STYLE_UNIDIRECTIONAL

# Client states (SPEC 7.6)
C_AWAIT_PREFACE = "C_AWAIT_PREFACE"
C_AWAIT_WELCOME = "C_AWAIT_WELCOME"
C_READY = "C_READY"
C_CLOSING = "C_CLOSING"
CLOSED = "CLOSED"

# request body -> success response body (SPEC 7.4)
RESPONSE_OF = {
    "hello": "welcome",
    "register_listener": "registered",
    "renew": "renewed",
    "unregister": "ok",
    "list_registrations": "registration_list",
    "open_channel": "channel_opened",
    "send": "sent",
    "reply": "ok",
    "close_channel": "channel_close_result",
    "ping": "pong",
}
RESPONSE_BODIES = set(RESPONSE_OF.values())
EVENT_BODIES = {"notify", "reply_delivery", "channel_closed", "registration_ended"}
# Bodies a client accepts at all (SPEC 6.2 row 12, 7.6)
CLIENT_ACCEPTS = RESPONSE_BODIES | EVENT_BODIES | {"error", "goodbye"}


def uuid_bytes(t):
    """A notification type as its 16 wire bytes (RFC 9562 network order, [PANP-TYPE-1])."""
    if isinstance(t, uuid.UUID):
        return t.bytes
    if isinstance(t, (bytes, bytearray)):
        if len(t) != 16:
            raise LocalError("INVALID_ARGUMENT", "a notification type has 16 bytes")
        return bytes(t)
    return uuid.UUID(str(t)).bytes


def uuid_text(b):
    return str(uuid.UUID(bytes=bytes(b))) if len(b) == 16 else bytes(b).hex()


def enum_name(enum_type, value, prefix):
    """Name without prefix, or None for a value this schema does not define."""
    try:
        return enum_type.Name(value)[len(prefix):]
    except ValueError:
        return None


def error_code_name(code):
    # SPEC 6.3: an unknown ErrorCode (or 0) is handled as INTERNAL
    n = enum_name(pb.ErrorCode, code, "ERROR_CODE_")
    return "INTERNAL" if n in (None, "UNSPECIFIED") else n


def close_reason_name(reason):
    n = enum_name(pb.CloseReason, reason, "CLOSE_REASON_")
    return None if n in (None, "UNSPECIFIED") else n


# ---------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------

class PanpError(Exception):
    """An Error frame from the broker answering one request."""

    def __init__(self, err):
        self.code = err.code
        self.name = error_code_name(err.code)
        self.field = err.field
        self.message = err.message
        self.fatal = err.fatal
        super().__init__(f"{self.name}{' (fatal)' if self.fatal else ''}: {err.message}")


class LocalError(Exception):
    """A failure decided by this library without the broker."""

    def __init__(self, name, message):
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


class ConnectionLost(LocalError):
    def __init__(self, message):
        super().__init__("CONNECTION_LOST", message)


class BrokenBroker(Exception):
    """The broker broke the protocol (SPEC 7.6 'broken')."""


# ---------------------------------------------------------------------------
# Wire profile validation on raw bytes (SPEC 6.2 - 6.4)
# ---------------------------------------------------------------------------

class Malformed(Exception):
    """SPEC 6.2 rows 1-12: the frame is malformed (a broker would say PROTOCOL_VIOLATION)."""

    def __init__(self, path, why):
        self.path = path
        super().__init__(f"{path or 'frame'}: {why}")


class FieldRuleBroken(Exception):
    """SPEC 6.2 rows 15-17 (and out-of-range enums): a string, size or count rule."""

    def __init__(self, path, why):
        self.path = path
        super().__init__(f"{path}: {why}")


HANDLE = (16, 32)
OPT_HANDLE = "opt_handle"
UUID16 = (16, 16)
OPT_UUID = "opt_uuid"
# SPEC 6.4 (and 6.3 for UUIDs and handles), keyed by message name, then field.
# (lo, hi) in bytes; ("count", n) bounds the elements of a repeated field.
SIZE_RULES = {
    "Hello": {"software": (0, 64), "session_label": (0, 64), "token": (0, 512)},
    "Welcome": {"software": (0, 64), "server_name": (0, 255)},
    "Identity": {"user": (0, 255), "admin_printers": (0, 255), "#admin_printers": 64},
    "Target": {"printer": (0, 255)},
    "RegistrationInfo": {"user": (0, 255), "handle": OPT_HANDLE, "notification_type": UUID16},
    "RegistrationList": {"#registrations": 32},
    "SenderInfo": {"user": (0, 255), "job_owner": (0, 255)},
    "JobContext": {"job_owner": (0, 255), "session_label": (0, 64)},
    "ReplyDelivery": {"responder": (0, 255), "notification_type": UUID16, "payload": (0, MAX_PAYLOAD)},
    "Register": {"client_state": (0, 128), "notification_type": UUID16},
    "Notify": {"client_state": (0, 128), "registration": HANDLE, "notification_type": UUID16,
               "payload": (0, MAX_PAYLOAD)},
    "Registered": {"handle": HANDLE},
    "Renew": {"handle": HANDLE},
    "Unregister": {"handle": HANDLE},
    "RegistrationEnded": {"handle": HANDLE},
    "OpenChannel": {"notification_type": UUID16},
    "Send": {"notification_type": UUID16, "payload": (0, MAX_PAYLOAD)},
    "Reply": {"notification_type": UUID16, "payload": (0, MAX_PAYLOAD)},
    "Notification": {"notification_type": UUID16, "payload": (0, MAX_PAYLOAD)},
    "ChannelClosed": {"registration": OPT_HANDLE, "notification_type": OPT_UUID,
                      "payload": (0, MAX_PAYLOAD)},
    "Error": {"message": (0, 512), "field": (0, 128)},
    "Goodbye": {"message": (0, 512)},
}

VARINT_TYPES = {FD.TYPE_UINT64, FD.TYPE_UINT32, FD.TYPE_BOOL, FD.TYPE_ENUM, FD.TYPE_INT32,
                FD.TYPE_INT64, FD.TYPE_SINT32, FD.TYPE_SINT64}
LEN_TYPES = {FD.TYPE_STRING, FD.TYPE_BYTES, FD.TYPE_MESSAGE}
ROOT_NAMES = {"register_listener": "register"}  # SPEC 19.3


def read_varint(buf, pos, end, path):
    """One varint, strictly: at most 10 bytes, fits 64 bits, minimal (SPEC 6.2 rows 1-2)."""
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise Malformed(path, "varint runs past the end of its message")
        b = buf[pos]
        pos += 1
        n = pos - start
        if n == 10 and b > 1:
            raise Malformed(path, "varint does not fit in 64 bits (10th byte above 01)")
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            if n > 1 and b == 0:
                raise Malformed(path, "varint not minimally encoded")
            return result, pos
        shift += 7


class WireValidator:
    """Walks the raw bytes of one Frame against the schema (descriptors of
    panp_pb2) and applies every receive-side rule of SPEC 6.2 to 6.4 that a
    client applies ([PANP-CLI-3]).  python-protobuf alone would accept padded
    varints, truncate uint32 overflows, take any non-zero bool as true, merge
    repeated submessages and oneof members, keep unknown fields, and apply no
    size limits; none of that reaches it, because this walk runs first.

    `noncanonical` collects departures from the canonical form of SPEC 6.1
    (out-of-order fields, explicit defaults, unknown fields): a receiver must
    accept them ([PANP-WIRE-11]), but a conformant broker never emits them
    ([PANP-WIRE-1]), so the test records them as findings.
    """

    def __init__(self):
        self.noncanonical = []
        self.rule_failure = None

    def frame(self, buf, role_bodies=CLIENT_ACCEPTS):
        """Validates one Frame; returns the name of its body member.  The
        first failure is reported in the order of SPEC 6.5: malformed
        encoding anywhere, then no body, then a body of the wrong role,
        then field rules in field-number order, depth first."""
        self.noncanonical = []
        self.rule_failure = None
        self._rule_key = None
        present = self._message(pb.Frame.DESCRIPTOR, memoryview(buf), 0, len(buf), "frame", ())
        body = [n for n in present if n != "request_id"]
        if not body:  # SPEC 6.2 row 11
            raise Malformed("frame", "no known body member")
        if body[0] not in role_bodies:  # row 12
            raise Malformed(ROOT_NAMES.get(body[0], body[0]), "a body this role never accepts")
        if self.rule_failure is not None:
            raise self.rule_failure
        return body[0]

    def _rule(self, key, path, why):
        # keep the first in field-number order, depth first (6.5 step 5), not
        # in byte order; go on looking for malformed input, which wins
        if self._rule_key is None or key < self._rule_key:
            self._rule_key = key
            self.rule_failure = FieldRuleBroken(path, why)

    def _message(self, desc, buf, pos, end, path, key):
        seen = {}
        oneofs = {}
        counts = collections.Counter()
        sizes = {}
        last = 0
        rules = SIZE_RULES.get(desc.name, {})
        while pos < end:
            tag, pos = read_varint(buf, pos, end, path)
            num, wt = tag >> 3, tag & 7
            if num == 0 or num > 536870911:  # row 3
                raise Malformed(path, f"field number {num} out of range")
            if wt in (3, 4, 6, 7):  # row 4
                raise Malformed(path, f"wire type {wt} in field {num}")
            field = desc.fields_by_number.get(num)
            if field is None:  # row 13: skipped, but still well-formed
                self.noncanonical.append(f"{path}: unknown field {num}")
                if wt == 0:
                    _, pos = read_varint(buf, pos, end, path)
                elif wt == 1 or wt == 5:
                    pos += 8 if wt == 1 else 4
                    if pos > end:
                        raise Malformed(path, f"fixed-width field {num} runs past the end")
                else:
                    n, pos = read_varint(buf, pos, end, path)
                    if n > end - pos:
                        raise Malformed(path, f"field {num} runs past the end")
                    pos += n
                continue
            fpath = f"{path}.{field.name}" if path != "frame" or num == 1 else ROOT_NAMES.get(field.name, field.name)
            want = 0 if field.type in VARINT_TYPES else 2 if field.type in LEN_TYPES else None
            if want is None or wt != want:  # row 6 (the schema has no fixed-width fields)
                raise Malformed(fpath, f"wire type {wt}, declared {want}")
            repeated = field.label == FD.LABEL_REPEATED
            if not repeated and num in seen:  # row 9
                raise Malformed(fpath, "non-repeated field present twice")
            oneof = field.containing_oneof
            if oneof is not None:
                other = oneofs.get(oneof.name)
                if other is not None and other != num:  # row 10
                    raise Malformed(fpath, f"second member of oneof {oneof.name}")
                oneofs[oneof.name] = num
            if num < last:
                self.noncanonical.append(f"{fpath}: out of field-number order")
            last = max(last, num)
            seen[num] = field.name
            counts[field.name] += 1
            fkey = key + ((num, counts[field.name]),)
            if wt == 0:
                v, pos = read_varint(buf, pos, end, fpath)
                if field.type == FD.TYPE_UINT32 and v > 0xFFFFFFFF:  # row 7
                    raise Malformed(fpath, f"uint32 value {v} above 4294967295")
                if field.type == FD.TYPE_BOOL and v > 1:  # row 8
                    raise Malformed(fpath, f"bool value {v}")
                if field.type == FD.TYPE_ENUM and v > 0x7FFFFFFF:
                    # a negative (10-byte) or above-int32 enum value: no panp
                    # enum can hold it (see README, "Where SPEC.md was unclear")
                    self._rule(fkey, fpath, f"enum value {v} outside 0..2^31-1")
                if v == 0 and oneof is None:
                    self.noncanonical.append(f"{fpath}: explicit default 0")
            else:
                n, pos = read_varint(buf, pos, end, fpath)
                if n > end - pos:  # row 5
                    raise Malformed(fpath, f"length {n} runs past the end of its message")
                vend = pos + n
                if field.type == FD.TYPE_MESSAGE:
                    self._message(field.message_type, buf, pos, vend, fpath, fkey)
                else:
                    if n == 0 and oneof is None and not repeated:
                        self.noncanonical.append(f"{fpath}: explicit empty value")
                    if field.type == FD.TYPE_STRING:  # row 15
                        raw = bytes(buf[pos:vend])
                        if b"\x00" in raw:
                            self._rule(fkey, fpath, "string contains 00")
                        try:
                            raw.decode("utf-8", "strict")  # Python's codec refuses overlong
                        except UnicodeDecodeError as e:    # forms, surrogates, > U+10FFFF
                            self._rule(fkey, fpath, f"string is not valid UTF-8 ({e.reason})")
                    self._size(rules.get(field.name), n, fpath, fkey)
                    sizes[field.name] = n
                pos = vend
        # size rules apply to absent fields too (absent = empty), row 16-17
        for fname, rule in rules.items():
            if fname.startswith("#"):
                if counts[fname[1:]] > rule:
                    fd = desc.fields_by_name[fname[1:]]
                    self._rule(key + ((fd.number, rule + 1),), f"{path}.{fname[1:]}",
                               f"{counts[fname[1:]]} elements, limit {rule}")
            elif fname not in sizes and desc.fields_by_name[fname].label != FD.LABEL_REPEATED:
                self._size(rule, 0, f"{path}.{fname}", key + ((desc.fields_by_name[fname].number, 0),))
        return list(seen.values())

    def _size(self, rule, n, path, key):
        if rule is None:
            return
        if rule == OPT_HANDLE:
            ok = n == 0 or 16 <= n <= 32
        elif rule == OPT_UUID:
            ok = n in (0, 16)
        else:
            ok = rule[0] <= n <= rule[1]
        if not ok:
            self._rule(key, path, f"{n} bytes breaks the size rule {rule}")


def encode_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def check_outgoing(frame_bytes, body):
    """Our own output through the validator before it is sent (SPEC 6.6): it
    must be canonical, contain no NOTIFICATION_RELEASE type ([PANP-CLI-17])
    and obey the field rules."""
    v = WireValidator()
    got = v.frame(frame_bytes, role_bodies={body})
    if v.noncanonical:
        raise LocalError("INTERNAL", "encoder produced a non-canonical frame: " + "; ".join(v.noncanonical))
    if NOTIFICATION_RELEASE in frame_bytes:
        # a byte scan can only over-report; re-check on the decoded frame
        f = pb.Frame.FromString(frame_bytes)
        for msg in _walk_messages(getattr(f, got)):
            if "notification_type" in msg.DESCRIPTOR.fields_by_name and msg.notification_type == NOTIFICATION_RELEASE:
                raise LocalError("INVALID_ARGUMENT", "NOTIFICATION_RELEASE is never sent by a client")


def _walk_messages(m):
    yield m
    for fd, val in m.ListFields():
        if fd.type == FD.TYPE_MESSAGE:
            for sub in (val if fd.label == FD.LABEL_REPEATED else [val]):
                yield from _walk_messages(sub)


def semantic_findings(body, m):
    """Broker MUSTs a client can see on one frame but must tolerate (it
    handles unknown enums generically, 6.3, and closes only for 6.2 rows
    1-17).  Returned as text for tests; the connection carries on."""
    out = []
    for sub in _walk_messages(m):
        for fd, val in sub.ListFields():
            if fd.type == FD.TYPE_ENUM:
                for x in (val if fd.label == FD.LABEL_REPEATED else [val]):
                    if fd.enum_type.values_by_number.get(x) is None:
                        out.append(f"[PANP-VER-4] {body}: {sub.DESCRIPTOR.name}.{fd.name} = {x}, not defined in version 1")
    if body == "error":
        if m.code == 0:
            out.append("[PANP-ERR-2] Error with code UNSPECIFIED")
        if not m.message or (m.field and not m.message.startswith(m.field + ": ")):
            out.append(f"[PANP-ERR-10] Error message {m.message!r} does not start with field {m.field!r}")
    elif body == "channel_closed":
        release = m.notification_type == NOTIFICATION_RELEASE
        if release != (m.reason in (pb.CLOSE_REASON_PEER_GONE, pb.CLOSE_REASON_SERVER_SHUTDOWN)):
            out.append(f"[PANP-REL-1] ChannelClosed reason {m.reason} with release={release}")
        if m.channel_id == 0:
            out.append("[PANP-CHAN-23] ChannelClosed without channel_id")
    elif body == "notify":
        if m.sequence == 0:
            out.append("[PANP-CHAN-18] Notify with sequence 0")
        if m.notification_type == NOTIFICATION_RELEASE:
            out.append("[PANP-REL-1] Notify with NOTIFICATION_RELEASE")
        if (m.conversation_id != 0) != (m.style == pb.CONVERSATION_STYLE_BIDIRECTIONAL):
            out.append(f"[PANP-CHAN-18] Notify style {m.style} with conversation_id {m.conversation_id}")
        if m.target.WhichOneof("kind") is None:
            out.append("[PANP-CHAN-18] Notify without target")
    elif body == "reply_delivery":
        if m.notification_type == NOTIFICATION_RELEASE:
            out.append("[PANP-REL-1] ReplyDelivery with NOTIFICATION_RELEASE")
    elif body == "welcome":
        lim = m.limits
        if m.version != 1:
            out.append(f"[PANP-VER-1] Welcome.version {m.version}")
        if lim.max_frame_size < 4096:
            out.append(f"[PANP-FRAME-6] max_frame_size {lim.max_frame_size}")
        for fd in lim.DESCRIPTOR.fields:
            if fd.name != "max_lease_seconds" and getattr(lim, fd.name) == 0:
                out.append(f"[PANP-LIM-2] Limits.{fd.name} is 0")
        if lim.keepalive_timeout_ms < 2 * lim.keepalive_interval_ms:
            out.append("[PANP-LIM-3] keepalive_timeout_ms below twice the interval")
        if lim.max_outbound_bytes < 131072:
            out.append(f"[PANP-LIM-4] max_outbound_bytes {lim.max_outbound_bytes}")
    return out


# ---------------------------------------------------------------------------
# Addresses (SPEC 4.1)
# ---------------------------------------------------------------------------

def parse_address(addr):
    """Returns ('unix', path) or ('tcp', host, port).  tls: is refused
    ([PANP-TRANS-10]); anything else not in the syntax of 4.1 is invalid."""
    if not isinstance(addr, str):
        raise LocalError("INVALID_ADDRESS", "address is not a string")
    if addr.startswith("unix:"):
        path = addr[5:]
        if not path or "\x00" in path:
            raise LocalError("INVALID_ADDRESS", f"bad unix address {addr!r}")
        return ("unix", path)
    if addr.startswith("tls:"):
        _host_port(addr[4:], addr)  # still reject malformed ones as such
        raise LocalError("UNSUPPORTED", "the tls binding is reserved and not implemented; never falling back to tcp")
    if addr.startswith("tcp:"):
        host, port = _host_port(addr[4:], addr)
        return ("tcp", host, port)
    raise LocalError("INVALID_ADDRESS", f"unknown address form {addr!r}")


def _host_port(rest, addr):
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0 or rest[close + 1:close + 2] != ":":
            raise LocalError("INVALID_ADDRESS", f"bad bracketed host in {addr!r}")
        host = rest[1:close]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise LocalError("INVALID_ADDRESS", f"not an IPv6 literal in {addr!r}")
        port = rest[close + 2:]
    else:
        host, sep, port = rest.rpartition(":")
        if not sep or not host or ":" in host:
            raise LocalError("INVALID_ADDRESS", f"want HOST:PORT in {addr!r}")
        if not _is_ipv4(host) and not _is_dns_name(host):
            raise LocalError("INVALID_ADDRESS", f"bad host in {addr!r}")
    if not port.isdigit() or not port.isascii() or not 1 <= int(port) <= 65535 or (len(port) > 1 and port[0] == "0"):
        raise LocalError("INVALID_ADDRESS", f"bad port in {addr!r}")
    return host, int(port)


def _is_ipv4(h):
    try:
        ipaddress.IPv4Address(h)
        return True
    except ValueError:
        return False


def _is_dns_name(h):
    if len(h) > 253 or h.endswith("."):
        h = h[:-1] if h.endswith(".") else h
    labels = h.split(".")
    if not h or all(l.isdigit() for l in labels):
        return False
    for l in labels:
        if not 1 <= len(l) <= 63 or l[0] == "-" or l[-1] == "-":
            return False
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in l):
            return False
    return True


# ---------------------------------------------------------------------------
# Events handed to the application
# ---------------------------------------------------------------------------

class Event:
    kind = "event"

    def __repr__(self):
        return f"<{self.__class__.__name__} {self.__dict__}>"


class NotifyEvent(Event):
    kind = "notify"

    def __init__(self, n):
        self.registration = n.registration
        self.conversation_id = n.conversation_id
        self.client_state = n.client_state
        self.channel_id = n.channel_id
        self.sequence = n.sequence
        self.notification_type = n.notification_type
        self.style = n.style  # may be a value this library does not know (6.3)
        self.sender_user = n.sender.user
        self.job_id = n.sender.job_id
        self.job_owner = n.sender.job_owner
        self.target_printer = n.target.printer if n.target.WhichOneof("kind") == "printer" else None
        self.payload = n.payload


class ReplyEvent(Event):
    kind = "reply"

    def __init__(self, r):
        self.channel_id = r.channel_id
        self.sequence = r.sequence
        self.responder = r.responder
        self.notification_type = r.notification_type
        self.payload = r.payload


class ChannelClosedEvent(Event):
    kind = "closed"

    def __init__(self, channel_id, conversation_id, registration, reason, notification_type, payload,
                 sender_side, synthesized=False):
        self.channel_id = channel_id
        self.conversation_id = conversation_id
        self.registration = registration
        self.reason = reason  # the number; reason_name is None when unknown
        self.reason_name = close_reason_name(reason)
        self.notification_type = notification_type
        self.payload = payload
        self.release = notification_type == NOTIFICATION_RELEASE
        self.sender_side = sender_side
        self.synthesized = synthesized  # made by this library ([PANP-CLI-12])


class RegistrationEndedEvent(Event):
    kind = "registration_ended"

    def __init__(self, handle, reason, synthesized=False):
        self.handle = handle
        self.reason = reason  # None: ended with the connection ([PANP-CLI-12])
        n = enum_name(pb.RegistrationEndReason, reason, "REGISTRATION_END_REASON_") if reason is not None else None
        self.reason_name = "CONNECTION_LOST" if reason is None else (None if n in (None, "UNSPECIFIED") else n)
        self.synthesized = synthesized


class ConnectionEvent(Event):
    kind = "connection"

    def __init__(self, state, message):
        self.state = state
        self.message = message


# ---------------------------------------------------------------------------
# The connection
# ---------------------------------------------------------------------------

class _Pending:
    __slots__ = ("request_id", "body", "expect", "done", "result", "error")

    def __init__(self, request_id, body):
        self.request_id = request_id
        self.body = body
        self.expect = RESPONSE_OF[body]
        self.done = threading.Event()
        self.result = None
        self.error = None


class Registration:
    def __init__(self, handle, lease_seconds, target, notification_type, user_filter, style):
        self.handle = handle
        self.lease_seconds = lease_seconds
        self.target = target
        self.notification_type = notification_type
        self.user_filter = user_filter
        self.style = style


class Connection:
    """One panp client connection.  Use Connection.connect(address, ...)."""

    def __init__(self, address=None, token=None, session_label="", max_frame_size=0,
                 software=SOFTWARE, on_event=None, allow_remote_token=False,
                 check_canonical=True, connect_timeout=10.0, request_timeout=None,
                 keepalive=True, trace=None):
        self.address = address = address or DEFAULT_ADDRESS
        self.kind = parse_address(address)
        self.token = token
        self.session_label = session_label
        self.max_frame_size = max_frame_size  # what we accept: Hello.max_frame_size
        self.recv_limit = max_frame_size or DEFAULT_FRAME_SIZE
        self.software = software
        self.on_event = on_event
        self.allow_remote_token = allow_remote_token
        self.check_canonical = check_canonical
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.keepalive = keepalive
        self.trace = trace  # callable(direction, text) for debugging
        self.state = C_AWAIT_PREFACE
        self.welcome = None
        self.send_limit = DEFAULT_FRAME_SIZE  # SPEC 5.3: 65536 before Welcome
        self.findings = []  # non-canonical frames from the broker ([PANP-WIRE-1])
        self.lost_reason = None
        self._sock = None
        self._lock = threading.RLock()  # state and bookkeeping
        self._wlock = threading.Lock()  # request ids, pending order and writes (taken before _lock)
        self._local_close = False
        self.closing_timeout = 5.0  # how long C_CLOSING waits for EOF (SPEC's flush deadline)
        self._events = collections.deque()
        self._ev_cond = threading.Condition()
        self._pending = collections.deque()
        self._next_id = 1
        self._last_send = time.monotonic()
        self._unanswered_ping_since = None
        self._ended = threading.Event()
        self._closing_eof = threading.Event()
        # client-side view of what is open (for CLI-10, CLI-12, CLI-18)
        self.channels = {}       # channel_id -> (type, style), channels this connection opened
        self.conversations = {}  # conversation_id -> (channel_id, handle, type)
        self.registrations = {}  # handle -> Registration
        self.closed_reported = set()  # ("chan", id) / ("conv", id) already reported closed
        self.types = {}  # ("chan", id) / ("conv", id) -> notification type, for the connection's life

    # ---- setup -------------------------------------------------------------

    @classmethod
    def connect(cls, address=None, **kw):
        c = cls(address, **kw)
        c._connect()
        return c

    def _connect(self):
        if self.kind[0] == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = self.kind[1]
            auth = pb.AUTH_MECHANISM_EXTERNAL
        else:
            host, port = self.kind[1], self.kind[2]
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as e:
                raise LocalError("CONNECT_FAILED", f"cannot resolve {host}: {e}")
            if not infos:
                raise LocalError("CONNECT_FAILED", f"cannot resolve {host}")
            fam, _, _, _, target = infos[0]
            s = socket.socket(fam, socket.SOCK_STREAM)
            auth = pb.AUTH_MECHANISM_TOKEN
        s.settimeout(self.connect_timeout)
        try:
            s.connect(target)
        except OSError as e:
            s.close()
            raise LocalError("CONNECT_FAILED", f"{self.address}: {e}")
        s.settimeout(None)
        if self.kind[0] == "tcp":
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # [PANP-TRANS-5]
            peer = ipaddress.ip_address(s.getpeername()[0].split("%")[0])
            if not peer.is_loopback and not self.allow_remote_token:  # [PANP-SEC-10]
                s.close()
                raise LocalError("REFUSED", "not sending a token over plain tcp to a non-loopback address")
        self._sock = s
        hello = pb.Frame()
        h = hello.hello
        h.min_version = 1
        h.max_version = 1
        h.software = self.software
        h.auth = auth
        if auth == pb.AUTH_MECHANISM_TOKEN:
            tok = self.token.encode("utf-8") if isinstance(self.token, str) else (self.token or b"")
            h.token = tok
        if self.session_label:
            h.session_label = self.session_label
        h.max_frame_size = self.max_frame_size
        # preface and Hello in one write ([PANP-PREF-1], [PANP-PREF-6])
        pend = self._request(hello, "hello", prefix=PREFACE)
        self._reader = threading.Thread(target=self._read_loop, name="panp-reader", daemon=True)
        self._reader.start()
        try:
            w = self._wait(pend, self.connect_timeout)
        except BaseException:
            self._abort("handshake failed")
            raise
        self.welcome = w
        lim = w.limits
        self.send_limit = lim.max_frame_size or DEFAULT_FRAME_SIZE
        self.keepalive_interval = (lim.keepalive_interval_ms or 30000) / 1000.0
        self.keepalive_timeout = (lim.keepalive_timeout_ms or 90000) / 1000.0
        if self.keepalive:
            threading.Thread(target=self._keepalive_loop, name="panp-keepalive", daemon=True).start()
        return w

    @property
    def identity(self):
        return self.welcome.identity

    @property
    def limits(self):
        return self.welcome.limits

    # ---- sending -----------------------------------------------------------

    def _trace(self, d, text):
        if self.trace:
            self.trace(d, text)

    def _write(self, data):
        try:
            self._sock.sendall(data)
        except OSError as e:
            raise ConnectionLost(f"write failed: {e}")
        self._last_send = time.monotonic()

    def _encode(self, frame, body):
        data = frame.SerializeToString(deterministic=True)
        try:
            check_outgoing(data, body)
        except (Malformed, FieldRuleBroken) as e:
            raise LocalError("INVALID_ARGUMENT", str(e))
        if len(data) > self.send_limit:  # [PANP-FRAME-10]
            raise LocalError("FRAME_TOO_LARGE", f"frame of {len(data)} bytes above the broker's max_frame_size {self.send_limit}")
        return encode_varint(len(data)) + data

    def _request(self, frame, body, prefix=b""):
        with self._wlock:
            with self._lock:
                if self.state == C_CLOSING or self.state == CLOSED:
                    raise ConnectionLost(self.lost_reason or "connection is closing")
                if body != "hello" and self.state != C_READY:  # [PANP-CLI-5]
                    raise LocalError("NOT_READY", "no request before Welcome")
            rid = self._next_id
            self._next_id += 1
            if self._next_id > 0xFFFFFFFFFFFFFFFF:
                self._next_id = 1
            frame.request_id = rid  # non-zero, fresh ([PANP-CLI-4])
            data = self._encode(frame, body)
            p = _Pending(rid, body)
            self._pending.append(p)
            self._trace(">", f"{body} #{rid}")
            try:
                self._write(prefix + data)
            except ConnectionLost:
                self._pending.remove(p)
                raise
            if body == "ping" and self._unanswered_ping_since is None:
                self._unanswered_ping_since = time.monotonic()
        with self._lock:  # the connection may have started closing meanwhile
            if self.state in (C_CLOSING, CLOSED) and not p.done.is_set():
                try:
                    self._pending.remove(p)
                except ValueError:
                    pass
                p.error = ConnectionLost(self.lost_reason or "connection is closing")
                p.done.set()
        return p

    def _wait(self, p, timeout=None):
        timeout = timeout if timeout is not None else self.request_timeout
        if not p.done.wait(timeout):
            raise LocalError("TIMEOUT", f"no response to {p.body} #{p.request_id}")
        if p.error is not None:
            raise p.error
        return p.result

    def call(self, frame, body, timeout=None):
        return self._wait(self._request(frame, body), timeout)

    # ---- requests ----------------------------------------------------------

    @staticmethod
    def _target(msg, printer):
        if printer is None:
            msg.server.SetInParent()  # presence selects the server
        else:
            msg.printer = printer

    @staticmethod
    def _check_type(t):
        b = uuid_bytes(t)
        if b == NOTIFICATION_RELEASE:  # [PANP-CLI-17]
            raise LocalError("INVALID_ARGUMENT", "NOTIFICATION_RELEASE is never sent by a client")
        return b

    def register(self, notification_type, printer=None, user_filter=PER_USER, style=UNIDIRECTIONAL,
                 lease_seconds=0, client_state=b""):
        t = self._check_type(notification_type)
        f = pb.Frame()
        r = f.register_listener
        self._target(r.target, printer)
        r.notification_type = t
        r.user_filter = user_filter
        r.style = style
        r.lease_seconds = lease_seconds
        r.client_state = client_state
        res = self.call(f, "register_listener")
        reg = Registration(res.handle, res.lease_seconds, printer, t, user_filter, style)
        with self._lock:
            self.registrations[res.handle] = reg
        return reg

    def renew(self, handle, lease_seconds):
        f = pb.Frame()
        f.renew.handle = handle
        f.renew.lease_seconds = lease_seconds
        return self.call(f, "renew").lease_seconds

    def unregister(self, handle):
        f = pb.Frame()
        f.unregister.handle = handle
        self.call(f, "unregister")
        with self._lock:
            self.registrations.pop(handle, None)

    def list_registrations(self, printer=None, server=False):
        """All pages (SPEC 9.6).  printer=None and server=False: no target."""
        out = []
        offset = 0
        while True:
            f = pb.Frame()
            lr = f.list_registrations
            if printer is not None or server:
                self._target(lr.target, printer)
            lr.offset = offset
            res = self.call(f, "list_registrations")
            out.extend(res.registrations)
            offset += len(res.registrations)
            if offset >= res.total or not res.registrations:
                return out, res.total

    def open_channel(self, notification_type, printer=None, user_filter=PER_USER, style=UNIDIRECTIONAL,
                     job_id=None, job_owner=None, job_session_label=None):
        t = self._check_type(notification_type)
        f = pb.Frame()
        o = f.open_channel
        self._target(o.target, printer)
        o.notification_type = t
        o.user_filter = user_filter
        o.style = style
        if job_owner is not None:
            o.on_behalf_of.job_owner = job_owner
            o.on_behalf_of.job_id = job_id or 0
            o.on_behalf_of.session_label = job_session_label or ""
        cid = self.call(f, "open_channel").channel_id
        with self._lock:
            self.channels[cid] = (t, style)
            self.types[("chan", cid)] = t
        return cid

    def send(self, channel_id, payload, notification_type=None):
        """Returns (sequence, recipients).  Sent is acceptance by the broker,
        never delivery; 0 recipients is success ([PANP-CLI-16])."""
        t = notification_type if notification_type is not None else self._chan_type(channel_id)
        self._check_payload(payload)
        f = pb.Frame()
        f.send.channel_id = channel_id
        f.send.notification_type = self._check_type(t)
        f.send.payload = payload
        s = self.call(f, "send")
        return s.sequence, s.recipients

    def reply(self, conversation_id, payload, notification_type=None):
        t = notification_type if notification_type is not None else self._conv_type(conversation_id)
        self._check_payload(payload)
        f = pb.Frame()
        f.reply.conversation_id = conversation_id
        f.reply.notification_type = self._check_type(t)
        f.reply.payload = payload
        self.call(f, "reply")

    def close_channel(self, channel_id=None, conversation_id=None, reason_payload=None, reason_type=None):
        """Returns 'CLOSED', 'WITHDRAWN', 'ACQUIRED_BY_ANOTHER' or 'ALREADY_CLOSED'.
        CHANNEL_ALREADY_CLOSED and ACQUIRED_BY_ANOTHER are successful closes ([PANP-CLI-10])."""
        if (channel_id is None) == (conversation_id is None):
            raise LocalError("INVALID_ARGUMENT", "name exactly one of channel_id, conversation_id")
        f = pb.Frame()
        c = f.close_channel
        if channel_id is not None:
            c.channel_id = channel_id
            key = ("chan", channel_id)
        else:
            c.conversation_id = conversation_id
            key = ("conv", conversation_id)
        if reason_payload is not None:
            t = reason_type if reason_type is not None else (
                self._chan_type(channel_id) if channel_id is not None else self._conv_type(conversation_id))
            self._check_payload(reason_payload)
            c.reason.notification_type = self._check_type(t)
            c.reason.payload = reason_payload
        try:
            res = self.call(f, "close_channel")
            outcome = enum_name(pb.CloseOutcome, res.outcome, "CLOSE_OUTCOME_")
            if outcome not in ("CLOSED", "WITHDRAWN", "ACQUIRED_BY_ANOTHER"):
                outcome = "CLOSED"  # SPEC 6.3: unknown outcome handled as CLOSED
        except PanpError as e:
            if e.name != "CHANNEL_ALREADY_CLOSED":
                raise
            outcome = "ALREADY_CLOSED"
        with self._lock:
            self._forget(key)
            self.closed_reported.add(key)
        return outcome

    def ping(self, timeout=None):
        f = pb.Frame()
        f.ping.SetInParent()
        self.call(f, "ping", timeout)

    sync = ping  # the barrier of SPEC 16

    def _chan_type(self, cid):
        with self._lock:
            if ("chan", cid) in self.types:
                return self.types[("chan", cid)]
        raise LocalError("UNKNOWN_CHANNEL", f"channel {cid} was not opened here; give notification_type")

    def _conv_type(self, conv):
        with self._lock:
            if ("conv", conv) in self.types:
                return self.types[("conv", conv)]
        raise LocalError("UNKNOWN_CONVERSATION", f"conversation {conv} not known; give notification_type")

    @staticmethod
    def _check_payload(p):
        if len(p) > MAX_PAYLOAD:
            raise LocalError("INVALID_ARGUMENT", f"payload of {len(p)} bytes above {MAX_PAYLOAD}")

    def _forget(self, key):
        if key[0] == "chan":
            self.channels.pop(key[1], None)
        else:
            self.conversations.pop(key[1], None)

    # ---- ending ------------------------------------------------------------

    def disconnect(self, close_channels=True, timeout=5.0):
        """Polite end: CloseChannel for each open channel ([PANP-CLI-15]),
        Goodbye(CLIENT_DONE) ([PANP-CLI-14]), half-close, read to EOF."""
        if self.state == C_READY and close_channels:
            for cid in list(self.channels):
                try:
                    self.close_channel(channel_id=cid)
                except (PanpError, LocalError):
                    pass
        self._local_close = True
        with self._wlock:
            if self.state == C_READY:
                g = pb.Frame()
                g.goodbye.reason = pb.GOODBYE_REASON_CLIENT_DONE
                try:
                    self._write(self._encode(g, "goodbye"))
                except LocalError:
                    pass
                self._enter_closing("sent Goodbye")
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._closing_eof.wait(timeout)
        self._finish("disconnected", state="closed")

    def abort(self):
        """Close the socket at once, as a crash would."""
        self._abort("aborted by the application", state="closed")

    def _abort(self, why, state="lost"):
        if state == "closed":
            self._local_close = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._finish(why, state=state)

    def _enter_closing(self, why):
        """Stop sending; every outstanding request fails ([PANP-CLI-8])."""
        with self._lock:
            if self.state in (C_CLOSING, CLOSED):
                return
            self.state = C_CLOSING
            self.lost_reason = why
            pend = list(self._pending)
            self._pending.clear()
        t = threading.Timer(self.closing_timeout, self._abort, (why + " (no EOF in C_CLOSING)",))
        t.daemon = True
        t.start()
        for p in pend:
            if p.error is None:
                p.error = p.error or ConnectionLost(why)
            p.done.set()

    def _finish(self, why, state="lost"):
        """The connection has ended: report what is still open as lost
        ([PANP-CLI-12]) and close the socket."""
        with self._lock:
            if self.state == CLOSED:
                return
            self._enter_closing(why)
            self.state = CLOSED
            self.lost_reason = self.lost_reason or why
            if self._local_close:
                state = "closed"
            lost = []
            for cid in sorted(self.channels):
                if ("chan", cid) not in self.closed_reported:
                    lost.append(ChannelClosedEvent(cid, 0, b"", pb.CLOSE_REASON_PEER_GONE, NOTIFICATION_RELEASE,
                                                   b"", True, synthesized=True))
            for conv, (cid, handle, _t) in sorted(self.conversations.items()):
                if ("conv", conv) not in self.closed_reported:
                    lost.append(ChannelClosedEvent(cid, conv, handle, pb.CLOSE_REASON_PEER_GONE,
                                                   NOTIFICATION_RELEASE, b"", False, synthesized=True))
            regs = list(self.registrations)
            self.channels.clear()
            self.conversations.clear()
            self.registrations.clear()
        try:
            self._sock.close()
        except OSError:
            pass
        for ev in lost:
            self._deliver(ev)
        for h in regs:
            self._deliver(RegistrationEndedEvent(h, None, synthesized=True))
        self._deliver(ConnectionEvent(state, self.lost_reason))
        self._ended.set()
        self._closing_eof.set()

    @property
    def ended(self):
        return self._ended.is_set()

    # ---- receiving ---------------------------------------------------------

    def _deliver(self, ev):
        self._trace("ev", repr(ev))
        with self._ev_cond:
            self._events.append(ev)
            self._ev_cond.notify_all()
        if self.on_event is not None:
            self.on_event(ev)

    def wait_event(self, pred=None, timeout=5.0, kind=None):
        """Removes and returns the first queued event matching; None on timeout."""
        deadline = time.monotonic() + timeout
        with self._ev_cond:
            while True:
                for ev in self._events:
                    if (kind is None or ev.kind == kind) and (pred is None or pred(ev)):
                        self._events.remove(ev)
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._ev_cond.wait(left)

    def pending_events(self, kind=None):
        with self._ev_cond:
            return [e for e in self._events if kind is None or e.kind == kind]

    def _recv_exact(self, buf, n):
        while len(buf) < n:
            try:
                chunk = self._sock.recv(65536)
            except OSError as e:
                raise EOFError(f"reset: {e}")
            if not chunk:
                raise EOFError("EOF")
            buf.extend(chunk)

    def _read_loop(self):
        buf = bytearray()
        why = None
        try:
            while len(buf) < 8:  # compared as it arrives ([PANP-PREF-5])
                self._recv_exact(buf, len(buf) + 1)
                k = min(len(buf), 8)
                if bytes(buf[:k]) != PREFACE[:k]:
                    why = f"wrong preface {bytes(buf[:k]).hex(' ')}"
                    raise BrokenBroker(why)
            del buf[:8]
            with self._lock:
                self.state = C_AWAIT_WELCOME
            while True:
                frame_bytes = self._read_frame(buf)
                if self.state == C_CLOSING:
                    continue  # discard
                self._on_frame(frame_bytes)
        except EOFError as e:
            why = why or f"broker lost: {e}"
        except BrokenBroker as e:
            why = f"broker broke the protocol: {e}"
        except Exception as e:  # a bug here must still end the connection cleanly
            why = f"internal error: {e!r}"
        if self.state == C_CLOSING:
            self._finish(self.lost_reason or why)
        else:
            self._abort(why)

    def _read_frame(self, buf):
        # the prefix, checked before any of the body is read (SPEC 5.2)
        n = 0
        shift = 0
        i = 0
        while True:
            self._recv_exact(buf, i + 1)
            b = buf[i]
            i += 1
            if i == 5 and b & 0x80:
                raise BrokenBroker("length prefix longer than 5 bytes")
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if i > 1 and buf[i - 1] == 0:
            raise BrokenBroker("length prefix not minimal")
        if n == 0:
            raise BrokenBroker("zero-length frame")
        if n > self.recv_limit:
            raise BrokenBroker(f"frame of {n} bytes above our max_frame_size {self.recv_limit}")
        self._recv_exact(buf, i + n)
        data = bytes(buf[i:i + n])
        del buf[:i + n]
        return data

    def _on_frame(self, data):
        v = WireValidator()
        try:
            body = v.frame(data)
        except (Malformed, FieldRuleBroken) as e:  # [PANP-CLI-3]
            raise BrokenBroker(f"{e.__class__.__name__}: {e}")
        if v.noncanonical and self.check_canonical:
            self.findings.append(f"[PANP-WIRE-1] non-canonical {body} frame from the broker: {'; '.join(v.noncanonical)}")
        f = pb.Frame.FromString(data)
        msg = getattr(f, body)
        rid = f.request_id
        self.findings.extend(semantic_findings(body, msg))
        self._trace("<", f"{body} #{rid}")
        with self._lock:
            self._unanswered_ping_since = None
            state = self.state
        if state == C_AWAIT_WELCOME:
            return self._on_frame_awaiting_welcome(body, rid, msg)
        # C_READY
        if body in EVENT_BODIES:
            if rid != 0:
                raise BrokenBroker(f"event {body} with request_id {rid}")
            return self._on_event(body, msg)
        if body == "goodbye":
            reason = enum_name(pb.GoodbyeReason, msg.reason, "GOODBYE_REASON_") or str(msg.reason)
            self._enter_closing(f"Goodbye({reason}) from the broker: {msg.message}")
            return
        if body == "welcome":
            raise BrokenBroker("Welcome in C_READY")
        if body == "error" and msg.fatal and rid == 0:
            self._enter_closing(f"fatal {error_code_name(msg.code)} for the connection: {msg.message}")
            return
        # a response: must fit the oldest outstanding request ([PANP-CLI-6])
        with self._lock:
            p = self._pending[0] if self._pending else None
            if p is None or p.request_id != rid or body not in (p.expect, "error"):
                want = f"{p.expect} #{p.request_id}" if p else "nothing"
                raise BrokenBroker(f"{body} #{rid} does not answer the oldest request ({want})")
            self._pending.popleft()
            if body == "error":
                p.error = PanpError(msg)
            else:
                p.result = msg
        if body == "error" and msg.fatal:
            # report the failure of this request, then the connection ([PANP-CLI-8])
            p.done.set()
            self._enter_closing(f"fatal {error_code_name(msg.code)}: {msg.message}")
            return
        p.done.set()

    def _on_frame_awaiting_welcome(self, body, rid, msg):
        with self._lock:
            p = self._pending[0] if self._pending else None
        if body == "welcome" and p is not None and rid == p.request_id:
            with self._lock:
                self._pending.popleft()
                self.state = C_READY
                self.welcome = msg
                self.send_limit = msg.limits.max_frame_size or DEFAULT_FRAME_SIZE
            p.result = msg
            p.done.set()
            return
        if body == "error" and msg.fatal and rid in (0, p.request_id if p else 0):
            with self._lock:
                if p is not None and self._pending and self._pending[0] is p:
                    self._pending.popleft()
                    p.error = PanpError(msg)
                    p.done.set()
            self._enter_closing(f"Hello refused: {error_code_name(msg.code)}: {msg.message}")
            return
        if body == "goodbye":
            self._enter_closing(f"Goodbye before Welcome: {msg.message}")
            return
        raise BrokenBroker(f"{body} #{rid} while awaiting Welcome")

    def _on_event(self, body, m):
        if body == "notify":
            with self._lock:
                if m.conversation_id:
                    self.types[("conv", m.conversation_id)] = m.notification_type
                    if ("conv", m.conversation_id) not in self.closed_reported:
                        self.conversations.setdefault(m.conversation_id, (m.channel_id, m.registration, m.notification_type))
            self._deliver(NotifyEvent(m))
        elif body == "reply_delivery":
            self._deliver(ReplyEvent(m))
        elif body == "channel_closed":
            # [PANP-CLI-11]: also for a conversation never seen in a Notify
            with self._lock:
                if m.registration or m.conversation_id:
                    sender_side = False
                    key = ("conv", m.conversation_id) if m.conversation_id else None
                else:
                    sender_side = True
                    key = ("chan", m.channel_id)
                if key is not None:
                    self._forget(key)
                    self.closed_reported.add(key)
            self._deliver(ChannelClosedEvent(m.channel_id, m.conversation_id, m.registration, m.reason,
                                             m.notification_type, m.payload, sender_side))
        elif body == "registration_ended":
            with self._lock:
                self.registrations.pop(m.handle, None)
            self._deliver(RegistrationEndedEvent(m.handle, m.reason))

    # ---- keepalive ---------------------------------------------------------

    def _keepalive_loop(self):
        """[PANP-KA-1]: a frame at least every keepalive_interval_ms (Ping
        after half of it without sending); [PANP-KA-6]: lost when nothing
        arrives within keepalive_timeout_ms of a Ping."""
        tick = max(0.02, min(self.keepalive_interval / 8.0, 1.0))
        while not self._ended.wait(tick):
            if self.state != C_READY:
                continue
            now = time.monotonic()
            since = self._unanswered_ping_since
            if since is not None and now - since > self.keepalive_timeout:
                self._abort(f"no frame within keepalive_timeout_ms ({self.keepalive_timeout * 1000:.0f}) after a Ping")
                return
            if now - self._last_send >= self.keepalive_interval / 2.0:
                f = pb.Frame()
                f.ping.SetInParent()
                try:
                    self._request(f, "ping")
                except LocalError:
                    pass
