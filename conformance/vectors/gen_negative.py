#!/usr/bin/python3
"""Writes the negative vectors: conformance/vectors/negative/*.bin and
index.json (one JSON object per line, so line-oriented tools can read it).

Each vector is built from bytes spelled out below (the hex is in the
"why" text or recoverable with `xxd`), not from a protobuf runtime: most of
them are things a runtime would refuse to produce.  Fields of index.json:

  file     the .bin, in this directory
  level    "frame": one Frame without its length prefix, for panp_decode();
           "stream": bytes on a connection, starting with the 8-byte
           preface, for the framer (then each frame it yields is decoded)
  peer     who receives it: "broker" (client -> broker), "client"
           (broker -> client) or "any" (role check off, enums strict)
  expect   the SPEC error code (ErrorCode name without ERROR_CODE_)
  field    the field path the error must name ("" = not checked)
  why      what is wrong, with the offending bytes
  max_frame_size   (optional) the limit to decode with; default 65536

Both backends must give exactly `expect`.  Run it after changing the list;
the outputs are committed and tools/check-vectors.sh checks index and files
agree.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "negative")
PREFACE = bytes.fromhex("8950414e500d0a1a")
AUI = bytes.fromhex("f6853f92eb314e23b6e7fd69056153f0")
REL = bytes.fromhex("ba9a5027a70e4ae79b7deb3e06ad4157")
NIL = bytes(16)
H16 = bytes.fromhex("5a1e9c0377d2418b0fe62db49360c815")

PV, IA, TOO_LARGE = "PROTOCOL_VIOLATION", "INVALID_ARGUMENT", "FRAME_TOO_LARGE"


# ---- a tiny protobuf writer: enough to spell frames byte by byte --------------

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(number, wire_type):
    return varint(number << 3 | wire_type)


def vi(number, value):
    """A varint field."""
    return key(number, 0) + varint(value)


def ld(number, payload):
    """A length-delimited field (bytes, string or submessage)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return key(number, 2) + varint(len(payload)) + payload


def frame(body_number, body, request_id=7):
    return (vi(1, request_id) if request_id else b"") + ld(body_number, body)


# Frame body field numbers
NOTIFY, SEND, SENT, REPLY, CLOSED, PING, PONG, ERROR, OK = 2, 3, 4, 5, 7, 8, 9, 10, 11
HELLO, WELCOME, REGISTER, REGISTERED, RENEW, UNREGISTER = 16, 17, 18, 19, 20, 22
LIST, REG_LIST, OPEN, CLOSE, GOODBYE = 23, 24, 25, 27, 30

SERVER = ld(1, b"")  # Target.server


def target_printer(name):
    return ld(2, name)


def register(target=ld(1, SERVER), typ=AUI, user_filter=1, style=1, extra=b""):
    body = b""
    if target is not None:
        body += target
    if typ is not None:
        body += ld(2, typ)
    if user_filter is not None:
        body += vi(3, user_filter)
    if style is not None:
        body += vi(4, style)
    return frame(REGISTER, body + extra)


def hello(software="libpanp/0.1.0", auth=1, extra=b""):
    return frame(HELLO, vi(1, 1) + vi(2, 1) + ld(3, software) + vi(4, auth) + extra)


def hello_raw_software(raw):
    return frame(HELLO, vi(1, 1) + vi(2, 1) + ld(3, raw) + vi(4, 1))


def send(channel_id=5, typ=AUI, payload=b"hi"):
    body = (vi(1, channel_id) if channel_id else b"") + ld(2, typ) + ld(3, payload)
    return frame(SEND, body)


PING_FRAME = frame(PING, b"")

VECTORS = []


def add(file, data, expect, why, field="", level="frame", peer="broker", **extra):
    entry = {"file": file + ".bin", "level": level, "peer": peer, "expect": expect,
             "field": field, "why": why}
    entry.update(extra)
    VECTORS.append((entry, data))


