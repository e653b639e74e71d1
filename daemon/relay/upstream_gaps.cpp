#include "upstream_gaps.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace zrelay {

upstream_gaps::upstream_gaps(std::size_t max_topics, clock::duration interval)
    : _max_topics(max_topics), _interval(interval) {}

std::uint64_t upstream_gaps::check(std::uint64_t instance, std::uint32_t topic,
                                   std::uint64_t sequence) {
    if (instance == 0 || sequence == 0 || topic >= _max_topics)
        return 0; // no stamp, or a topic the upstream (or this relay) does not number
    if (topic >= _topics.size())
        _topics.resize(std::size_t{topic} + 1); // once per new topic: the index grows by one
    auto &slots = _topics[topic];
    ++_clock;
    way *found = nullptr;
    way *oldest = slots.data();
    for (way &w : slots) {
        if (w.instance == instance) {
            found = &w;
            break;
        }
        if (w.seen < oldest->seen)
            oldest = &w;
    }
    if (found == nullptr) { // first seen (or forgotten): its count starts here
        *oldest = {instance, sequence, _clock};
        return 0;
    }
    found->seen = _clock;
    if (sequence <= found->last)
        return 0; // a repeat or a reorder: nothing is missing
    const std::uint64_t missing = sequence - found->last - 1;
    found->last = sequence;
    if (missing != 0)
        record(instance, missing);
    return missing;
}

void upstream_gaps::record(std::uint64_t instance, std::uint64_t missing) {
    auto it = std::find_if(_announced.begin(), _announced.end(),
                           [&](const announced &a) { return a.instance == instance; });
    if (it == _announced.end()) {
        if (_announced.size() >= max_announced) {
            // Past the bound, upstreams are summed under instance 0.
            it = std::find_if(_announced.begin(), _announced.end(),
                              [](const announced &a) { return a.instance == 0; });
            if (it == _announced.end()) {
                _announced.emplace_back();
                it = _announced.end() - 1;
            }
        } else {
            _announced.emplace_back().instance = instance;
            it = _announced.end() - 1;
        }
    }
    it->total += missing;
}

std::optional<upstream_gaps::notice> upstream_gaps::due(clock::time_point now) const {
    for (const announced &a : _announced) {
        if (a.total <= a.notified)
            continue;
        if (a.last && now - *a.last < _interval)
            continue;
        return notice{a.instance, a.total - a.notified, a.total};
    }
    return std::nullopt;
}

void upstream_gaps::sent(const notice &n, clock::time_point now) {
    for (announced &a : _announced)
        if (a.instance == n.instance) {
            a.notified = n.total;
            a.last = now;
        }
}

void upstream_gaps::restarted(std::uint64_t before, std::uint64_t now) {
    if (_restarts.size() >= max_announced)
        _restarts.pop_front();
    _restarts.emplace_back(before, now);
}

std::optional<std::string> upstream_gaps::restart_due() const {
    if (_restarts.empty())
        return std::nullopt;
    return fmt::format(
        R"({{"reason":"upstream_restart","upstream":"{:016x}","instance":"{:016x}"}})",
        _restarts.front().first, _restarts.front().second);
}

void upstream_gaps::restart_sent() {
    _restarts.pop_front();
}

std::string upstream_gaps::content(const notice &n) {
    return fmt::format(R"({{"reason":"upstream_gap","upstream":"{:016x}","count":{},"total":{}}})",
                       n.instance, n.count, n.total);
}

} // namespace zrelay
