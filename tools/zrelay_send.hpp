// `zrelay send`: pushes DataMessages into a relay's ingress.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace zrelay::tool {

struct send_options {
    std::string to;                     // the relay's ingress endpoint (PUSH connects)
    std::string to_from = "--to";       // where `to` came from, for errors: option or env var
    std::string topic;                  // DataMessage.topic of every message
    std::optional<std::uint64_t> count; // TEXTs: times over; none: messages to generate (1)
    double rate = 0;                    // messages per second; 0: as fast as the relay takes them
    std::size_t size = 0;               // payload bytes in each message
    std::int64_t timeout_ms = 10000;    // longest wait for the relay to take a message; 0: forever
    std::vector<std::string> texts;     // one message's content each; "-": stdin, one per line
    std::string file;                   // "": none; else its bytes are every message's payload
    std::vector<std::string> headers;   // KEY=VALUE each, as given; checked by run_send
    // A relay on its default configuration drops a larger message (ingress.max_message_bytes),
    // which the sender cannot see: a message over it is warned about, once.
    std::size_t relay_default_max_bytes = std::numeric_limits<std::size_t>::max(); // max: none
};

// Returns the exit code; throws tool_error for usage errors and an unavailable relay.
int run_send(const send_options &options);

} // namespace zrelay::tool
