// A reader of the Prometheus text exposition format (version 0.0.4), as much as `zrelay stats`
// needs: samples with their labels and each family's # TYPE.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zrelay::tool {

struct metric_sample {
    std::string name;   // the metric name alone
    std::string series; // name{labels} exactly as written: the key that tells series apart
    double value = 0;
};

struct metrics_page {
    std::vector<metric_sample> samples;                 // in the page's order
    std::unordered_map<std::string, std::string> types; // family name -> counter, gauge, ...

    // True if `name`'s family is declared a counter (`# TYPE name counter`; OpenMetrics names
    // the family without the sample's _total suffix).
    [[nodiscard]] bool is_counter(const std::string &name) const;
};

// Parses `text`; comments other than # TYPE, and lines that are not samples, are skipped.
[[nodiscard]] metrics_page parse_prometheus(std::string_view text);

} // namespace zrelay::tool
