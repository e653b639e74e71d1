// libFuzzer target: the replay endpoint's request decoder, on any bytes. Beyond "no crash, no
// sanitizer report", a request it accepts must be within the protocol's bounds and survive a
// round trip through the encoder unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "envelope.hpp"
#include "replay_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const bool quiet = [] {
        zrelay::install_protobuf_log_handler(); // protobuf's own UTF-8 ERROR lines stay out
        return true;
    }();
    (void)quiet;
    const auto decoded = zrelay::decode_replay_request(data, size);
    if (const auto *request = std::get_if<zrelay::replay_request>(&decoded)) {
        if (request->window == 0 || request->window > zrelay::max_replay_window)
            std::abort();
        const std::string again = zrelay::encode_replay_request(*request);
        const auto round_trip = zrelay::decode_replay_request(again.data(), again.size());
        if (!std::holds_alternative<zrelay::replay_request>(round_trip) ||
            std::get<zrelay::replay_request>(round_trip) != *request)
            std::abort();
    } else if (std::get<std::string>(decoded).empty()) {
        std::abort(); // a refusal always says why
    }
    (void)zrelay::decode_replay_end(data, size);
    return 0;
}