def varint_and_encoding():
    add("truncated_varint", bytes.fromhex("0880"), PV,
        "request_id varint 08 80: the continuation bit is set on the last byte", "frame.request_id")
    add("truncated_tag", PING_FRAME + bytes.fromhex("92"), PV,
        "a tag 92 (needs a second byte) is the last byte of the frame")
    add("length_past_end", vi(1, 7) + bytes.fromhex("1a05") + vi(1, 5), PV,
        "send: length 5 but only 2 bytes follow (1a 05 08 05)", "send")
    add("length_past_end_nested", frame(REGISTER, bytes.fromhex("0a050a00")), PV,
        "register.target claims 5 bytes; register has 2 left (92 01 04 0a 05 0a 00)",
        "register.target")
    add("length_past_end_deep",
        frame(REGISTER, ld(1, bytes.fromhex("1205") + b"ab")), PV,
        "register.target.printer: length 5 inside a 4-byte Target (12 05 61 62)",
        "register.target.printer")
    add("field_number_0", PING_FRAME + bytes.fromhex("0001"), PV,
        "a field with number 0 (tag 00) after the body")
    add("field_number_0_nested", frame(PING, bytes.fromhex("0001")), PV,
        "a field with number 0 inside ping (42 02 00 01)", "ping")
    add("field_number_2_29", PING_FRAME + bytes.fromhex("8080808010") + b"\x00", PV,
        "field number 2^29 (tag varint 80 80 80 80 10), one past the largest allowed")
    add("field_number_huge", PING_FRAME + bytes.fromhex("f8ffffffffffffffff01") + b"\x00", PV,
        "field number 2^61-1 in a 10-byte tag varint")
    for wt in (3, 4, 6, 7):
        add("wire_type_%d" % wt, PING_FRAME + key(15, wt) + b"\x00\x00\x00\x00\x00\x00\x00\x00",
            PV, "an unknown field 15 with wire type %d (tag %02x)" % (wt, 15 << 3 | wt))
    add("wire_type_3_known", vi(1, 7) + key(PING, 3) + key(PING, 4), PV,
        "the ping body as a group: start-group 43, end-group 44")
    add("overlong_tag_2", bytes.fromhex("c20000"), PV,
        "the ping tag 42 padded to 2 bytes (c2 00), then length 0")
    add("overlong_tag_6", bytes.fromhex("c28080808000") + b"\x00", PV,
        "the ping tag padded to 6 bytes: protobuf-c rejects (> 5), nanopb accepts (<= 10)")
    add("overlong_varint_value", bytes.fromhex("088100") + PING_FRAME, PV,
        "request_id 1 as 2 bytes (08 81 00)", "frame.request_id")
    add("overlong_varint_zero", bytes.fromhex("088000") + PING_FRAME, PV,
        "request_id 0 as 2 bytes (08 80 00)", "frame.request_id")
    add("varint_11_bytes", bytes.fromhex("08" + "ff" * 10 + "01") + PING_FRAME, PV,
        "request_id as an 11-byte varint", "frame.request_id")
    add("varint_overflow_64", bytes.fromhex("08" + "ff" * 9 + "02") + PING_FRAME, PV,
        "request_id whose 10th byte (02) overflows 64 bits", "frame.request_id")
    add("padded_length", bytes.fromhex("428000"), PV,
        "ping with its length 0 written as 2 bytes (42 80 00)", "ping")
    add("padded_length_nested",
        frame(REGISTER, bytes.fromhex("0a8200") + SERVER + ld(2, AUI) + vi(3, 1) + vi(4, 1)), PV,
        "register.target with its length 2 written as 82 00", "register.target")
    add("unknown_field_truncated", PING_FRAME + ld(99, b"abc")[:-1], PV,
        "an unknown length-delimited field 99 whose value runs past the end")
    add("unknown_fixed64_truncated", PING_FRAME + key(99, 1) + b"\x00" * 7, PV,
        "an unknown fixed64 field 99 with 7 of its 8 bytes")
    add("unknown_varint_padded", PING_FRAME + key(99, 0) + bytes.fromhex("8000"), PV,
        "an unknown varint field 99 with a padded value (80 00): minimal everywhere")


