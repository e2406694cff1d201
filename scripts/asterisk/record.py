#!/usr/bin/env python3
"""Record what floorwatch's asterisk source receives from a real Asterisk, byte for byte.

Two AMI connections to 127.0.0.1:15038 (scripts/asterisk/etc/manager.conf):
- the recorder logs in exactly as floorwatch does (ActionID fw-login, Events: on, then
  QueueStatus with ActionID fw-status) and writes every byte it receives to OUT;
- the driver plays a floor: pauses with reasons, calls answered with wrap-up (queue
  wrapuptime 5 s, a member's own Wrapuptime 2 s), a pause during wrap-up, callers who
  abandon, one whose wait times out (left), a member removed.

OUT can then be replayed by the fake AMI server of tests/asterisk.rs. Bounded: every wait
has a deadline; the whole run stops after ~150 s. Usage: record.py OUT [SECRET]
"""
import socket
import sys
import time

HOST, PORT = "127.0.0.1", 15038
OUT = sys.argv[1]
SECRET = sys.argv[2] if len(sys.argv) > 2 else "fwtest"
T0 = time.time()
HARD_STOP = T0 + 150


class Conn:
    def __init__(self, record=None):
        self.s = socket.create_connection((HOST, PORT), timeout=5)
        self.s.settimeout(0.2)
        self.buf = b""
        self.record = record

    def send(self, action, **kw):
        wire = "\r\n".join([f"Action: {action}"] + [f"{k}: {v}" for k, v in kw.items()]) + "\r\n\r\n"
        self.s.sendall(wire.encode())

    def pump(self, until):
        """Reads until `until`; returns the messages (dicts) read."""
        got = []
        while time.time() < min(until, HARD_STOP):
            try:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                if self.record:
                    self.record.write(chunk)
                    self.record.flush()
                self.buf += chunk
            except socket.timeout:
                pass
            while b"\r\n\r\n" in self.buf:
                raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
                d = {}
                for ln in raw.decode("utf-8", "replace").split("\r\n"):
                    if ": " in ln:
                        k, v = ln.split(": ", 1)
                        d.setdefault(k, v)
                got.append(d)
        return got


rec = Conn(open(OUT, "wb"))
drv = Conn()


def wait_for(pred, secs):
    """Pumps both connections until the recorder sees a message matching `pred`."""
    deadline = time.time() + secs
    while time.time() < min(deadline, HARD_STOP):
        drv.pump(time.time() + 0.05)
        for d in rec.pump(time.time() + 0.15):
            if pred(d):
                return d
    print("timed out waiting", file=sys.stderr)
    return None


def settle(secs):
    wait_for(lambda d: False, secs)


ev = lambda name: (lambda d: d.get("Event") == name)

rec.send("Login", Username="floorwatch", Secret=SECRET, Events="on", ActionID="fw-login")
wait_for(lambda d: d.get("ActionID") == "fw-login", 5)
rec.send("QueueStatus", ActionID="fw-status")
wait_for(ev("QueueStatusComplete"), 5)
drv.send("Login", Username="floorwatch", Secret=SECRET, Events="off")
settle(0.5)

# agent2 joins, goes to lunch.
drv.send("QueueAdd", Queue="support", Interface="Local/agent2@agents/n", MemberName="Agent Two",
         StateInterface="Local/agent2@agents", Paused="false")
wait_for(ev("QueueMemberAdded"), 5)
drv.send("QueuePause", Interface="Local/agent2@agents/n", Queue="support", Paused="true", Reason="lunch")
wait_for(ev("QueueMemberPause"), 5)

# Caller 1: agent1 answers, talks 4 s; wrap-up 5 s (queue wrapuptime).
drv.send("Originate", Channel="Local/q@callers", Application="Wait", Data="20", Async="true",
         CallerID="Caller One <5550001>")
wait_for(ev("AgentComplete"), 20)
# Caller 2 at once: waits for agent1's wrap-up to end, then agent1 answers.
drv.send("Originate", Channel="Local/q@callers", Application="Wait", Data="20", Async="true",
         CallerID="Caller Two <5550002>")
wait_for(ev("AgentComplete"), 25)
# agent1 pauses during its wrap-up (ends it early), reason training.
settle(1.0)
drv.send("QueuePause", Interface="Local/agent1@agents/n", Queue="support", Paused="true", Reason="training")
wait_for(ev("QueueMemberPause"), 5)

# Caller 3 hangs up after 3 s in the queue: abandoned.
drv.send("Originate", Channel="Local/q@callers", Application="Wait", Data="3", Async="true",
         CallerID="Caller Three <5550003>")
wait_for(ev("QueueCallerAbandon"), 10)
settle(0.5)
# Caller 5's queue wait times out after 3 s: left.
drv.send("Originate", Channel="Local/t@callers", Application="Wait", Data="10", Async="true",
         CallerID="Caller Five <5550005>")
wait_for(ev("QueueCallerLeave"), 10)
settle(1.0)

# agent3 (own Wrapuptime 2 s) unpauses (no reason) and takes caller 6.
drv.send("QueuePause", Interface="Local/agent3@agents/n", Queue="support", Paused="false")
wait_for(ev("QueueMemberPause"), 5)
drv.send("Originate", Channel="Local/q@callers", Application="Wait", Data="20", Async="true",
         CallerID="Caller Six <5550006>")
wait_for(ev("AgentComplete"), 25)
settle(3.0)

# agent2 back from lunch; caller 4 rings agent2 (never answers) and agent3, answered.
drv.send("QueuePause", Interface="Local/agent2@agents/n", Queue="support", Paused="false")
wait_for(ev("QueueMemberPause"), 5)
drv.send("Originate", Channel="Local/q@callers", Application="Wait", Data="20", Async="true",
         CallerID="Caller Four <5550004>")
wait_for(ev("AgentComplete"), 30)
settle(3.0)

# agent2 leaves the queue; agent1 back from training.
drv.send("QueueRemove", Queue="support", Interface="Local/agent2@agents/n")
wait_for(ev("QueueMemberRemoved"), 5)
drv.send("QueuePause", Interface="Local/agent1@agents/n", Paused="false")
wait_for(ev("QueueMemberPause"), 5)
settle(1.0)
drv.send("Logoff")
rec.s.close()
drv.s.close()
print("recorded %s in %.1f s" % (OUT, time.time() - T0))
