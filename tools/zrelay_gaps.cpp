#include "zrelay_gaps.hpp"

#include <fmt/format.h>

#include "zrelay_text.hpp"

namespace zrelay::tool {

bool gap_tracker::note_instance(std::uint64_t instance) {
    if (_instances.contains(instance) || _instances.size() >= _max_topics)
        return false;
    _instances.insert(instance);
    // A restart shows on every topic: counting instances, not topics that saw one, counts it once.
    if (_instances.size() == 1)
        return false;
    ++_totals.restarts;
    return true;
}

gap_event gap_tracker::observe(std::string_view topic, std::uint64_t instance,
                               std::uint64_t sequence) {
    if (sequence == 0) {
        ++_totals.untracked;
        return {};
    }
    auto found = _topics.find(topic);
    if (found == _topics.end()) {
        if (_topics.size() >= _max_topics) {
            ++_totals.overflow;
            return {};
        }
        _topics.emplace(topic, topic_state{instance, sequence});
        return {note_instance(instance) ? gap_event::kind::restart : gap_event::kind::none};
    }
    topic_state &state = found->second;
    if (state.instance != instance) {
        state = {instance, sequence};
        return {note_instance(instance) ? gap_event::kind::restart : gap_event::kind::none};
    }
    if (sequence <= state.last) {
        ++_totals.duplicates;
        return {gap_event::kind::duplicate, sequence, state.last};
    }
    const gap_event event = sequence == state.last + 1
                                ? gap_event{}
                                : gap_event{gap_event::kind::gap, state.last + 1, sequence - 1};
    if (event.what == gap_event::kind::gap) {
        ++_totals.gaps;
        _totals.missing += sequence - state.last - 1;
    }
    state.last = sequence;
    return event;
}

void gap_tracker::start(std::string_view topic, std::uint64_t instance, std::uint64_t sequence) {
    if (sequence == 0)
        return;
    if (auto found = _topics.find(topic); found != _topics.end()) {
        found->second = {instance, sequence};
    } else if (_topics.size() < _max_topics) {
        _topics.emplace(topic, topic_state{instance, sequence});
    } else {
        return;
    }
    (void)note_instance(instance);
}

std::string describe(std::string_view topic, const gap_event &event, std::uint64_t instance) {
    switch (event.what) {
    case gap_event::kind::none:
        return {};
    case gap_event::kind::gap:
        return fmt::format("gap on topic \"{}\": {} missing ({})", one_line(topic),
                           event.last - event.first + 1, sequences(event.first, event.last));
    case gap_event::kind::duplicate:
        return fmt::format("duplicate or out-of-order on topic \"{}\": sequence {} after {}",
                           one_line(topic), event.first, event.last);
    case gap_event::kind::restart:
        return fmt::format("relay restart seen on topic \"{}\": new instance {}", one_line(topic),
                           hex_instance(instance));
    }
    return {};
}

} // namespace zrelay::tool
