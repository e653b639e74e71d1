#!/usr/bin/python3
"""Endpoints at their edges, against the real zrelayd: IPv6 (tcp://[::1]:P and tcp://*:P, bound
and connected), relative ipc paths refused (daemon/endpoint.*, security.*).

Run by CTest (tests/CMakeLists.txt), which sets ZRELAYD and PYTHONPATH (the generated protobuf
modules and tests/, for relay_test's helpers).
"""
import os
import unittest

import zmq

from relay_test import (EXIT_CONFIG, RelayFixture, free_dual_stack_ports, v1_message, v1_pb2,
                        wait_for)

EXIT_WAIT = 10.0  # seconds for zrelayd to exit after SIGTERM


class Ipv6Test(RelayFixture):
    """IPv6 wherever an endpoint is accepted: libzmq needs ZMQ_IPV6 on the socket for an IPv6
    address, and for "*" to take IPv6 clients too."""

    def v6_socket(self, kind):
        sock = self.socket(kind)
        sock.setsockopt(zmq.IPV6, 1)
        return sock

    def relays(self, push, sub, topic, content):
        """`push` sends one message on `topic`; `sub` receives it, unchanged."""
        push.send(v1_message(topic=topic, content=content))
        received, body = self.receive_relayed(sub)
        self.assertEqual(received, topic.encode())
        self.assertEqual(v1_pb2.DataMessage.FromString(body).content, content)

    def test_ipv6_loopback_binds_relay_over_ipv6(self):
        in_port, out_port = free_dual_stack_ports(2)
        ingress, egress = f"tcp://[::1]:{in_port}", f"tcp://[::1]:{out_port}"
        daemon = self.start(self.config(ingress={"bind": [ingress]}, egress={"bind": [egress]}))
        self.assertIn(f"ready: ingress {ingress}, egress {egress},", daemon.stderr_text())
        sub = self.v6_socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"v6")
        sub.connect(egress)
        self.await_subscriptions(1)
        push = self.v6_socket(zmq.PUSH)
        push.connect(ingress)
        self.relays(push, sub, "v6", "over [::1]")

    def test_wildcard_binds_take_ipv6_and_ipv4_clients(self):
        in_port, out_port = free_dual_stack_ports(2)
        self.start(self.config(ingress={"bind": [f"tcp://*:{in_port}"]},
                               egress={"bind": [f"tcp://*:{out_port}"]}))
        sub6 = self.v6_socket(zmq.SUB)
        sub6.setsockopt(zmq.SUBSCRIBE, b"six")
        sub6.connect(f"tcp://[::1]:{out_port}")
        sub4 = self.sub([b"four"], endpoint=f"tcp://127.0.0.1:{out_port}")
        self.await_subscriptions(2)
        push6 = self.v6_socket(zmq.PUSH)
        push6.connect(f"tcp://[::1]:{in_port}")
        push4 = self.push(f"tcp://127.0.0.1:{in_port}")
        # Each family's producer to the other family's subscriber.
        self.relays(push4, sub6, "six", "from 127.0.0.1 to [::1]")
        self.relays(push6, sub4, "four", "from [::1] to 127.0.0.1")

    def test_connect_endpoints_reach_ipv6_peers(self):
        """ingress.connect and egress.connect to [::1]: the relay dials a producer's bound PUSH
        and a subscriber's bound SUB."""
        producer_port, subscriber_port = free_dual_stack_ports(2)
        producer = self.v6_socket(zmq.PUSH)
        producer.bind(f"tcp://[::1]:{producer_port}")
        subscriber = self.v6_socket(zmq.SUB)
        subscriber.setsockopt(zmq.SUBSCRIBE, b"dialed")
        subscriber.bind(f"tcp://[::1]:{subscriber_port}")
        self.start(self.config(ingress={"connect": [f"tcp://[::1]:{producer_port}"]},
                               egress={"connect": [f"tcp://[::1]:{subscriber_port}"]}))
        producer.setsockopt(zmq.SNDTIMEO, 20000)
        # Sent again until one arrives: the relay's gauge counts a bound SUB's subscription only
        # once it publishes, so there is nothing to wait on first.
        message = v1_message(topic="dialed", content="both ways dialed over [::1]")

        def arrives():
            producer.send(message)
            return subscriber.poll(100)
        self.assertTrue(wait_for(arrives, 10), "nothing came through the relay over [::1]")
        topic, body = self.receive_relayed(subscriber)
        self.assertEqual((topic, v1_pb2.DataMessage.FromString(body).content),
                         (b"dialed", "both ways dialed over [::1]"))


class IpcPathTest(RelayFixture):
    """ipc:// paths: absolute or abstract only."""

    def test_relative_ipc_paths_are_refused_naming_key_and_endpoint(self):
        """Relative to the working directory (/ under systemd), the relay and its clients would
        disagree on where the socket is: refused, by --check-config and at start (exit 78)."""
        for key, yaml_text in (
                ("ingress.bind[1]", 'ingress:\n  bind: ["tcp://127.0.0.1:1", "ipc://in.sock"]\n'),
                ("egress.connect[0]", 'egress:\n  connect: ["ipc://sub/out.sock"]\n'),
                ("invalid.dead_letter[0]", 'invalid:\n  dead_letter: "ipc://dead.sock"\n')):
            with self.subTest(key=key):
                result = self.check_config(yaml_text)
                self.assertEqual(result.returncode, EXIT_CONFIG, result.stdout + result.stderr)
                self.assertIn(f"{key}: ipc path must be absolute", result.stderr)
                endpoint = yaml_text.split("ipc://")[1].split('"')[0]
                self.assertIn(f'got "ipc://{endpoint}"', result.stderr)
                self.assertEqual(result.stdout, "")
        daemon = self.spawn(self.config(ingress={"bind": ["ipc://in.sock"]}))
        self.assertEqual(daemon.wait_exit(EXIT_WAIT), EXIT_CONFIG, daemon.stderr_text())
        self.assertIn("ingress.bind[0]: ipc path must be absolute", daemon.stderr_text())


if __name__ == "__main__":
    unittest.main()