def frame_structure():
    # Frame.body is a oneof that must have a member: SPEC 19.3 names it so
    add("empty_frame", b"", PV, "a zero-length frame: no body", "frame.body")
    add("no_body", vi(1, 9), PV, "request_id only (08 09), no body member", "frame.body")
    add("unknown_body_only", vi(1, 9) + ld(12, b""), PV,
        "only an unknown field 12 (in the Frame's gap): no body", "frame.body")
    # pong is no root of SPEC 19.3 for a broker: the Frame's field it is
    add("two_bodies", PING_FRAME + ld(PONG, b""), PV,
        "ping and pong: two members of the body oneof", "frame.pong")
    add("body_twice", PING_FRAME + ld(PING, b""), PV,
        "ping twice (protobuf-c replaces, nanopb merges, Google merges)", "ping")
    add("request_id_twice", vi(1, 1) + vi(1, 2) + ld(PING, b""), PV,
        "request_id twice (last-wins in every runtime)", "frame.request_id")
    add("field_twice_in_body", frame(REGISTER, ld(1, SERVER) + ld(2, AUI) + ld(2, AUI) +
                                     vi(3, 1) + vi(4, 1)), PV,
        "register.notification_type twice", "register.notification_type")
    add("submessage_twice", frame(REGISTER, ld(1, SERVER) + ld(1, SERVER) + ld(2, AUI) +
                                  vi(3, 1) + vi(4, 1)), PV,
        "register.target twice (protobuf-c and nanopb both merge)", "register.target")
    add("target_two_members", register(target=ld(1, SERVER + target_printer("P"))), PV,
        "register.target with server and printer", "register.target.printer")
    add("close_channel_two_sides", frame(CLOSE, vi(1, 5) + vi(2, 6)), PV,
        "close_channel with channel_id and conversation_id (one oneof)",
        "close_channel.conversation_id")
    add("wrong_wire_type_request_id", ld(1, b"") + PING_FRAME, PV,
        "request_id as length-delimited (0a 00)", "frame.request_id")
    add("wrong_wire_type_enum", frame(REGISTER, ld(1, SERVER) + ld(2, AUI) +
                                      key(3, 5) + b"\x01\x00\x00\x00" + vi(4, 1)), PV,
        "register.user_filter as fixed32 (1d 01 00 00 00)", "register.user_filter")
    add("wrong_wire_type_body", vi(1, 7) + vi(PING, 0), PV,
        "the ping body as a varint (40 00)", "ping")
    add("wrong_wire_type_bytes", frame(SEND, vi(1, 5) + vi(2, 16) + ld(3, b"x")), PV,
        "send.notification_type as a varint", "send.notification_type")
    add("uint32_overflow", register(extra=vi(5, 1 << 32)), PV,
        "register.lease_seconds = 2^32 (protobuf-c truncates to 0, nanopb rejects)",
        "register.lease_seconds")
    add("bool_2", frame(ERROR, vi(1, 1) + vi(4, 2)), PV,
        "error.fatal = 2 (bools are 0 or 1)", "error.fatal", peer="client")
    add("bool_padded_range", frame(WELCOME, vi(1, 1) + ld(5, vi(2, 256))), PV,
        "welcome.identity.server_admin = 256", "welcome.identity.server_admin", peer="client")
    add("enum_negative", frame(GOODBYE, key(1, 0) + bytes.fromhex("ffffffffffffffffff01")), IA,
        "goodbye.reason = -1 (a 10-byte int32 varint): no panp enum is negative, and nanopb "
        "cannot hold one; rejected even by a client", "goodbye.reason", peer="client")
    add("enum_above_int32", frame(ERROR, vi(1, 1 << 31)), IA,
        "error.code = 2^31, outside int32: rejected even by a client", "error.code",
        peer="client")


