#!/usr/bin/python3
"""End-to-end test of panp_client (the independent Python client) against a
real panpd, started here on a generated configuration in a temporary
directory, over the Unix socket (EXTERNAL) and over TCP (TOKEN, hashed
tokens in the users file).

Every frame panpd sends goes through the client's strict receive check;
besides, each connection records "findings" (non-canonical frames, broker
MUSTs visible on a single frame); a test fails when a connection it used
has any.

Ends with "N passed, N failed"; exit status 1 on any failure.
usage: test_interop.py [-v] [-k SUBSTRING]
"""
import hashlib
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PANP_BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
sys.path.insert(0, os.path.join(BUILD, "gen", "py"))
sys.path.insert(0, HERE)

import panp_client as pc  # noqa: E402

VERBOSE = "-v" in sys.argv
WAIT = 5.0 * float(os.environ.get("PANP_TIME_SCALE", "1") or 1)
USERS = ["alice", "bob", "lp", "mail", "sys"]


# ---------------------------------------------------------------------------
# a child process that plays a sender and is then killed
# ---------------------------------------------------------------------------

def child_sender(address, token, type_uni, type_bidi, job_owner):
    c = pc.Connection.connect(address, token=token or None)
    kw = {"job_id": 7, "job_owner": job_owner} if job_owner else {}
    cu = c.open_channel(type_uni, style=pc.UNIDIRECTIONAL, **kw)
    cb = c.open_channel(type_bidi, style=pc.BIDIRECTIONAL, **kw)
    su = c.send(cu, b"uni from the child")
    sb = c.send(cb, b"question from the child")
    print(f"{cu} {cb} {su[1]} {sb[1]}", flush=True)
    while True:
        time.sleep(60)


if len(sys.argv) > 1 and sys.argv[1] == "--child-sender":
    child_sender(*[a if a != "-" else None for a in sys.argv[2:7]])
    sys.exit(0)


# ---------------------------------------------------------------------------
# the broker
# ---------------------------------------------------------------------------

