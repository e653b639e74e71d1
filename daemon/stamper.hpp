// stamper: the relay's stamp on what it publishes (issue 7): a sequence number per topic, the
// receive time, and this relay instance's id, appended to the producer's bytes (see
// write_stamp() in envelope.hpp for why appending is enough).
//
// Per-topic state is bounded: the first `max_topics` distinct topics get sequences; a topic
// seen after that is stamped with sequence 0, which means "not tracked" (a subscriber checking
// for gaps skips it). One owner thread (the publisher's); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <zmq.hpp>

namespace zrelay {

class stamper {
public:
    // `instance`: this relay's id, random at start (0 picks one).
    explicit stamper(std::size_t max_topics, std::uint64_t instance = 0);

    // The next sequence number of `topic`: 1, 2, 3, ...; 0 once max_topics other topics are
    // tracked. Allocates only the first time it sees a topic.
    std::uint64_t next_sequence(std::string_view topic);

    // `body` with the stamp appended, as a new message.
    [[nodiscard]] zmq::message_t stamp(std::string_view topic, const zmq::message_t &body,
                                       std::int64_t received_ns);

    [[nodiscard]] std::uint64_t instance() const noexcept { return _instance; }
    [[nodiscard]] std::size_t tracked_topics() const noexcept { return _sequences.size(); }

private:
    // Looks up a string_view without building a std::string.
    struct topic_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    std::size_t _max_topics;
    std::uint64_t _instance;
    std::unordered_map<std::string, std::uint64_t, topic_hash, std::equal_to<>> _sequences;
};

} // namespace zrelay
