// `zrelay sub`: subscribes to a relay's egress, prints what arrives and checks the relay's stamps
// for gaps (zrelay_gaps.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zrelay::tool {

struct sub_options {
    std::string from;                // the relay's egress endpoint (SUB connects)
    std::vector<std::string> topics; // prefixes; none: everything
    bool json = false;               // one JSON object a line, and a JSON summary on stderr
    std::uint64_t count = 0;         // stop after this many messages; 0: until SIGINT/SIGTERM
    bool quiet = false;              // print no messages, only problems and the summary
    std::size_t max_topics = 100000; // topics checked for gaps; later ones are not
};

// Returns the exit code once stopped (by --count or a signal), after printing the summary.
int run_sub(const sub_options &options);

} // namespace zrelay::tool