class Broker:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="panp-interop-")
        os.chmod(self.dir, 0o755)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.tokens = {u: secrets.token_hex(16) for u in USERS}
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u, t in self.tokens.items():
                f.write(f"{u}:{hashlib.sha256(t.encode()).hexdigest()}\n")
        self.me = pwd.getpwuid(os.getuid()).pw_name
        self.sock = os.path.join(self.dir, "panpd.sock")
        conf = f"""[server]
name = interop
listen = unix:{self.sock}
listen = tcp:127.0.0.1:{self.port}
users_file = users

[printer Office-Laser]
admins = sys

[printer Lab-Inkjet]
admins =

[access]
server_admins = sys
senders = {self.me}, lp
trusted = mail

[limits]
keepalive_interval_ms = 1000
keepalive_timeout_ms = 3000
max_lease_seconds = 3600
hello_timeout_ms = 2000
flush_timeout_ms = 2000

[log]
level = warn
"""
        self.conf = os.path.join(self.dir, "panpd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(self.dir, "panpd.log"), "w+")
        self.proc = subprocess.Popen([os.path.join(BUILD, "bin", "panpd"), "-c", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError("panpd did not start:\n" + self.log.read())
            time.sleep(0.05)
        self.unix = f"unix:{self.sock}"
        self.tcp = f"tcp:127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# test plumbing
# ---------------------------------------------------------------------------

class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def eq(got, want, what):
    if got != want:
        raise Failed(f"{what}: got {got!r}, want {want!r}")


def expect_error(fn, name, field=None):
    try:
        fn()
    except pc.PanpError as e:
        eq(e.name, name, "error code")
        if field is not None:
            eq(e.field, field, f"{name}: Error.field")
        check(not e.fatal, f"{name} must not be fatal")
        return e
    raise Failed(f"expected Error {name}, got success")


class Ctx:
    """One test's connections; all are closed and their findings checked at the end."""

    def __init__(self, broker, binding):
        self.b = broker
        self.binding = binding
        self.conns = []

    def connect(self, user=None, **kw):
        if self.binding == "unix":
            c = pc.Connection.connect(self.b.unix, **kw)
        else:
            c = pc.Connection.connect(self.b.tcp, token=self.b.tokens[user], **kw)
        self.conns.append(c)
        return c

    def finish(self):
        findings = []
        for c in self.conns:
            findings += c.findings
            if not c.ended:
                try:
                    c.disconnect(timeout=2)
                except Exception:
                    c.abort()
            findings += c.findings
        return sorted(set(findings))


def event(conn, kind, pred=None, what=None):
    ev = conn.wait_event(pred, WAIT, kind=kind)
    if ev is None:
        raise Failed(f"no {what or kind} event within {WAIT:.0f} s (queued: {conn.pending_events()})")
    return ev


def no_event(conn, kind, pred=None, what=None):
    ev = conn.wait_event(pred, 0, kind=kind)
    if ev is not None:
        raise Failed(f"unexpected {what or kind}: {ev}")


def barrier(*conns):
    """SPEC 16: Pong of the actor, then of each observer; what the actor's
    frames caused on the observers has then arrived."""
    for c in conns:
        c.ping()


def new_type():
    return uuid.uuid4().bytes


TESTS = []


def test(name, bindings=("unix", "tcp")):
    def deco(fn):
        for b in bindings:
            TESTS.append((f"{b}.{name}", b, fn))
        return fn
    return deco


# roles per binding: over unix every connection is the user running the test
# (a sender); over tcp, users from the users file.
def roles(ctx):
    if ctx.binding == "unix":
        me = ctx.b.me
        return dict(sender=me, listener1=me, listener2=me, on_behalf=None, responder=me, addressed=me)
    # tcp: the trusted 'mail' opens per-user channels for alice's job; alice
    # (the addressed user, row 3) and sys (server admin, row 5) receive them
    return dict(sender="mail", listener1="alice", listener2="sys", on_behalf="alice", responder="alice",
                addressed="alice")


def open_for(ctx, conn, t, style, r, **kw):
    if r["on_behalf"]:
        return conn.open_channel(t, style=style, job_id=42, job_owner=r["on_behalf"], **kw)
    return conn.open_channel(t, style=style, **kw)


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------

@test("handshake")
def t_handshake(ctx):
    user = None if ctx.binding == "unix" else "alice"
    c = ctx.connect(user)
    w = c.welcome
    eq(w.version, 1, "Welcome.version")
    eq(w.server_name, "interop", "Welcome.server_name")
    eq(w.identity.user, ctx.b.me if ctx.binding == "unix" else "alice", "Welcome.identity.user")
    eq(w.limits.keepalive_interval_ms, 1000, "limits.keepalive_interval_ms")
    eq(w.limits.max_lease_seconds, 3600, "limits.max_lease_seconds")
    eq(w.identity.may_open_channels, ctx.binding == "unix", "identity.may_open_channels")
    c.ping()
    if ctx.binding == "tcp":  # rights reported in Welcome ([PANP-AUTH-6])
        i = ctx.connect("sys").identity
        eq((i.user, i.server_admin, i.may_open_channels, i.trusted), ("sys", True, True, False), "sys's identity")
        i = ctx.connect("mail").identity
        eq((i.user, i.server_admin, i.may_open_channels, i.trusted), ("mail", False, True, True), "mail's identity")


@test("bad-token", bindings=("tcp",))
def t_bad_token(ctx):
    try:
        pc.Connection.connect(ctx.b.tcp, token="not-a-token")
    except pc.PanpError as e:
        eq(e.name, "UNAUTHENTICATED", "code")
        check(e.fatal, "an Error answering Hello is fatal")
        eq(e.field, "hello.token", "field")
        return
    raise Failed("a wrong token was accepted")


@test("registrations")
def t_registrations(ctx):
    user = None if ctx.binding == "unix" else "bob"
    c = ctx.connect(user)
    t = new_type()
    r = c.register(t, style=pc.UNIDIRECTIONAL, client_state=b"cs")
    eq(len(r.handle) >= 16, True, "handle length")
    eq(r.lease_seconds, 3600, "lease 0 asks for the cap")
    r2 = c.register(t, style=pc.BIDIRECTIONAL, lease_seconds=99999)
    eq(r2.lease_seconds, 3600, "lease above the cap is clamped")
    expect_error(lambda: c.register(t, style=pc.UNIDIRECTIONAL), "ALREADY_REGISTERED", "register")
    regs, total = c.list_registrations()
    mine = [x for x in regs if x.notification_type == t]
    eq(len(mine), 2, "both registrations listed")
    eq({x.handle for x in mine}, {r.handle, r2.handle}, "own handles listed")
    eq(mine[0].user, c.identity.user, "RegistrationInfo.user")
    eq(mine[0].handle, r.handle, "oldest first")
    check(1 <= mine[0].lease_remaining_seconds <= 3600, "lease_remaining_seconds")
    eq(c.renew(r.handle, 10), 10, "Renewed lease")
    c.unregister(r.handle)
    expect_error(lambda: c.unregister(r.handle), "NOT_FOUND", "unregister.handle")
    expect_error(lambda: c.renew(r.handle, 5), "NOT_FOUND", "renew.handle")
    expect_error(lambda: c.register(t, printer="no-such-printer"), "NOT_FOUND", "register.target.printer")
    expect_error(lambda: c.register(t, user_filter=pc.ALL_USERS), "ACCESS_DENIED", "register.user_filter")
    # paging ([PANP-REG-22]): 40 more registrations, listed 32 per frame at most
    handles = [c.register(new_type(), printer="Office-Laser").handle for _ in range(40)]
    regs, total = c.list_registrations(printer="Office-Laser")
    eq(total, 40, "RegistrationList.total")
    eq([x.handle for x in regs], handles, "all pages, oldest first")
    for h in handles:
        c.unregister(h)


@test("unidirectional")
def t_unidirectional(ctx):
    r = roles(ctx)
    L = ctx.connect(r["listener1"])
    S = ctx.connect(r["sender"])
    t = new_type()
    reg = L.register(t, style=pc.UNIDIRECTIONAL, client_state=b"\x01state")
    cid = open_for(ctx, S, t, pc.UNIDIRECTIONAL, r)
    seq, rec = S.send(cid, b"toner low")
    eq((seq, rec), (1, 1), "Sent(sequence, recipients)")
    n = event(L, "notify")
    eq(n.registration, reg.handle, "Notify.registration")
    eq(n.conversation_id, 0, "Notify.conversation_id (unidirectional)")
    eq(n.channel_id, cid, "Notify.channel_id")
    eq(n.sequence, 1, "Notify.sequence")
    eq(n.notification_type, t, "Notify.notification_type")
    eq(n.style, pc.UNIDIRECTIONAL, "Notify.style")
    eq(n.sender_user, r["sender"], "SenderInfo.user")
    eq(n.job_id, 42 if r["on_behalf"] else 0, "SenderInfo.job_id")
    eq(n.job_owner, r["on_behalf"] or "", "SenderInfo.job_owner")
    eq(n.target_printer, None, "Notify.target is the server")
    eq(n.payload, b"toner low", "payload")
    eq(n.client_state, b"\x01state", "client_state echoed")
    eq(S.send(cid, b"second"), (2, 1), "second Sent")
    eq(event(L, "notify").sequence, 2, "second Notify in sequence")
    # a registration made after the Sends gets none of them ([PANP-UNI-2]) but
    # does get the ChannelClosed ([PANP-UNI-5])
    L2 = ctx.connect(r["listener1"])
    late = L2.register(t, style=pc.UNIDIRECTIONAL)
    eq(S.close_channel(channel_id=cid), "CLOSED", "sender's close")
    cc2 = event(L2, "closed")
    eq((cc2.channel_id, cc2.registration, cc2.reason_name), (cid, late.handle, "CLOSED_BY_SENDER"), "late listener")
    no_event(L2, "notify", what="Notify of a Send made before the registration")
    cc = event(L, "closed")
    eq((cc.channel_id, cc.conversation_id, cc.registration), (cid, 0, reg.handle), "ChannelClosed ids")
    eq(cc.reason_name, "CLOSED_BY_SENDER", "ChannelClosed.reason")
    check(not cc.release, "no NOTIFICATION_RELEASE on a sender's close")
    expect_error(lambda: S.send(cid, b"late"), "CHANNEL_ALREADY_CLOSED", "send.channel_id")
    expect_error(lambda: S.send(123456789, b"x", notification_type=t), "CHANNEL_NOT_OPENED", "send.channel_id")
    expect_error(lambda: S.send(cid, b"x", notification_type=new_type()), "CHANNEL_ALREADY_CLOSED")


@test("delivery-per-user", bindings=("tcp",))
def t_delivery(ctx):
    alice, bob, sysadm = ctx.connect("alice"), ctx.connect("bob"), ctx.connect("sys")
    lp, mail = ctx.connect("lp"), ctx.connect("mail")
    t = new_type()
    ra = alice.register(t)
    bob.register(t)
    rs = sysadm.register(t)
    # lp's own per-user channel addresses lp: only the administrator receives it
    c1 = lp.open_channel(t)
    eq(lp.send(c1, b"for lp")[1], 1, "recipients of lp's per-user channel (sys only)")
    # mail acting for alice's job: alice (row 3) and sys (row 5), never bob (row 6)
    c2 = mail.open_channel(t, job_id=42, job_owner="alice")
    eq(mail.send(c2, b"for alice")[1], 2, "recipients of a channel addressed to alice")
    barrier(lp, mail, alice, bob, sysadm)
    eq([e.payload for e in alice.pending_events("notify")], [b"for alice"], "alice's notifications")
    eq(sorted(e.payload for e in sysadm.pending_events("notify")), [b"for alice", b"for lp"], "the admin's")
    no_event(bob, "notify", what="notification to bob (PER_USER, not addressed)")
    check(event(alice, "notify").registration == ra.handle, "alice's handle")
    check(all(e.registration == rs.handle for e in sysadm.pending_events("notify")), "sys's handle")
    expect_error(lambda: bob.open_channel(t), "ACCESS_DENIED", "open_channel")
    expect_error(lambda: lp.open_channel(t, job_owner="alice"), "ACCESS_DENIED", "open_channel.on_behalf_of")
    expect_error(lambda: lp.open_channel(t, user_filter=pc.ALL_USERS), "ACCESS_DENIED", "open_channel.user_filter")
    # a session label narrows row 3 only
    alice2 = ctx.connect("alice", session_label="s1")
    alice2.register(t)
    c3 = mail.open_channel(t, job_id=43, job_owner="alice", job_session_label="s2")
    eq(mail.send(c3, b"s2 only")[1], 2, "recipients: alice without label, sys; not alice/s1")


@test("bidirectional-first-responder")
def t_bidi(ctx):
    r = roles(ctx)
    L1, L2 = ctx.connect(r["listener1"]), ctx.connect(r["listener2"])
    S = ctx.connect(r["sender"])
    t = new_type()
    g1 = L1.register(t, style=pc.BIDIRECTIONAL)
    g2 = L2.register(t, style=pc.BIDIRECTIONAL)
    cid = open_for(ctx, S, t, pc.BIDIRECTIONAL, r)
    eq(S.send(cid, b"which tray?"), (1, 2), "question offered to both")
    n1, n2 = event(L1, "notify"), event(L2, "notify")
    check(n1.conversation_id and n2.conversation_id and n1.conversation_id != n2.conversation_id,
          "each listener has its own conversation id")
    eq((n1.registration, n2.registration), (g1.handle, g2.handle), "handles")
    expect_error(lambda: S.send(cid, b"again?"), "AWAITING_REPLY", "send.channel_id")
    L1.reply(n1.conversation_id, b"tray 2")  # first responder
    rd = event(S, "reply")
    eq((rd.channel_id, rd.sequence, rd.responder, rd.payload), (cid, 1, r["responder"], b"tray 2"), "ReplyDelivery")
    lost = event(L2, "closed")
    eq((lost.reason_name, lost.conversation_id, lost.registration), ("ANSWERED_BY_ANOTHER", n2.conversation_id, g2.handle),
       "loser's ChannelClosed")
    check(not lost.release, "no release for ANSWERED_BY_ANOTHER")
    # the loser's late answer and close: a Reply fails, a close succeeds (CLI-10)
    expect_error(lambda: L2.reply(n2.conversation_id, b"tray 1"), "CHANNEL_ALREADY_CLOSED", "reply.conversation_id")
    eq(L2.close_channel(conversation_id=n2.conversation_id), "ACQUIRED_BY_ANOTHER", "loser's close")
    # the dialog continues with the winner alone, even after it unregistered ([PANP-REG-17])
    L1.unregister(g1.handle)
    eq(S.send(cid, b"color?"), (2, 1), "second question to the winner only")
    n = event(L1, "notify")
    eq((n.conversation_id, n.sequence), (n1.conversation_id, 2), "same conversation, next sequence")
    L1.reply(n1.conversation_id, b"mono")
    eq(event(S, "reply").sequence, 2, "ReplyDelivery.sequence of the question answered")
    expect_error(lambda: L1.reply(n1.conversation_id, b"extra"), "NO_PENDING_QUESTION", "reply.conversation_id")
    expect_error(lambda: L1.reply(n1.conversation_id, b"x", notification_type=new_type()), "TYPE_MISMATCH",
                 "reply.notification_type")
    barrier(S, L2)
    no_event(L2, "notify", what="Notify to the loser")
    eq(L1.close_channel(conversation_id=n1.conversation_id, reason_payload=b"bye"), "CLOSED", "winner's close")
    cc = event(S, "closed")
    eq((cc.reason_name, cc.payload, cc.notification_type, cc.conversation_id), ("CLOSED_BY_LISTENER", b"bye", t, 0),
       "sender's ChannelClosed")
    check(cc.sender_side, "sender side")
    expect_error(lambda: S.send(cid, b"late"), "CHANNEL_ALREADY_CLOSED")
    eq(S.close_channel(channel_id=cid), "ALREADY_CLOSED", "closing a closed channel is a successful close")


@test("bidirectional-late-listener-and-withdraw")
def t_bidi_late(ctx):
    r = roles(ctx)
    S = ctx.connect(r["sender"])
    L1, L2 = ctx.connect(r["listener1"]), ctx.connect(r["listener2"])
    t = new_type()
    cid = open_for(ctx, S, t, pc.BIDIRECTIONAL, r)
    eq(S.send(cid, b"anyone?"), (1, 0), "nobody registered yet: 0 recipients is success")
    g1 = L1.register(t, style=pc.BIDIRECTIONAL)  # offered at once (BIDI-3)
    n1 = event(L1, "notify")
    eq((n1.registration, n1.sequence, n1.payload), (g1.handle, 1, b"anyone?"), "late offer")
    eq(L1.close_channel(conversation_id=n1.conversation_id), "WITHDRAWN", "close without a reason withdraws")
    # an Unregister closes an OFFERED conversation first ([PANP-REG-16])
    L3 = ctx.connect(r["listener1"])
    g3 = L3.register(t, style=pc.BIDIRECTIONAL)
    n3 = event(L3, "notify")
    L3.unregister(g3.handle)
    cc3 = L3.wait_event(None, 0, kind="closed")  # already delivered: it precedes the Ok
    check(cc3 is not None, "ChannelClosed(UNREGISTERED) before the Ok of Unregister")
    eq((cc3.conversation_id, cc3.reason_name), (n3.conversation_id, "UNREGISTERED"), "ChannelClosed")
    L2.register(t, style=pc.BIDIRECTIONAL)
    n2 = event(L2, "notify")
    L2.close_channel(conversation_id=n2.conversation_id, reason_payload=b"no")  # wins and closes
    cc = event(S, "closed")
    eq((cc.reason_name, cc.payload), ("CLOSED_BY_LISTENER", b"no"), "sender sees the reason")


def start_child(ctx, t_uni, t_bidi, r):
    tok = ctx.b.tokens[r["sender"]] if ctx.binding == "tcp" else "-"
    addr = ctx.b.unix if ctx.binding == "unix" else ctx.b.tcp
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "gen", "py"))
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child-sender", addr, tok,
                          str(uuid.UUID(bytes=t_uni)), str(uuid.UUID(bytes=t_bidi)), r["on_behalf"] or "-"],
                         stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline().split()
    if len(line) != 4:
        p.kill()
        raise Failed(f"child sender failed: {line}")
    return p, [int(x) for x in line]


