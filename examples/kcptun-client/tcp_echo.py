"""A TCP echo server on 127.0.0.1 for the kcptun-client example's test: prints its port once
it listens, then echoes every connection until the peer closes it."""
import socket
import threading


def echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=echo, args=(conn,), daemon=True).start()
