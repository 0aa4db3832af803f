#!/usr/bin/env python3
"""Captures the seeds of fuzz/corpus/ that come from this kernel, as root.

  fuzz/tools/capture_seeds.py frames     captured_packet_fuzzer and packet_trace_fuzzer:
                                         frames libpcap-style (AF_PACKET on lo) of TCP
                                         connections with keepalive probes, a reset, and
                                         ICMP unreachables (one made to quote TCP)
  fuzz/tools/capture_seeds.py sock_diag  sock_diag_fuzzer: NETLINK_SOCK_DIAG dump replies
                                         for a few loopback sockets, in a network namespace
                                         of its own (unshare -n), so that only they appear

Everything stays on loopback. Seeds go to fuzz/corpus/<target>/, named for what they are.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus')


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), 'wb') as f:
        f.write(data)


def frames():
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
    cap.bind(('lo', 0))
    cap.settimeout(0.2)
    captured, stop = [], threading.Event()

    def capture():
        while not stop.is_set():
            try:
                data, address = cap.recvfrom(65535)
            except socket.timeout:
                continue
            if address[2] != socket.PACKET_OUTGOING:  # lo shows each packet twice
                captured.append(data)

    thread = threading.Thread(target=capture)
    thread.start()
    time.sleep(0.3)

    def during(action):
        start = len(captured)
        action()
        time.sleep(0.2)
        return captured[start:]

    def conversation(family, host):
        server = socket.socket(family, socket.SOCK_STREAM)
        server.bind((host, 0))
        server.listen(1)
        client = socket.socket(family, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        client.connect(server.getsockname()[:2])
        accepted, _ = server.accept()
        client.sendall(b'hello')
        accepted.recv(5)
        accepted.sendall(b'hello')
        client.recv(5)
        time.sleep(2.5)  # two keepalive probes and their answers
        accepted.close()
        client.recv(1)
        client.close()
        server.close()

    def reset(family, host):
        server = socket.socket(family, socket.SOCK_STREAM)
        server.bind((host, 0))
        server.listen(1)
        client = socket.socket(family, socket.SOCK_STREAM)
        client.connect(server.getsockname()[:2])
        accepted, _ = server.accept()
        accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        accepted.close()
        time.sleep(0.1)
        client.close()
        server.close()

    def unreachable(family, host):
        closed = socket.socket(family, socket.SOCK_DGRAM)
        closed.bind((host, 0))
        port = closed.getsockname()[1]
        closed.close()
        sender = socket.socket(family, socket.SOCK_DGRAM)
        sender.sendto(b'x', (host, port))
        time.sleep(0.1)
        sender.close()

    v4 = during(lambda: conversation(socket.AF_INET, '127.0.0.1'))
    v6 = during(lambda: conversation(socket.AF_INET6, '::1'))
    v4_reset = during(lambda: reset(socket.AF_INET, '127.0.0.1'))
    v4_icmp = during(lambda: unreachable(socket.AF_INET, '127.0.0.1'))
    v6_icmp = during(lambda: unreachable(socket.AF_INET6, '::1'))
    stop.set()
    thread.join()

    def protocol(frame):
        return frame[14 + 9] if frame[12:14] == b'\x08\x00' else frame[14 + 6]

    def only(frames_, protocols):
        return [f for f in frames_ if f[12:14] in (b'\x08\x00', b'\x86\xdd') and
                protocol(f) in protocols]

    v4, v6, v4_reset = only(v4, {6}), only(v6, {6}), only(v4_reset, {6})
    v4_icmp, v6_icmp = only(v4_icmp, {1}), only(v6_icmp, {58})

    def tcp_flags(frame):
        ip = 14
        tcp = ip + ((frame[ip] & 15) * 4 if frame[12:14] == b'\x08\x00' else 40)
        return frame[tcp + 13]

    names = {0x02: 'syn', 0x12: 'syn_ack', 0x10: 'ack', 0x18: 'psh_ack', 0x11: 'fin_ack',
             0x14: 'rst_ack', 0x04: 'rst'}
    seen = set()
    for family, frames_ in (('v4', v4 + v4_reset), ('v6', v6)):
        for frame in frames_:
            name = f"{family}_{names.get(tcp_flags(frame), 'flags_%02x' % tcp_flags(frame))}"
            if name not in seen:
                seen.add(name)
                put('captured_packet_fuzzer', name, frame)
    put('captured_packet_fuzzer', 'v4_icmp_unreachable_udp', v4_icmp[0])
    put('captured_packet_fuzzer', 'v6_icmp_unreachable_udp', v6_icmp[0])
    # As the lab's router sends it: the unreachable quoting TCP (protocol, ports, sequence).
    quoting_tcp = bytearray(v4_icmp[0])
    quoted = 14 + 20 + 8
    quoting_tcp[quoted + 9] = 6
    quoting_tcp[quoted + 10:quoted + 12] = b'\0\0'
    quoting_tcp[quoted + 20:quoted + 28] = struct.pack('>HHI', 7001, 45678, 0x12345678)
    put('captured_packet_fuzzer', 'v4_icmp_unreachable_tcp', bytes(quoting_tcp))

    def capture_file(frames_):  # packet_trace_fuzzer's input: 2-byte length, frame, ...
        return b''.join(struct.pack('>H', len(f)) + f for f in frames_)

    put('packet_trace_fuzzer', 'v4_keepalive_conversation', capture_file(v4))
    put('packet_trace_fuzzer', 'v6_keepalive_conversation', capture_file(v6))
    put('packet_trace_fuzzer', 'v4_reset', capture_file(v4_reset))
    put('packet_trace_fuzzer', 'v4_icmp_in_conversation',
        capture_file(v4[:4] + [bytes(quoting_tcp)] + v4[4:6]))


def sock_diag():
    if os.environ.get('TCPKA_SEEDS_UNSHARED') != '1':
        os.execvpe('unshare', ['unshare', '-n', sys.executable, __file__, 'sock_diag'],
                   dict(os.environ, TCPKA_SEEDS_UNSHARED='1'))
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    held = []
    for family, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
        server = socket.socket(family, socket.SOCK_STREAM)
        server.bind((host, 0))
        server.listen(4)
        client = socket.socket(family, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # a keepalive timer
        client.connect(server.getsockname()[:2])
        accepted, _ = server.accept()
        ending = socket.socket(family, socket.SOCK_STREAM)  # one left in TIME_WAIT
        ending.connect(server.getsockname()[:2])
        ending_accepted, _ = server.accept()
        ending.close()
        ending_accepted.close()
        held += [server, client, accepted]
    time.sleep(0.1)
    netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    netlink.bind((0, 0))

    def dump(family, protocol=socket.IPPROTO_TCP):
        # inet_diag_req_v2 (every state) after a header: SOCK_DIAG_BY_FAMILY, request + dump,
        # sequence 1 as tcpka's requests have it.
        body = struct.pack('=BBBBI', family, protocol, 0, 0, 0xffffffff) + b'\0' * 48
        netlink.send(struct.pack('=IHHII', 16 + len(body), 20, 0x1 | 0x300, 1, 0) + body)
        replies = []
        while True:
            reply = netlink.recv(8192)
            replies.append(reply)
            at, ended = 0, False
            while at + 16 <= len(reply):
                length, kind = struct.unpack_from('=IH', reply, at)
                ended |= kind in (2, 3)  # NLMSG_ERROR, NLMSG_DONE
                at += (length + 3) & ~3
            if ended:
                return replies

    for name, family in (('v4', socket.AF_INET), ('v6', socket.AF_INET6)):
        for i, reply in enumerate(dump(family)):
            put('sock_diag_fuzzer', f'{name}_dump_reply_{i}', reply)
    # A protocol without a handler: this kernel ends the dump with NLMSG_DONE and -ENOENT.
    put('sock_diag_fuzzer', 'done_with_enoent', dump(socket.AF_INET, protocol=255)[0])


if __name__ == '__main__':
    commands = {'frames': frames, 'sock_diag': sock_diag}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()