def roles():
    # A broker names a body it never accepts by the Frame's field (SPEC 19.3
    # has no such root); a client's own errors never reach the wire.
    add("notify_to_broker", frame(NOTIFY, ld(1, H16) + vi(4, 1) + vi(5, 1) + ld(6, AUI) +
                                  vi(7, 2), request_id=0), PV,
        "a Notify received by a broker", "frame.notify")
    add("welcome_to_broker", frame(WELCOME, vi(1, 1)), PV, "a Welcome received by a broker",
        "frame.welcome")
    add("register_to_client", register(), PV, "a Register received by a client", "register",
        peer="client")
    add("ping_to_client", PING_FRAME, PV, "a Ping received by a client", "ping", peer="client")
    add("role_beats_field_error", frame(NOTIFY, ld(1, b"short")), PV,
        "a Notify (with a bad handle) received by a broker: the role error wins",
        "frame.notify")
    add("malformed_beats_role", frame(NOTIFY, ld(1, H16) + bytes.fromhex("108000")), PV,
        "a Notify received by a broker with its conversation_id padded (10 80 00): malformed "
        "encoding comes before the role (SPEC 6.5 steps 2, 3), and request_id 0 (ERR-8)",
        "frame.notify.conversation_id")


def strings():
    bad = [
        ("lone_continuation", b"ab\x80cd", "a continuation byte 80 with no lead"),
        ("overlong_2", b"\xc0\xaf", "overlong '/' (c0 af)"),
        ("overlong_2_c1", b"\xc1\xbf", "overlong U+007F (c1 bf)"),
        ("overlong_3", b"\xe0\x80\xaf", "overlong '/' in 3 bytes (e0 80 af)"),
        ("overlong_4", b"\xf0\x80\x80\xaf", "overlong '/' in 4 bytes (f0 80 80 af)"),
        ("surrogate_high", b"\xed\xa0\x80", "UTF-16 surrogate U+D800 (ed a0 80)"),
        ("surrogate_low", b"\xed\xbf\xbf", "UTF-16 surrogate U+DFFF (ed bf bf)"),
        ("above_10ffff", b"\xf4\x90\x80\x80", "U+110000 (f4 90 80 80)"),
        ("byte_f5", b"\xf5\x80\x80\x80", "lead byte f5 (never valid)"),
        ("byte_ff", b"lib\xff", "byte ff"),
        ("truncated_seq", b"lib\xe2\x82", "a 3-byte sequence cut at the end of the string (e2 82)"),
        ("bad_continuation", b"\xe2\x28\xa1", "e2 followed by a non-continuation byte 28"),
    ]
    for name, raw, why in bad:
        add("utf8_" + name, hello_raw_software(raw), IA, "hello.software: " + why,
            "hello.software")
    add("utf8_in_printer", register(target=ld(1, target_printer(b"Office\xc3"))), IA,
        "register.target.printer ends in a lone lead byte c3", "register.target.printer")
    add("utf8_in_repeated", frame(WELCOME, vi(1, 1) + ld(5, ld(3, "ok") + ld(3, b"\xff"))), IA,
        "the second welcome.identity.admin_printers element is ff",
        "welcome.identity.admin_printers", peer="client")
    add("nul_in_string", hello_raw_software(b"lib\x00panp"), IA,
        "hello.software contains a NUL (both runtimes would cut it there)", "hello.software")
    add("nul_in_printer", register(target=ld(1, target_printer(b"\x00"))), IA,
        "register.target.printer is a single NUL", "register.target.printer")
    add("nul_in_error_message", frame(ERROR, vi(1, 1) + ld(2, b"a\x00b")), IA,
        "error.message contains a NUL", "error.message", peer="client")


