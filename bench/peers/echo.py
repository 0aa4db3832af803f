# An echo server as a Python user writes one: asyncio streams, keepalive set on each
# accepted socket. Usage: python3 echo.py PORT IDLE_SECONDS
import asyncio
import socket
import sys

PORT, IDLE = int(sys.argv[1]), int(sys.argv[2])


async def echo(reader, writer):
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, IDLE)
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", PORT, backlog=4096)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
