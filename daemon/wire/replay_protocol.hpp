// replay_protocol: the replay endpoint's messages (proto/zrelay/v1/replay.proto) as plain
// structs, so neither the replay server nor the client tool sees a protobuf type. Decoding
// never throws: a request is either well formed and within the protocol's bounds, or refused
// with a reason the server returns as BAD_REQUEST.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace zrelay {

// Messages a replay may send before waiting for credit: when a request names none, and at most.
inline constexpr std::uint32_t default_replay_window = 1000;
inline constexpr std::uint32_t max_replay_window = 10000;

struct replay_range {
    std::string topic;
    std::uint64_t from_sequence = 1;
    std::uint64_t to_sequence = 0; // 0: up to the newest
    bool operator==(const replay_range &) const = default;
};

struct replay_snapshot {
    std::string prefix;
    bool operator==(const replay_snapshot &) const = default;
};

struct replay_credit {
    std::uint32_t messages = 0;
    bool operator==(const replay_credit &) const = default;
};

struct replay_request {
    std::uint64_t request_id = 0;
    std::uint64_t instance = 0; // 0: any
    std::uint32_t window = default_replay_window;
    std::variant<replay_range, replay_snapshot, replay_credit> what;
    bool operator==(const replay_request &) const = default;
};

// The numbers are ReplayEnd.Status's.
enum class replay_status : int {
    complete = 1,
    partial = 2,
    wrong_instance = 3,
    bad_request = 4,
    busy = 5,
    disabled = 6,
};
// Array size for counters indexed by status (index 0 unused).
inline constexpr std::size_t replay_status_count = 7;
[[nodiscard]] std::string_view replay_status_name(replay_status status) noexcept;

struct replay_end {
    std::uint64_t request_id = 0;
    replay_status status = replay_status::complete;
    std::uint64_t instance = 0;
    std::uint64_t messages = 0;
    std::uint64_t missing = 0;
    std::uint64_t first_held = 0;
    std::uint64_t newest_sequence = 0;
    std::string error;
    bool operator==(const replay_end &) const = default;
};

// A request, or why it is refused ("window 20000 is above 10000"). Any bytes; never throws.
[[nodiscard]] std::variant<replay_request, std::string> decode_replay_request(const void *data,
                                                                              std::size_t size);
// A request's bytes. A window of 0 is written as 0 (the relay's default).
[[nodiscard]] std::string encode_replay_request(const replay_request &request);

[[nodiscard]] std::string encode_replay_end(const replay_end &end);
// The end frame, or what is wrong with it. Any bytes; never throws.
[[nodiscard]] std::variant<replay_end, std::string> decode_replay_end(const void *data,
                                                                      std::size_t size);

} // namespace zrelay