@test("release-when-sender-killed")
def t_release_sender(ctx):
    r = roles(ctx)
    L = ctx.connect(r["listener1"])
    tu, tb = new_type(), new_type()
    gu = L.register(tu, style=pc.UNIDIRECTIONAL)
    gb = L.register(tb, style=pc.BIDIRECTIONAL)
    p, (cu, cb, ru, rb) = start_child(ctx, tu, tb, r)
    try:
        eq((ru, rb), (1, 1), "child's recipients")
        nu = event(L, "notify", lambda e: e.channel_id == cu)
        nb = event(L, "notify", lambda e: e.channel_id == cb)
        eq((nu.registration, nb.registration), (gu.handle, gb.handle), "handles")
        p.send_signal(signal.SIGKILL)
        p.wait()
        for ch, conv, h in ((cu, 0, gu.handle), (cb, nb.conversation_id, gb.handle)):
            cc = event(L, "closed", lambda e, ch=ch: e.channel_id == ch, f"ChannelClosed for channel {ch}")
            eq(cc.reason_name, "PEER_GONE", "reason")
            check(cc.release, "type NOTIFICATION_RELEASE")
            check(not cc.synthesized, "sent by the broker")
            eq((cc.conversation_id, cc.registration, cc.payload), (conv, h, b""), "ChannelClosed fields")
        expect_error(lambda: L.reply(nb.conversation_id, b"too late", notification_type=tb), "CHANNEL_ALREADY_CLOSED")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@test("release-when-winner-dies")
