// Sends one DataMessage to zrelayd: node producer.js [TOPIC [CONTENT]] (default: example hello).
// ZRELAY_INGRESS names the relay's ingress (default tcp://127.0.0.1:5555).
const path = require("path");
const protobuf = require("protobufjs");
const zmq = require("zeromq");

async function main() {
  const proto = path.join(__dirname, "../../proto/zrelay/v1/data_message.proto");
  const DataMessage = (await protobuf.load(proto)).lookupType("zrelay.v1.DataMessage");
  const [topic = "example", content = "hello"] = process.argv.slice(2);
  // Nanoseconds since the epoch, as a decimal string: an int64 does not fit a JS number.
  const timestamp = (BigInt(Date.now()) * 1000000n).toString();
  const message = DataMessage.fromObject({ topic, content, timestamp });

  // No waiting for the connection: PUSH queues the message until it is up. Closing waits for it
  // to leave, up to the linger (5 s), so exiting right away loses nothing.
  const push = new zmq.Push({ linger: 5000 });
  push.connect(process.env.ZRELAY_INGRESS || "tcp://127.0.0.1:5555");
  await push.send(DataMessage.encode(message).finish());
  push.close();
}

main().catch((error) => {
  console.error(`producer: ${error.message}`);
  process.exit(1);
});
