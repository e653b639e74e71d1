#include "zrelay_origins.hpp"

#include <fmt/format.h>

#include "zrelay_text.hpp"

namespace zrelay::tool {

origin_tracker::topic_state *origin_tracker::find(std::string_view topic, bool create) {
    if (auto found = _topics.find(topic); found != _topics.end())
        return &found->second;
    if (!create || _topics.size() >= _max_topics)
        return nullptr;
    return &_topics.emplace(topic, topic_state{}).first->second;
}

origin_tracker::origin_state &origin_tracker::slot(topic_state &topic, std::uint64_t instance,
                                                   bool &fresh) {
    origin_state *oldest = topic.origins.data();
    for (origin_state &o : topic.origins) {
        if (o.instance == instance) {
            fresh = false;
            return o;
        }
        if (o.used < oldest->used) // a free slot was never used: it goes first
            oldest = &o;
    }
    fresh = true;
    return *oldest;
}

origin_event origin_tracker::observe(std::string_view topic, relay_mark origin, std::uint64_t relay,
                                     const gap_event &last_gap) {
    const bool has_origin = origin.instance != 0 && origin.sequence != 0;
    // A topic no message with hops came on needs nothing counted: its gaps explain nothing.
    topic_state *st = find(topic, has_origin);
    if (st == nullptr)
        return {};
    if (last_gap.what == gap_event::kind::gap)
        st->reported += last_gap.last - last_gap.first + 1;
    // A repeat the last relay's sequence showed already: reported as such, and it says nothing
    // new of the origin.
    if (!has_origin || last_gap.what == gap_event::kind::duplicate)
        return {};
    ++_totals.checked;
    bool fresh = false;
    origin_state &o = slot(*st, origin.instance, fresh);
    if (fresh) {
        o = {origin.instance, origin.sequence, relay, st->reported, ++_clock};
        return {};
    }
    o.used = ++_clock;
    if (origin.sequence <= o.sequence) {
        ++_totals.duplicates;
        return {.what = origin_event::kind::duplicate,
                .origin = origin.instance,
                .first = origin.sequence,
                .last = o.sequence};
    }
    const std::uint64_t skipped = origin.sequence - o.sequence - 1;
    const std::uint64_t explained = st->reported - o.reported;
    origin_event event;
    if (skipped > explained) {
        event = {.what = origin_event::kind::loss,
                 .origin = origin.instance,
                 .first = o.sequence + 1,
                 .last = origin.sequence - 1,
                 .lost = skipped - explained,
                 .relay = relay,
                 .restarted = o.relay != relay ? o.relay : 0};
        ++_totals.losses;
        _totals.lost += event.lost;
    }
    o.sequence = origin.sequence;
    o.relay = relay;
    o.reported = st->reported;
    return event;
}

void origin_tracker::start(std::string_view topic, relay_mark origin, std::uint64_t relay) {
    if (origin.instance == 0 || origin.sequence == 0)
        return;
    topic_state *st = find(topic, true);
    if (st == nullptr)
        return;
    bool fresh = false;
    origin_state &o = slot(*st, origin.instance, fresh);
    o = {origin.instance, origin.sequence, relay, st->reported, ++_clock};
}

std::string describe(std::string_view topic, const origin_event &event) {
    switch (event.what) {
    case origin_event::kind::none:
        return {};
    case origin_event::kind::duplicate:
        return fmt::format("duplicate or out-of-order on topic \"{}\" from relay {}: its sequence "
                           "{} after {}",
                           one_line(topic), hex_instance(event.origin), event.first, event.last);
    case origin_event::kind::loss:
        break;
    }
    const std::uint64_t skipped = event.last - event.first + 1;
    std::string text =
        fmt::format("topic \"{}\": {} lost between relay {} and here (its {}", one_line(topic),
                    event.lost, hex_instance(event.origin), sequences(event.first, event.last));
    if (skipped > event.lost)
        text += fmt::format(", {} of them in the gaps reported", skipped - event.lost);
    // Why the last relay's sequence does not show them.
    if (event.restarted != 0)
        text += fmt::format("; relay {} restarted)", hex_instance(event.restarted));
    else
        text += fmt::format("; before relay {} numbered them)", hex_instance(event.relay));
    return text;
}

} // namespace zrelay::tool
