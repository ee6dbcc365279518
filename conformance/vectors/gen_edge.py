#!/usr/bin/python3
"""Writes the generated positive vectors: every value of every enum, and
every size-limited field at its maximum (conformance/vectors/positive/
edge_*.txtpb).  The hand-written vectors next to them cover the bodies and
oneof branches; these cover the edges, which are tedious to write by hand.

Run it, then `tools/check-vectors.sh --update` to refresh the .bin files
with protoc.  Both outputs are committed; check-vectors.sh fails when they
drift.  Needs the generated Python module: make generate.
"""
import os
import sys

from google.protobuf import text_format

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, os.environ.get("GEN", "build/gen"), "py"))
from panp.v1 import panp_pb2  # noqa: E402

OUT = os.path.join(HERE, "positive")
AUI = bytes.fromhex("f6853f92eb314e23b6e7fd69056153f0")
REL = bytes.fromhex("ba9a5027a70e4ae79b7deb3e06ad4157")
H16 = bytes.fromhex("5a1e9c0377d2418b0fe62db49360c815")
H32 = bytes(range(0xa0, 0xc0))


def esc(b):
    """Text-format escape of arbitrary bytes."""
    return '"' + "".join("\\x%02x" % c for c in b) + '"'


def text(n, seed="x"):
    """n bytes of printable ASCII, recognisable in a hex dump."""
    pattern = (seed + "-0123456789abcdefghijklmnopqrstuvwxyz")
    return (pattern * (n // len(pattern) + 1))[:n]


def write(name, comment, body):
    with open(os.path.join(OUT, "edge_" + name + ".txtpb"), "w") as f:
        for line in comment.strip().splitlines():
            f.write("# " + line + "\n")
        f.write(body.strip() + "\n")


def enum_sweeps():
    for v in panp_pb2.ErrorCode.values()[1:]:
        name = panp_pb2.ErrorCode.Name(v)
        write("error_code_%02d" % v, "Error with code %s (%d): every ErrorCode value." % (name, v),
              'request_id: %d\nerror {\n  code: %s\n  message: "x: %s"\n  field: "x"\n}'
              % (v, name, name.lower()))
    for v in panp_pb2.CloseReason.values()[1:]:
        name = panp_pb2.CloseReason.Name(v)
        typ = REL if name in ("CLOSE_REASON_PEER_GONE", "CLOSE_REASON_SERVER_SHUTDOWN") else b""
        body = "channel_closed {\n  channel_id: %d\n  reason: %s\n" % (1000 + v, name)
        if typ:
            body += "  notification_type: %s\n" % esc(typ)
        write("close_reason_%d" % v,
              "ChannelClosed with reason %s: every CloseReason value\n"
              "(NOTIFICATION_RELEASE exactly for PEER_GONE and SERVER_SHUTDOWN)." % name,
              body + "}")
    for v in panp_pb2.GoodbyeReason.values():
        name = panp_pb2.GoodbyeReason.Name(v)
        write("goodbye_reason_%d" % v, "Goodbye with reason %s: every GoodbyeReason value\n"
              "(UNSPECIFIED is 0: an empty body)." % name,
              "goodbye {\n  reason: %s\n}" % name)
    for v in panp_pb2.CloseOutcome.values()[1:]:
        name = panp_pb2.CloseOutcome.Name(v)
        write("close_outcome_%d" % v, "ChannelCloseResult %s: every CloseOutcome value." % name,
              "request_id: %d\nchannel_close_result {\n  outcome: %s\n}" % (30 + v, name))
    for f in panp_pb2.UserFilter.values()[1:]:
        for s in panp_pb2.ConversationStyle.values()[1:]:
            fn, sn = panp_pb2.UserFilter.Name(f), panp_pb2.ConversationStyle.Name(s)
            write("open_channel_%d_%d" % (f, s),
                  "OpenChannel with %s and %s: every UserFilter x ConversationStyle." % (fn, sn),
                  'request_id: %d\nopen_channel {\n  target { printer: "P%d%d" }\n'
                  "  notification_type: %s\n  user_filter: %s\n  style: %s\n}"
                  % (10 * f + s, f, s, esc(AUI), fn, sn))


def max_strings():
    write("hello_max", "Hello with software and session_label at 64 bytes and a 512-byte token.",
          'request_id: 1\nhello {\n  min_version: 1\n  max_version: 1\n  software: "%s"\n'
          "  auth: AUTH_MECHANISM_TOKEN\n  token: %s\n  session_label: \"%s\"\n"
          "  max_frame_size: 4096\n}"
          % (text(64, "sw"), esc(bytes((i * 7) & 0xff for i in range(512))), text(64, "sess")))
    printers = "".join('    admin_printers: "%s"\n' % text(255, "p%02d" % i) for i in range(64))
    write("welcome_max",
          "Welcome at every limit: software 64 bytes, server_name and user 255,\n"
          "64 admin_printers of 255 bytes each.",
          'request_id: 1\nwelcome {\n  version: 1\n  software: "%s"\n  server_name: "%s"\n'
          '  identity {\n    user: "%s"\n%s    admin_printers_truncated: true\n  }\n}'
          % (text(64, "sw"), text(255, "srv"), text(255, "user"), printers))
    write("register_max",
          "Register with a 255-byte printer name and a 128-byte client_state.",
          'request_id: 2\nregister_listener {\n  target { printer: "%s" }\n'
          "  notification_type: %s\n  user_filter: USER_FILTER_PER_USER\n"
          "  style: CONVERSATION_STYLE_BIDIRECTIONAL\n  lease_seconds: 4294967295\n"
          "  client_state: %s\n}" % (text(255, "prn"), esc(AUI), esc(bytes(range(128)))))
    entries = "".join(
        "  registrations {\n    handle: %s\n    user: \"%s\"\n    target { printer: \"%s\" }\n"
        "    notification_type: %s\n    user_filter: USER_FILTER_ALL_USERS\n"
        "    style: CONVERSATION_STYLE_UNIDIRECTIONAL\n    lease_remaining_seconds: %d\n  }\n"
        % (esc(bytes([i]) * 32), text(255, "u%02d" % i), text(255, "p%02d" % i), esc(AUI), i + 1)
        for i in range(32))
    write("registration_list_max",
          "RegistrationList with 32 entries (the most per frame), each with a\n"
          "32-byte handle, a 255-byte user and a 255-byte printer.",
          "request_id: 6\nregistration_list {\n%s  total: 4294967295\n}" % entries)
    write("error_max", "Error with a 512-byte message and a 128-byte field path.",
          'request_id: 5\nerror {\n  code: ERROR_CODE_INVALID_ARGUMENT\n  message: "%s"\n'
          '  field: "%s"\n}' % (text(512, "msg"), text(128, "fld")))
    write("goodbye_max", "Goodbye with a 512-byte message.",
          'goodbye {\n  reason: GOODBYE_REASON_PROTOCOL_ERROR\n  message: "%s"\n}'
          % text(512, "bye"))
    write("open_channel_max",
          "OpenChannel on behalf of a job with a 255-byte printer, job_owner and a\n"
          "64-byte session label.",
          'request_id: 10\nopen_channel {\n  target { printer: "%s" }\n  notification_type: %s\n'
          "  user_filter: USER_FILTER_PER_USER\n  style: CONVERSATION_STYLE_UNIDIRECTIONAL\n"
          '  on_behalf_of {\n    job_id: 4294967295\n    job_owner: "%s"\n'
          '    session_label: "%s"\n  }\n}' % (text(255, "prn"), esc(AUI), text(255, "own"),
                                              text(64, "ses")))
    write("reply_delivery_max", "ReplyDelivery with a 255-byte responder.",
          'reply_delivery {\n  channel_id: 7\n  sequence: 3\n  responder: "%s"\n'
          "  notification_type: %s\n  payload: \"ok\"\n}" % (text(255, "rsp"), esc(AUI)))


MAX_PAYLOAD = 63488  # 62 KiB (design brief, "Field size limits")


def payload_file(name, comment, frame, body):
    body.payload = text(MAX_PAYLOAD, "payload").encode()
    write(name, comment + "\nThe payload is %d bytes (the maximum); the frame is %d bytes."
          % (MAX_PAYLOAD, frame.ByteSize()), text_format.MessageToString(frame))


def max_payloads():
    f = panp_pb2.Frame(request_id=12)
    f.send.channel_id = 21474836481
    f.send.notification_type = AUI
    payload_file("send_max_payload", "Send with the largest payload.", f, f.send)
    f = panp_pb2.Frame()
    n = f.notify
    n.registration = H32
    n.conversation_id = 2 ** 64 - 1
    n.client_state = bytes(range(128))
    n.channel_id = 2 ** 64 - 1
    n.sequence = 2 ** 64 - 1
    n.notification_type = AUI
    n.style = panp_pb2.CONVERSATION_STYLE_BIDIRECTIONAL
    n.sender.user = text(255, "snd")
    n.sender.job_id = 2 ** 32 - 1
    n.sender.job_owner = text(255, "own")
    n.target.printer = text(255, "prn")
    payload_file("notify_max", "Notify with every field at its maximum: the largest frame the\n"
                 "schema allows for a Notify.", f, n)


def main():
    for old in os.listdir(OUT):
        if old.startswith("edge_"):
            os.remove(os.path.join(OUT, old))
    enum_sweeps()
    max_strings()
    max_payloads()


if __name__ == "__main__":
    main()
