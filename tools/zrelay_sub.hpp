// `zrelay sub`: subscribes to a relay's egress, prints what arrives and checks the relay's stamps
// for gaps (zrelay_gaps.hpp), and the first relay's too on messages that crossed a chain
// (zrelay_origins.hpp); with --recover and --snapshot it also asks the relay's replay endpoint
// for what it missed and for last values (zrelay_recovery.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zrelay::tool {

struct sub_options {
    std::string from;                     // the relay's egress endpoint (SUB connects)
    std::string from_from = "--from";     // where `from` came from, for errors: option or env var
    std::vector<std::string> topics;      // prefixes; none: everything
    bool json = false;                    // one JSON object a line, and a JSON summary on stderr
    std::uint64_t count = 0;              // stop after this many messages; 0: until SIGINT/SIGTERM
    bool quiet = false;                   // print no messages, only problems and the summary
    bool raw = false;                     // print each message's content alone
    bool timestamps = false;              // text lines start with the producer's and relay's times
    bool show_internal = false;           // print $zrelay/ topics even under a wider subscription
    double idle_timeout_s = 0;            // stop after this long without a message; 0: never
    std::size_t max_topics = 100000;      // topics checked for gaps; later ones are not
    bool recover = false;                 // ask the replay endpoint for every gap
    bool snapshot = false;                // start with the last values of the subscribed prefixes
    std::string replay;                   // the relay's replay endpoint (DEALER connects)
    std::string replay_from = "--replay"; // where `replay` came from, for errors
    // How long the replay endpoint may stay silent while a request is out: long enough for a
    // busy relay, short enough that held live messages do not wait on one that never answers.
    unsigned replay_timeout_s = 5;
};

// Returns the exit code once stopped (by --count or a signal), after printing the summary.
int run_sub(const sub_options &options);

} // namespace zrelay::tool
