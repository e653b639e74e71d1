"""Raw ZMTP clients for tests and tools: a ZMTP 3.0 one that sends what no zmq library would
(endless continuation frames), a ZMTP 2.0 peer speaking as libzmq 3.x/4.0 and JeroMQ 0.3 do, and
reading a process's RSS. Standard library only."""
import select
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


# ZMTP 2.0 socket types (RFC 15), the numbers libzmq's ZMQ_* constants still have.
ZMTP2_SUB = 2
ZMTP2_PUSH = 8


class Zmtp2Peer:
    """A ZMTP 2.0 peer (RFC 15) over a plain TCP socket: the 12-byte greeting (signature,
    revision 0x01, socket type), an empty identity frame, then frames of a flags byte (0x01
    MORE, 0x02 LONG), a 1- or 8-byte size and the body. A subscription is a message whose first
    byte is 0x01, followed by the prefix."""

    def __init__(self, port, socket_type, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = bytearray()
        # The padding is the identity's size + 1, big-endian, as libzmq 3.x sent it for ZMTP
        # 1.0 peers; the last signature byte, 0x7F, has bit 0 set: a versioned greeting.
        self.sock.sendall(b"\xff" + (1).to_bytes(8, "big") + b"\x7f" + b"\x01"
                          + bytes([socket_type]) + b"\x00\x00")
        greeting = self._read(12)
        if greeting[0] != 0xFF or not greeting[9] & 0x01:
            raise ConnectionError(f"not a versioned ZMTP greeting: {bytes(greeting)!r}")
        self.peer_identity = self.recv_message()

    def _read(self, n):
        while len(self._buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the peer closed the connection")
            self._buffer += chunk
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def send_message(self, frames):
        out = bytearray()
        for i, body in enumerate(frames):
            more = 0x01 if i + 1 < len(frames) else 0
            if len(body) < 256:
                out += bytes([more, len(body)])
            else:
                out += bytes([more | 0x02]) + len(body).to_bytes(8, "big")
            out += body
        self.sock.sendall(out)

    def recv_message(self):
        """The next message's frames; ConnectionError if the peer closes first."""
        frames = []
        while True:
            flags = self._read(1)[0]
            size = int.from_bytes(self._read(8 if flags & 0x02 else 1), "big")
            frames.append(self._read(size))
            if not flags & 0x01:
                return frames

    def subscribe(self, prefix):
        self.send_message([b"\x01" + prefix])

    def is_open(self):
        """True unless the peer has closed or reset the connection (nothing it sent is lost:
        the check only peeks)."""
        # Not recv(MSG_DONTWAIT) alone: a socket with a timeout waits for data all the same.
        if not select.select([self.sock], [], [], 0)[0]:
            return True
        try:
            return self.sock.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def close(self):
        self.sock.close()


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