def t_release_winner(ctx):
    r = roles(ctx)
    S = ctx.connect(r["sender"])
    W = ctx.connect(r["listener1"])
    t = new_type()
    W.register(t, style=pc.BIDIRECTIONAL)
    cid = open_for(ctx, S, t, pc.BIDIRECTIONAL, r)
    S.send(cid, b"q")
    n = event(W, "notify")
    W.reply(n.conversation_id, b"a")
    event(S, "reply")
    W.abort()  # the winner's connection ends without Goodbye
    cc = event(S, "closed")
    eq((cc.channel_id, cc.reason_name, cc.release), (cid, "PEER_GONE", True), "sender's ChannelClosed")
    # the dead client itself reported its conversation lost ([PANP-CLI-12])
    lc = event(W, "closed")
    eq((lc.conversation_id, lc.reason_name, lc.release, lc.synthesized), (n.conversation_id, "PEER_GONE", True, True),
       "locally reported loss")
    event(W, "registration_ended")


@test("polite-disconnect")
def t_polite(ctx):
    r = roles(ctx)
    L = ctx.connect(r["listener1"])
    S = ctx.connect(r["sender"])
    t = new_type()
    L.register(t)
    cid = open_for(ctx, S, t, pc.UNIDIRECTIONAL, r)
    S.disconnect()  # CloseChannel first ([PANP-CLI-15]), then Goodbye
    cc = event(L, "closed")
    eq((cc.channel_id, cc.reason_name, cc.release), (cid, "CLOSED_BY_SENDER", False), "listener's ChannelClosed")
    ev = event(S, "connection")
    eq(ev.state, "closed", "connection state after disconnect")


