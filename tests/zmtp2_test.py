#!/usr/bin/python3
"""Clients on older ZeroMQ (libzmq 3.x/4.0, JeroMQ 0.3) speak ZMTP 2.0, and keep working.

libzmq 4.3.4 cancels its handshake timer (ZMQ_HANDSHAKE_IVL) only after a ZMTP 3 handshake, so
a relay that set it on a side without CURVE cut every ZMTP 2.0 connection that long after it
was made, and lost what was in flight. A raw ZMTP 2.0 producer (PUSH) and subscriber (SUB),
tests/zmtp_client.py's Zmtp2Peer, stay connected to a relay on the default
security.handshake_timeout_ms (5 s) for 30 s with a message every few milliseconds: every
message arrives, in order, and neither connection is cut. Run by CTest like relay_test.py.
"""
import threading
import time
import unittest

from zmtp_client import ZMTP2_PUSH, ZMTP2_SUB, Zmtp2Peer
from relay_test import Daemon, free_tcp_ports, scrape, unstamped, v1_message, wait_for

# The figure: six times the default handshake deadline.
CONNECTED_SECONDS = 30.0
SEND_INTERVAL = 0.002


class Zmtp2Test(unittest.TestCase):

    def setUp(self):
        self.in_port, self.out_port, self.metrics_port = free_tcp_ports(3)
        self.daemon = Daemon({
            "ingress": {"bind": [f"tcp://127.0.0.1:{self.in_port}"]},
            "egress": {"bind": [f"tcp://127.0.0.1:{self.out_port}"]},
            "metrics": {"listen": f"127.0.0.1:{self.metrics_port}"},
        })
        self.peers = []
        self.assertTrue(self.daemon.wait_ready(), self.daemon.stderr_text())

    def tearDown(self):
        for peer in self.peers:
            peer.close()
        self.daemon.stop()

    def peer(self, port, socket_type):
        peer = Zmtp2Peer(port, socket_type)
        self.peers.append(peer)
        return peer

    def test_a_zmtp2_producer_and_subscriber_lose_nothing_past_the_handshake_deadline(self):
        sub = self.peer(self.out_port, ZMTP2_SUB)
        sub.subscribe(b"legacy")
        self.assertTrue(wait_for(
            lambda: scrape(self.metrics_port).get("zrelay_subscriptions") == 1, 10),
            "the ZMTP 2.0 subscription did not reach the relay")
        push = self.peer(self.in_port, ZMTP2_PUSH)
        connected = time.monotonic()

        sent = []
        failure = []
        def produce():
            try:
                while time.monotonic() - connected < CONNECTED_SECONDS:
                    body = v1_message(topic="legacy", content=str(len(sent)))
                    sent.append(body)  # before it goes: it may arrive before send returns
                    push.send_message([body])
                    time.sleep(SEND_INTERVAL)
            except OSError as error:
                failure.append(f"the producer was cut {time.monotonic() - connected:.1f} s "
                               f"after connecting, {len(sent)} messages in: {error!r}")
        producer = threading.Thread(target=produce)
        producer.start()

        received = 0
        try:
            # Until the producer is done and everything it sent has come out; a cut subscriber
            # reads end-of-file (ConnectionError), a stuck one times out (30 s a message).
            while not failure:
                done = not producer.is_alive()
                if received == len(sent):
                    if done:
                        break
                    time.sleep(SEND_INTERVAL)  # the next message is not sent yet
                    continue
                topic, body = sub.recv_message()
                self.assertEqual(topic, b"legacy")
                self.assertEqual(unstamped(body), sent[received],
                                 f"message {received} is not the one sent {received}th")
                received += 1
        except OSError as error:
            self.fail(f"the subscriber was cut {time.monotonic() - connected:.1f} s after the "
                      f"producer connected, {received} of {len(sent)} messages in: {error!r}")
        finally:
            producer.join()
        self.assertFalse(failure, failure)
        self.assertGreater(len(sent), 1000)  # a steady stream, not a trickle
        self.assertEqual(received, len(sent))
        self.assertTrue(push.is_open(), "the relay closed the producer's connection")
        self.assertTrue(sub.is_open(), "the relay closed the subscriber's connection")
        metrics = scrape(self.metrics_port)
        self.assertEqual(metrics["zrelay_messages_published_total"], len(sent))


if __name__ == "__main__":
    unittest.main(verbosity=2)