def sizes():
    add("uuid_short", register(typ=AUI[:3]), IA,
        "register.notification_type of 3 bytes", "register.notification_type")
    add("uuid_long", register(typ=AUI + b"\x00"), IA,
        "register.notification_type of 17 bytes (nanopb: overflow)", "register.notification_type")
    add("uuid_short_send", send(typ=AUI[:15]), IA,
        "send.notification_type of 15 bytes", "send.notification_type")
    add("handle_short", frame(UNREGISTER, ld(1, H16[:15])), IA,
        "unregister.handle of 15 bytes (min 16)", "unregister.handle")
    add("handle_long", frame(RENEW, ld(1, H16 * 2 + b"\x01") + vi(2, 5)), IA,
        "renew.handle of 33 bytes (max 32)", "renew.handle")
    add("handle_short_notify", frame(NOTIFY, ld(1, b"\x01") + vi(4, 1) + vi(5, 1) + ld(6, AUI) +
                                     vi(7, 2), request_id=0), IA,
        "notify.registration of 1 byte", "notify.registration", peer="client")
    add("software_65", hello(software="s" * 65), IA,
        "hello.software of 65 bytes (max 64)", "hello.software")
    add("printer_256", register(target=ld(1, target_printer("p" * 256))), IA,
        "register.target.printer of 256 bytes (max 255)", "register.target.printer")
    add("token_513", hello(auth=2, extra=ld(5, b"t" * 513)), IA,
        "hello.token of 513 bytes (max 512)", "hello.token")
    add("client_state_129", register(extra=ld(6, b"c" * 129)), IA,
        "register.client_state of 129 bytes (max 128)", "register.client_state")
    add("error_message_513", frame(ERROR, vi(1, 1) + ld(2, "m" * 513)), IA,
        "error.message of 513 bytes (max 512)", "error.message", peer="client")
    add("error_field_129", frame(ERROR, vi(1, 1) + ld(3, "f" * 129)), IA,
        "error.field of 129 bytes (max 128)", "error.field", peer="client")
    add("admin_printers_65", frame(WELCOME, vi(1, 1) + ld(5, b"".join(ld(3, "p%d" % i)
                                                                       for i in range(65)))), IA,
        "welcome.identity.admin_printers with 65 elements (max 64)",
        "welcome.identity.admin_printers", peer="client")
    info = ld(4, AUI) + vi(5, 1) + vi(6, 1)
    add("registrations_33", frame(REG_LIST, b"".join(ld(1, info) for _ in range(33))), IA,
        "registration_list.registrations with 33 elements (max 32)",
        "registration_list.registrations", peer="client")
    add("payload_63489", send(payload=b"p" * 63489), IA,
        "send.payload of 63489 bytes (max 63488) in a frame within the 64 KiB limit",
        "send.payload")
    big = send(payload=b"p" * 63488) + ld(99, b"u" * 2100)
    # FRAME_TOO_LARGE names no field (SPEC 19.1)
    add("oversize_frame", big, TOO_LARGE,
        "a %d-byte frame (a maximal Send plus a 2100-byte unknown field) with the "
        "default limit of 65536" % len(big))
    add("oversize_frame_small_limit", send(payload=b"p" * 4096), TOO_LARGE,
        "a %d-byte frame with a 4096-byte limit" % len(send(payload=b"p" * 4096)),
        max_frame_size=4096)


