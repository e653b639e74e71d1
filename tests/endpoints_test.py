#!/usr/bin/python3
"""Endpoints at their edges, against the real zrelayd: IPv6 (tcp://[::1]:P and tcp://*:P, bound
and connected), ipc socket files removed when the relay exits, relative ipc paths refused
(daemon/wire/endpoint.*, security.*, ipc_socket_file.*).

Run by CTest (tests/CMakeLists.txt), which sets ZRELAYD and PYTHONPATH (the generated protobuf
modules and tests/, for relay_test's helpers).
"""
import os
import signal
import stat
import unittest

import zmq

from relay_test import (EXIT_CONFIG, EXIT_OK, RelayFixture, free_tcp_ports, v1_message,
                        v1_pb2, wait_for)

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
        in_port, out_port = free_tcp_ports(2, dual_stack=True)
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
        in_port, out_port = free_tcp_ports(2, dual_stack=True)
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
        producer_port, subscriber_port = free_tcp_ports(2, dual_stack=True)
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


class IpcFileTest(RelayFixture):
    """The socket files of ipc:// endpoints: removed when the relay exits, and only its own."""

    def test_sigterm_leaves_no_ipc_socket_file_behind(self):
        """Ingress, egress and dead-letter ipc endpoints, each with a client connected through
        it while the relay drains and exits: every socket file is gone afterwards."""
        directory = self.make_temp_dir()
        paths = {name: os.path.join(directory, f"{name}.sock") for name in ("in", "out", "dead")}
        daemon = self.start(self.config(
            ingress={"bind": [self.in_endpoint, "ipc://" + paths["in"]]},
            egress={"bind": [self.out_endpoint, "ipc://" + paths["out"]]},
            invalid={"dead_letter": "ipc://" + paths["dead"]}))
        for path in paths.values():
            self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode), path)
        sub = self.sub([b"ipc"], endpoint="ipc://" + paths["out"])
        dead = self.sub([b""], endpoint="ipc://" + paths["dead"])
        self.await_subscriptions(1)
        push = self.push("ipc://" + paths["in"])
        push.send(v1_message(topic="ipc", content="through the files"))
        self.assertEqual(self.receive_relayed(sub)[0], b"ipc")

        def dead_letter_arrives():  # sent again until the dead-letter SUB is joined
            push.send(b"\xff" * 12)
            return dead.poll(100)
        self.assertTrue(wait_for(dead_letter_arrives, 10), "no dead letter came over ipc")

        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(EXIT_WAIT), EXIT_OK, daemon.stderr_text())
        left = sorted(path for path in paths.values() if os.path.lexists(path))
        self.assertEqual(left, [], "ipc socket files left behind after a clean exit")

    def test_a_socket_file_another_process_took_over_is_left_alone(self):
        """A second process binding the same path replaces the relay's file (libzmq unlinks it
        first); the relay, exiting, must not remove the newcomer's."""
        path = os.path.join(self.make_temp_dir(), "in.sock")
        daemon = self.start(self.config(ingress={"bind": [self.in_endpoint, "ipc://" + path]}))
        newcomer = self.socket(zmq.PULL)
        newcomer.bind("ipc://" + path)
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait_exit(EXIT_WAIT), EXIT_OK, daemon.stderr_text())
        self.assertTrue(os.path.lexists(path), "the relay removed another process's socket file")
        self.push("ipc://" + path).send(b"still reachable")
        self.assertEqual(newcomer.poll(10000), zmq.POLLIN)
        self.assertEqual(newcomer.recv(), b"still reachable")

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