@test("lease-expiry")
def t_lease(ctx):
    r = roles(ctx)
    L = ctx.connect(r["listener1"])
    S = ctx.connect(r["sender"])
    t = new_type()
    g = L.register(t, style=pc.BIDIRECTIONAL, lease_seconds=1)
    eq(g.lease_seconds, 1, "granted lease")
    start = time.monotonic()
    cid = open_for(ctx, S, t, pc.BIDIRECTIONAL, r)
    S.send(cid, b"q")
    n = event(L, "notify")
    cc = event(L, "closed")
    ended = event(L, "registration_ended")
    took = time.monotonic() - start
    eq((cc.conversation_id, cc.reason_name, cc.release), (n.conversation_id, "LEASE_EXPIRED", False),
       "offered conversation closed by the lease")
    eq((ended.handle, ended.reason_name), (g.handle, "LEASE_EXPIRED"), "RegistrationEnded")
    check(0.9 <= took <= 2.5, f"lease of 1 s ended after {took:.2f} s")
    expect_error(lambda: L.renew(g.handle, 5), "NOT_FOUND", "renew.handle")
    eq(S.close_channel(channel_id=cid), "CLOSED", "the channel stayed open for others")


@test("keepalive")
def t_keepalive(ctx):
    user = None if ctx.binding == "unix" else "bob"
    c = ctx.connect(user)
    time.sleep(c.limits.keepalive_timeout_ms / 1000.0 + 0.7)  # idle past the broker's timeout
    check(not c.ended, f"connection ended while idle: {c.lost_reason}")
    no_event(c, "connection")
    c.ping()


