"""A raw ZMTP 3.0 client for tests and tools that need to send what no zmq library would
(endless continuation frames), and reading a process's RSS. Standard library only."""
import socket


def zmtp_null_push(port, socket_type=b"PUSH"):
    """A raw TCP client that completes a ZMTP 3.0 NULL handshake as a PUSH (or `socket_type`)
    socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
              + b"\x00" * 32)
    ready = b"\x05READY" + b"\x0bSocket-Type" + len(socket_type).to_bytes(4, "big") + socket_type
    s.sendall(b"\x04" + bytes([len(ready)]) + ready)
    # Data may follow only once the handshake is done both ways: the relay's greeting and READY.
    def read_exactly(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the relay closed the connection during the handshake")
            data += chunk
        return data
    read_exactly(64)
    flags, size = read_exactly(2)
    assert flags == 0x04, flags  # a short command: READY
    read_exactly(size)
    return s


def rss_bytes(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def send_until_cut(sock, frame, limit_bytes):
    """Sends `frame` over and over until the peer drops the connection or `limit_bytes` went
    out; returns the bytes sent and whether the connection was dropped."""
    sent = 0
    try:
        while sent < limit_bytes:
            sock.sendall(frame)
            sent += len(frame)
    except (ConnectionResetError, BrokenPipeError):
        return sent, True
    return sent, False