def field_rules():
    add("enum_unknown_user_filter", register(user_filter=3), IA,
        "register.user_filter = 3, not in this schema version", "register.user_filter")
    add("enum_unknown_style", register(style=9), IA,
        "register.style = 9", "register.style")
    add("enum_unknown_auth", hello(auth=7), IA, "hello.auth = 7", "hello.auth")
    # No Goodbye vector for a broker: it takes any Goodbye (SPEC 7.5, CONN-19),
    # whatever its reason and message hold.
    add("enum_unknown_close_reason_any", frame(CLOSED, vi(1, 5) + vi(4, 99), request_id=0), IA,
        "channel_closed.reason = 99 with peer any (enums strict); a client accepts it",
        "channel_closed.reason", peer="any")
    add("register_release", register(typ=REL), IA,
        "register.notification_type = NOTIFICATION_RELEASE", "register.notification_type")
    add("register_nil_type", register(typ=NIL), IA,
        "register.notification_type = the nil UUID", "register.notification_type")
    add("register_no_type", register(typ=None), IA,
        "register without notification_type (want 16 bytes, got 0)",
        "register.notification_type")
    add("register_no_target", register(target=None), IA, "register without target",
        "register.target")
    add("register_empty_target", register(target=ld(1, b"")), IA,
        "register.target present with no member (a oneof with none set)", "register.target")
    add("register_empty_printer", register(target=ld(1, target_printer(""))), IA,
        "register.target.printer set to the empty string", "register.target.printer")
    add("register_filter_0", register(user_filter=None), IA,
        "register.user_filter UNSPECIFIED (0)", "register.user_filter")
    add("register_style_0", register(style=None), IA,
        "register.style UNSPECIFIED (0)", "register.style")
    add("open_channel_release", frame(OPEN, ld(1, SERVER) + ld(2, REL) + vi(3, 1) + vi(4, 1)), IA,
        "open_channel.notification_type = NOTIFICATION_RELEASE",
        "open_channel.notification_type")
    add("open_channel_no_job_owner", frame(OPEN, ld(1, SERVER) + ld(2, AUI) + vi(3, 1) +
                                           vi(4, 1) + ld(5, vi(1, 12))), IA,
        "open_channel.on_behalf_of without job_owner", "open_channel.on_behalf_of.job_owner")
    # Not field rules, so no vectors here: an id of 0 (send, reply,
    # close_channel) is looked up like any id (CHANNEL_NOT_OPENED, SPEC 10.2),
    # and NOTIFICATION_RELEASE in a Send, Reply or close reason is compared with
    # the channel's type (TYPE_MISMATCH, 14.1) -- the broker's checks, after
    # the field rules.  The codec accepts them (positive/broker_*.txtpb).
    add("close_channel_no_side", frame(CLOSE, ld(3, ld(1, AUI))), IA,
        "close_channel with neither channel_id nor conversation_id", "close_channel.side")
    add("hello_version_0", frame(HELLO, vi(2, 1) + vi(4, 1)), IA,
        "hello.min_version 0", "hello.min_version")
    add("hello_max_below_min", frame(HELLO, vi(1, 2) + vi(2, 1) + vi(4, 1)), IA,
        "hello.max_version below min_version", "hello.max_version")
    add("hello_small_max_frame", hello(extra=vi(7, 1024)), IA,
        "hello.max_frame_size 1024 (0 or >= 4096)", "hello.max_frame_size")
    add("renew_no_handle", frame(RENEW, vi(2, 5)), IA, "renew without handle", "renew.handle")
    add("notify_no_sequence", frame(NOTIFY, ld(1, H16) + vi(4, 1) + ld(6, AUI) + vi(7, 2),
                                    request_id=0), IA,
        "notify without sequence", "notify.sequence", peer="client")
    add("channel_closed_peer_gone_no_release",
        frame(CLOSED, vi(1, 5) + vi(4, 4), request_id=0), IA,
        "channel_closed PEER_GONE without NOTIFICATION_RELEASE",
        "channel_closed.notification_type", peer="client")
    add("welcome_small_limit", frame(WELCOME, vi(1, 1) + ld(4, vi(1, 100))), IA,
        "welcome.limits.max_frame_size 100 (a broker announces at least 4096)",
        "welcome.limits.max_frame_size", peer="client")
    add("error_code_0", frame(ERROR, ld(2, "x")), IA,
        "error without code, to a strict receiver (a client accepts 0 as INTERNAL, SPEC 6.3)",
        "error.code", peer="any")
    add("hello_versions_first", frame(HELLO, vi(2, 1) + ld(3, b"\xff") + vi(4, 1)), IA,
        "hello.software is not UTF-8 and hello.min_version is 0: SPEC 7.3 checks the "
        "versions first (steps 2, 3)", "hello.min_version")
    add("hello_auth_before_label", frame(HELLO, vi(1, 1) + vi(2, 1) + ld(6, "l" * 65)), IA,
        "hello.session_label of 65 bytes and no auth: SPEC 7.3 step 5 before step 7",
        "hello.auth")
    add("register_target_before_type", register(target=None, typ=AUI[:3]), IA,
        "register without target and with a 3-byte type: field 1 before field 2 (SPEC 6.5)",
        "register.target")
    add("field_order_not_byte_order",
        frame(REGISTER, vi(4, 9) + ld(1, SERVER) + ld(2, AUI[:3]) + vi(3, 1)), IA,
        "register.style = 9 written before a 3-byte register.notification_type: the "
        "first failure in field-number order, not in byte order (SPEC 6.5 step 5)",
        "register.notification_type")
    add("job_owner_before_label", frame(OPEN, ld(1, SERVER) + ld(2, AUI) + vi(3, 1) + vi(4, 1) +
                                        ld(5, ld(3, "s" * 65))), IA,
        "open_channel.on_behalf_of without job_owner and with a 65-byte session_label: "
        "depth first, field 2 before field 3", "open_channel.on_behalf_of.job_owner")
    add("pv_beats_ia", frame(HELLO, vi(1, 1) + vi(2, 1) + ld(3, b"\xff") + vi(4, 1) + vi(1, 1)),
        PV, "hello.software is not UTF-8 (INVALID_ARGUMENT), then hello.min_version comes "
        "twice (PROTOCOL_VIOLATION): the fatal error wins", "hello.min_version")