@test("local-refusals", bindings=("unix",))
def t_local(ctx):
    c = ctx.connect()
    for fn in (lambda: c.register(pc.NOTIFICATION_RELEASE), lambda: c.open_channel(pc.NOTIFICATION_RELEASE)):
        try:
            fn()
            raise Failed("NOTIFICATION_RELEASE sent")
        except pc.LocalError as e:
            eq(e.name, "INVALID_ARGUMENT", "local refusal")
    cid = c.open_channel(new_type())
    try:
        c.send(cid, b"x" * (pc.MAX_PAYLOAD + 1))
        raise Failed("oversized payload sent")
    except pc.LocalError:
        pass
    for bad in ("tcp:127.0.0.1", "tcp:::1:80", "tcp:[::1]", "unix:", "tcp:host:0", "tcp:host:65536", "udp:x:1"):
        try:
            pc.parse_address(bad)
            raise Failed(f"address {bad!r} accepted")
        except pc.LocalError as e:
            eq(e.name, "INVALID_ADDRESS", bad)
    try:
        pc.Connection.connect("tls:127.0.0.1:6310")
        raise Failed("tls: accepted")
    except pc.LocalError as e:
        eq(e.name, "UNSUPPORTED", "tls refused")
    eq(pc.parse_address("tcp:[::1]:6310"), ("tcp", "::1", 6310), "IPv6 literal")
    c.ping()


