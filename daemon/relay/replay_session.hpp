// replay_session: one request's reply, read off the retention log a piece at a time.
//
// A Range walks the log from its oldest record and offers the records of its topic with
// sequences from `from` to its target in order, each once: the target is to_sequence, or the
// topic's newest when the request came (0 asks for that). A record the log copied forward to
// keep a last value is met twice and offered once (sequences only grow along a topic). What the
// walk finds missing between the sequences it offers, or after the last one up to the target,
// was evicted: counted, and the reply says PARTIAL. A Snapshot offers the last value of each
// topic under its prefix, in topic-index order, up to the topics known when the request came.
//
// serve() never blocks: the caller's send refuses a record when the client has no credit or its
// pipe is full, and the next serve() offers that record again. So memory per session is its
// cursor, not its reply. Owned and used by one thread (the replay server's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "replay_protocol.hpp"
#include "retention_log.hpp"

namespace zrelay {

// Sends one replayed message; false if it cannot be sent now (offered again later).
using replay_send = std::function<bool(std::string_view topic, std::string_view body)>;

class replay_session {
public:
    // `request` holds a Range or a Snapshot (not a Credit); the log must outlive the session.
    replay_session(const retention_log &log, std::uint64_t instance, const replay_request &request);

    // Offers records to `send` until it refuses one, the reply is done, or about `budget`
    // records were looked at (so one long scan does not starve other clients). True once the
    // reply is done: end() is then its ReplayEnd.
    bool serve(std::size_t budget, const replay_send &send);

    [[nodiscard]] replay_end end() const;
    [[nodiscard]] std::uint64_t request_id() const noexcept { return _request_id; }

private:
    bool serve_range(std::size_t budget, const replay_send &send);
    bool serve_snapshot(std::size_t budget, const replay_send &send);
    // The newest sequence held for the range's topic: its last value (0: none known).
    [[nodiscard]] std::uint64_t newest_held() const;

    const retention_log &_log;
    std::uint64_t _instance;
    std::uint64_t _request_id;
    bool _snapshot;
    std::string _topic_or_prefix;
    std::uint64_t _sent = 0;

    // Range.
    std::uint64_t _next_sequence = 0; // the next one to offer
    std::uint64_t _target = 0;        // the last one to offer (0: nothing known to offer)
    std::uint64_t _newest = 0;        // the topic's newest when the request came
    std::uint64_t _first_held = 0;
    std::uint64_t _missing = 0;
    std::uint64_t _position = 0;  // the walk's place in the log
    std::uint64_t _start_end = 0; // the log's end when the request came
    bool _target_known = false;   // to_sequence given, or the newest known

    // Snapshot.
    std::uint32_t _next_index = 0;
    std::uint32_t _end_index = 0;
};

} // namespace zrelay