def streams():
    ping = varint(len(PING_FRAME)) + PING_FRAME
    add("stream_bad_preface_http", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", PV,
        "an HTTP request instead of the preface", "preface", level="stream")
    add("stream_bad_preface_7bit", bytes([0x09]) + PREFACE[1:] + ping, PV,
        "the preface with its high bit stripped (09 50 41 4e ...)", "preface", level="stream")
    add("stream_bad_preface_crlf", PREFACE[:5] + b"\n" + PREFACE[7:] + ping, PV,
        "the preface after CR LF -> LF conversion", "preface", level="stream")
    add("stream_prefix_padded", PREFACE + bytes.fromhex("8200") + PING_FRAME, PV,
        "length prefix 2 written as 82 00 (not minimal)", "frame", level="stream")
    add("stream_prefix_zero_padded", PREFACE + bytes.fromhex("8000"), PV,
        "length prefix 0 written as 80 00", "frame", level="stream")
    add("stream_prefix_6_bytes", PREFACE + bytes.fromhex("808080808001"), PV,
        "a length prefix longer than 5 bytes", "frame", level="stream")
    add("stream_prefix_oversize", PREFACE + varint(65537) + b"\x00" * 16, TOO_LARGE,
        "length prefix 65537 with the default limit (body never read)", "frame",
        level="stream")
    add("stream_prefix_huge", PREFACE + bytes.fromhex("ffffffff0f"), TOO_LARGE,
        "length prefix 2^32-1 in 5 bytes", "frame", level="stream")
    add("stream_prefix_small_limit", PREFACE + varint(4097) + b"\x00" * 8, TOO_LARGE,
        "length prefix 4097 with a 4096 limit", "frame", level="stream", max_frame_size=4096)
    add("stream_empty_frame", PREFACE + b"\x00", PV,
        "a zero-length frame (a Frame with no body)", "frame.body", level="stream")
    add("stream_second_frame_bad", PREFACE + ping + ping + bytes.fromhex("8000"), PV,
        "two good pings, then a padded prefix", "frame", level="stream")
    add("stream_frame_malformed", PREFACE + ping + varint(3) + bytes.fromhex("428000"), PV,
        "a good ping, then a frame whose body length is padded", "ping", level="stream")


def main():
    varint_and_encoding()
    frame_structure()
    roles()
    strings()
    sizes()
    field_rules()
    streams()
    for f in os.listdir(OUT):
        if f.endswith(".bin"):
            os.remove(os.path.join(OUT, f))
    names = set()
    with open(os.path.join(OUT, "index.json"), "w") as idx:
        idx.write("[\n")
        for i, (entry, data) in enumerate(VECTORS):
            assert entry["file"] not in names, entry["file"]
            names.add(entry["file"])
            with open(os.path.join(OUT, entry["file"]), "wb") as f:
                f.write(data)
            idx.write("  " + json.dumps(entry) + ("," if i + 1 < len(VECTORS) else "") + "\n")
        idx.write("]\n")
    print("%d negative vectors" % len(VECTORS))


if __name__ == "__main__":
    main()
