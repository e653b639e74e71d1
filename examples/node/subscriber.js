// Prints what zrelayd publishes on a topic: node subscriber.js [TOPIC] (default: example). Prints
// "ready" once its subscription is in effect at the relay, then "TOPIC: CONTENT" for each message.
// ZRELAY_EGRESS and ZRELAY_INGRESS name the relay's endpoints (default tcp://127.0.0.1:5556, :5555).
const crypto = require("crypto");
const path = require("path");
const protobuf = require("protobufjs");
const zmq = require("zeromq");

async function main() {
  const proto = path.join(__dirname, "../../proto/zrelay/v1/data_message.proto");
  const DataMessage = (await protobuf.load(proto)).lookupType("zrelay.v1.DataMessage");
  const sub = new zmq.Subscriber({ receiveTimeout: 100 });
  sub.connect(process.env.ZRELAY_EGRESS || "tcp://127.0.0.1:5556");
  const push = new zmq.Push(); // for the canaries
  push.connect(process.env.ZRELAY_INGRESS || "tcp://127.0.0.1:5555");

  // Receives one message and prints it unless it is the relay's own; returns its topic.
  async function receive() {
    const [topic, body] = await sub.receive();
    if (!topic.toString().startsWith("$zrelay/"))
      console.log(`${topic}: ${DataMessage.decode(body).content}`);
    return topic.toString();
  }
  // Subscribes to `topic` and returns once the relay has published a canary on it to us.
  async function ping(topic) {
    sub.subscribe(topic);
    for (;;) {
      await push.send(DataMessage.encode({ topic }).finish());
      try {
        while ((await receive()) !== topic);
        return;
      } catch (error) {
        if (error.code !== "EAGAIN") throw error; // 100 ms without the canary: send another
      }
    }
  }

  // Slow joiner (README.md here): a canary on a topic of our own proves that the subscriptions
  // made before it on this connection are in effect at the relay; the first proves the connection.
  const canary = `$zrelay/health/${crypto.randomUUID()}/`;
  await ping(canary + "1");
  sub.subscribe(process.argv[2] || "example");
  await ping(canary + "2");
  console.log("ready");
  sub.receiveTimeout = -1;
  for (;;) await receive();
}

main().catch((error) => {
  console.error(`subscriber: ${error.message}`);
  process.exit(1);
});
