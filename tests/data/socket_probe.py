# Python's sockets under `tcpka exec`: socket.socket() passes SOCK_CLOEXEC to socket(2).
import socket

for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname()[:2])
    accepted, _ = listener.accept()
    for name, s in (("client", client), ("accepted", accepted)):
        print(name, "keepalive=%d idle=%d ut=%d" % (
            s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("udp keepalive=%d" % udp.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
