// `zrelay stats`: a relay's metrics on one screen, with each counter's rate.
#pragma once

#include <string>

namespace zrelay::tool {

struct stats_options {
    std::string url;                    // http://host:port[/path]; the path defaults to /metrics
    std::string url_from = "--metrics"; // where url came from, for errors: the option or env var
    double interval = 1.0;              // seconds between two samples
    bool once = false;                  // two samples, one screen, exit
};

// Returns the exit code; throws tool_error for a bad or unreachable URL.
int run_stats(const stats_options &options);

} // namespace zrelay::tool