@test("server-shutdown", bindings=("unix",))
def t_shutdown(ctx):
    """Last: SIGTERM panpd; both sides of an open channel see SERVER_SHUTDOWN
    with NOTIFICATION_RELEASE, then Goodbye; panpd exits 0."""
    L = ctx.connect()
    S = ctx.connect()
    t = new_type()
    g = L.register(t, style=pc.BIDIRECTIONAL)
    cid = S.open_channel(t, style=pc.BIDIRECTIONAL)
    S.send(cid, b"q")
    n = event(L, "notify")
    ctx.b.proc.send_signal(signal.SIGTERM)
    for c, side in ((L, "listener"), (S, "sender")):
        cc = event(c, "closed", lambda e: not e.synthesized, f"{side}'s ChannelClosed")
        eq((cc.channel_id, cc.reason_name, cc.release), (cid, "SERVER_SHUTDOWN", True), f"{side}'s ChannelClosed")
        if side == "listener":
            eq((cc.conversation_id, cc.registration), (n.conversation_id, g.handle), "listener side ids")
        ev = event(c, "connection")
        check("SERVER_SHUTDOWN" in (ev.message or ""), f"{side} saw Goodbye(SERVER_SHUTDOWN): {ev.message}")
    eq(ctx.b.proc.wait(10), 0, "panpd's exit status")


# ---------------------------------------------------------------------------

def main():
    only = None
    if "-k" in sys.argv:
        only = sys.argv[sys.argv.index("-k") + 1]
    broker = Broker()
    passed = failed = 0
    try:
        for name, binding, fn in TESTS:
            if only and only not in name:
                continue
            if broker.proc.poll() is not None:
                print(f"FAIL  {name}: panpd is not running (exit {broker.proc.returncode})")
                failed += 1
                continue
            ctx = Ctx(broker, binding)
            start = time.monotonic()
            err = None
            try:
                fn(ctx)
            except Failed as e:
                err = str(e)
            except (pc.PanpError, pc.LocalError) as e:
                err = f"unexpected {e.__class__.__name__}: {e}"
            except Exception:
                err = traceback.format_exc()
            findings = ctx.finish()
            if err is None and findings:
                err = "panpd broke the SPEC on the wire:\n    " + "\n    ".join(findings)
            ms = (time.monotonic() - start) * 1000
            if err is None:
                passed += 1
                print(f"PASS  {name}  ({ms:.0f} ms)")
            else:
                failed += 1
                print(f"FAIL  {name}  ({ms:.0f} ms)\n      {err}")
    finally:
        if failed or VERBOSE:
            broker.log.seek(0)
            text = broker.log.read()
            if text.strip():
                print("---- panpd log ----\n" + text[-4000:])
        broker.stop()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
