# A small threaded echo server, as a user might write one, for the lab's black-box mode.
#   python3 echo_server.py PORT [--keepalive IDLE INTERVAL COUNT]
import socket
import sys
import threading


def serve(connection):
    with connection:
        while True:
            try:
                data = connection.recv(4096)
            except OSError:
                return  # ETIMEDOUT, ECONNRESET: the peer is gone
            if not data:
                return
            connection.sendall(data)


def main():
    port = int(sys.argv[1])
    keepalive = sys.argv[3:6] if len(sys.argv) == 6 and sys.argv[2] == "--keepalive" else None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(16)
    while True:
        connection, _ = listener.accept()
        if keepalive:
            idle, interval, count = (int(v) for v in keepalive)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main()
