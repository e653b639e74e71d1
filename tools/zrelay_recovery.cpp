#include "zrelay_recovery.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "reserved_topics.hpp"
#include "zrelay_text.hpp"

namespace zrelay::tool {

namespace {

// Instances WRONG_INSTANCE named: a handful in any real run; bounded against a relay that
// restarts in a loop.
constexpr std::size_t max_gone_instances = 1024;

std::string prefix_text(std::string_view prefix) {
    return prefix.empty() ? std::string("all topics")
                          : fmt::format("prefix \"{}\"", one_line(prefix));
}

// Why a refused request got nothing, from its ReplayEnd.
std::string refusal(const replay_end &end) {
    std::string text =
        fmt::format("the replay endpoint refused: {}", replay_status_name(end.status));
    if (!end.error.empty())
        text += fmt::format(" ({})", one_line(end.error));
    return text;
}

} // namespace

recovery::recovery(recovery_options options, recovery_sink &sink)
    : _options(std::move(options)), _sink(sink), _tracker(_options.max_topics),
      _origins(_options.max_topics) {}

void recovery::start_snapshot(const std::vector<std::string> &prefixes) {
    // A prefix under another one adds nothing (its topics are in the shorter one's snapshot)
    // and would deliver their last values twice.
    std::vector<std::string> sorted = prefixes.empty() ? std::vector<std::string>{""} : prefixes;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::string> wanted;
    for (std::string &prefix : sorted) {
        if (wanted.empty() || !prefix.starts_with(wanted.back()))
            wanted.push_back(std::move(prefix));
    }
    for (std::string &prefix : wanted)
        _jobs.push_back(job{.snapshot = true, .topic = std::move(prefix)});
    send(_jobs.front());
}

void recovery::on_live(const stamped_message &message) {
    if (!_jobs.empty() || !_held.empty()) {
        hold(message, false, false);
        return;
    }
    if (!process(message, false))
        hold(message, true, true);
}

void recovery::hold(const stamped_message &message, bool observed, bool first) {
    held_message held{std::string(message.topic),
                      std::string(message.body),
                      message.instance,
                      message.sequence,
                      message.origin,
                      observed};
    _held_bytes += held.topic.size() + held.body.size();
    if (first)
        _held.push_front(std::move(held));
    else
        _held.push_back(std::move(held));
}

void recovery::release() {
    while (_jobs.empty() && !_held.empty()) {
        held_message held = std::move(_held.front());
        _held.pop_front();
        _held_bytes -= held.topic.size() + held.body.size();
        if (!process(held.view(), held.observed)) {
            held.observed = true;
            _held_bytes += held.topic.size() + held.body.size();
            _held.push_front(std::move(held));
        }
    }
}

bool recovery::process(const stamped_message &message, bool observed) {
    if (observed) {
        // Its gap is behind it (recovered or lost): it comes next.
        _sink.deliver(message, message_origin::live);
        return true;
    }
    if (message.sequence == 0) {
        (void)_tracker.observe(message.topic, message.instance, message.sequence);
        _sink.deliver(message, message_origin::live);
        return true;
    }
    topic_state *st = find(message.topic);
    const bool same_instance = st != nullptr && st->instance == message.instance;
    if (same_instance && message.sequence <= st->covered) {
        ++_totals.skipped; // a replay or the snapshot delivered it already
        return true;
    }
    const bool seam = same_instance && st->seam && message.sequence > st->covered + 1;
    if (st != nullptr)
        st->seam = false;
    gap_event event;
    if (seam) {
        // Not a loss: the subscription took effect after the snapshot was taken.
        event = {gap_event::kind::gap, st->covered + 1, message.sequence - 1};
        _tracker.start(message.topic, message.instance, message.sequence);
        _sink.say(fmt::format("snapshot seam on topic \"{}\": live messages begin at {}, the "
                              "snapshot had {}; asking for {}",
                              one_line(message.topic), message.sequence, st->covered,
                              sequences(event.first, event.last)));
    } else {
        event = _tracker.observe(message.topic, message.instance, message.sequence);
        if (const std::string line = describe(message.topic, event, message.instance);
            !line.empty())
            _sink.say(line);
    }
    check_origin(message, event);
    if (event.what == gap_event::kind::duplicate && _options.dedupe)
        return true; // reported, never printed twice
    if (event.what == gap_event::kind::gap && (seam || _options.recover)) {
        if (_finished) {
            lose_now(message.topic, event.first, event.last, "stopped before asking for them");
        } else if (_gone_instances.contains(message.instance)) {
            lose_now(message.topic, event.first, event.last, "the relay restarted");
        } else if (_disabled) {
            lose_now(message.topic, event.first, event.last, "replay is off on the relay");
        } else {
            _jobs.push_back(job{.seam = seam,
                                .topic = std::string(message.topic),
                                .instance = message.instance,
                                .first = event.first,
                                .last = event.last,
                                .next = event.first});
            send(_jobs.front());
            return false;
        }
    }
    _sink.deliver(message, message_origin::live);
    return true;
}

void recovery::check_origin(const stamped_message &message, const gap_event &last_gap) {
    // Where gap_tracker does not check, the last relay's gaps go unreported: they could not
    // explain the origin's skips.
    if (!_tracker.checks(message.topic))
        return;
    const origin_event event =
        _origins.observe(message.topic, message.origin, message.instance, last_gap);
    if (event.what != origin_event::kind::none)
        _sink.say(describe(message.topic, event));
}

void recovery::send(job &j) {
    j.request_id = _next_request_id++;
    using what = decltype(replay_request::what);
    _sink.send({.request_id = j.request_id,
                .instance = j.snapshot ? 0 : j.instance,
                .window = _options.window,
                .what = j.snapshot ? what{replay_snapshot{j.topic}}
                                   : what{replay_range{j.topic, j.first, j.last}}});
}

void recovery::credit(std::uint64_t request_id, std::uint32_t threshold) {
    if (_uncredited == 0 || _uncredited < threshold)
        return;
    _sink.send(
        {.request_id = request_id, .window = _options.window, .what = replay_credit{_uncredited}});
    _uncredited = 0;
}

void recovery::on_replayed(const stamped_message &message) {
    // Every message the relay sent counts against its window, whether delivered or not.
    ++_uncredited;
    if (_jobs.empty()) {
        ++_totals.stale;
        return;
    }
    job &j = _jobs.front();
    // Half a window at a time: the relay always has the other half to send meanwhile.
    credit(j.request_id, std::max<std::uint32_t>(_options.window / 2, 1));
    if (j.snapshot) {
        // The relay leaves its own topics (drop notices, canaries) out of snapshots; one that
        // came anyway would start a topic whose sequences are not the client's to track.
        if (!message.topic.starts_with(j.topic) || message.topic.starts_with(own_topic_prefix)) {
            ++_totals.stale;
            return;
        }
        topic_state *st = message.sequence == 0 ? nullptr : state(message.topic);
        if (st != nullptr && st->instance == message.instance && message.sequence <= st->covered) {
            ++_totals.stale;
            return;
        }
        if (st != nullptr) {
            st->instance = message.instance;
            st->covered = message.sequence;
            st->seam = true;
            _tracker.start(message.topic, message.instance, message.sequence);
            _origins.start(message.topic, message.origin, message.instance);
        }
        ++j.delivered;
        ++_totals.snapshot;
        _sink.deliver(message, message_origin::snapshot);
    } else {
        // In order and within what was asked: anything else is left over from an earlier request
        // (the relay replaces a request in progress without ending it).
        if (message.topic != j.topic || message.instance != j.instance ||
            message.sequence < j.next || message.sequence > j.last) {
            ++_totals.stale;
            return;
        }
        j.next = message.sequence + 1;
        ++j.delivered;
        cover(message.topic, message.instance, message.sequence);
        _sink.deliver(message, message_origin::replay);
    }
}

void recovery::on_end(const replay_end &end) {
    if (_jobs.empty() || end.request_id != _jobs.front().request_id)
        return; // the end of a request given up on already
    _relay_instance = end.instance;
    const job &j = _jobs.front();
    // The relay's window is per client, not per request: what this one left unacknowledged would
    // shrink the next one's.
    credit(j.request_id, 1);
    switch (end.status) {
    case replay_status::complete:
    case replay_status::partial:
        if (j.snapshot) {
            _sink.say(
                fmt::format("snapshot of {}: {} last values", prefix_text(j.topic), j.delivered));
            break;
        }
        end_range(j, "the relay no longer holds them");
        break;
    case replay_status::wrong_instance:
        if (_gone_instances.size() < max_gone_instances &&
            _gone_instances.insert(j.instance).second)
            _sink.say(fmt::format("the relay restarted (instance {}, now {}): nothing of instance "
                                  "{} can be recovered",
                                  hex_instance(j.instance), hex_instance(end.instance),
                                  hex_instance(j.instance)));
        if (j.snapshot)
            _sink.say(
                fmt::format("snapshot of {} failed: the relay restarted", prefix_text(j.topic)));
        else
            end_range(j, "the relay restarted");
        break;
    case replay_status::disabled:
        // Range off is off for every later gap; a snapshot can be off (no last values) with
        // ranges still served.
        if (!j.snapshot)
            _disabled = true;
        [[fallthrough]];
    case replay_status::bad_request:
    case replay_status::busy:
        if (j.snapshot)
            _sink.say(fmt::format("snapshot of {} failed: {}; going on with live messages",
                                  prefix_text(j.topic), refusal(end)));
        else
            end_range(j, refusal(end));
        break;
    }
    _jobs.pop_front();
    advance();
}

void recovery::on_timeout() {
    _uncredited = 0; // a new connection: the relay starts its window afresh
    fail(fmt::format("no reply from the replay endpoint for {}", _options.reply_timeout_text));
}

void recovery::on_bad_reply(const std::string &why) {
    fail(fmt::format("the replay endpoint's reply is unreadable ({})", why));
}

void recovery::fail(const std::string &why) {
    if (_jobs.empty())
        return;
    const job &j = _jobs.front();
    if (j.snapshot)
        _sink.say(fmt::format("snapshot of {} failed: {}; going on with live messages",
                              prefix_text(j.topic), why));
    else
        end_range(j, why);
    _jobs.pop_front();
    advance();
}

void recovery::finish() {
    _finished = true;
    while (!_jobs.empty()) {
        const job &j = _jobs.front();
        if (j.snapshot)
            _sink.say(fmt::format("snapshot of {}: stopped before it ended", prefix_text(j.topic)));
        else
            end_range(j, "stopped before the replay ended");
        _jobs.pop_front();
    }
    release();
}

void recovery::advance() {
    if (_jobs.empty())
        release();
    else
        send(_jobs.front());
}

void recovery::end_range(const job &j, const std::string &why) {
    const std::uint64_t asked = j.last - j.first + 1;
    const std::uint64_t lost = asked - j.delivered;
    count(j.topic, j.delivered, lost);
    const std::string what =
        fmt::format("{} on topic \"{}\"", j.seam ? "snapshot seam" : "gap", one_line(j.topic));
    if (lost == 0)
        _sink.say(fmt::format("recovered {}: {} of {} ({})", what, j.delivered, asked,
                              sequences(j.first, j.last)));
    else if (j.delivered > 0)
        _sink.say(fmt::format("recovered {}: {} of {} ({}); lost {}: {}", what, j.delivered, asked,
                              sequences(j.first, j.last), lost, why));
    else
        _sink.say(
            fmt::format("lost {}: {} ({}): {}", what, asked, sequences(j.first, j.last), why));
}

void recovery::lose_now(std::string_view topic, std::uint64_t first, std::uint64_t last,
                        const std::string &why) {
    count(topic, 0, last - first + 1);
    _sink.say(fmt::format("lost gap on topic \"{}\": {} ({}): {}", one_line(topic),
                          last - first + 1, sequences(first, last), why));
}

void recovery::count(std::string_view topic, std::uint64_t recovered, std::uint64_t lost) {
    _totals.recovered += recovered;
    _totals.lost += lost;
    if (topic_state *st = state(topic)) {
        st->recovered += recovered;
        st->lost += lost;
    }
}

void recovery::cover(std::string_view topic, std::uint64_t instance, std::uint64_t sequence) {
    topic_state *st = state(topic);
    if (st == nullptr)
        return;
    if (st->instance != instance)
        *st = {.instance = instance, .recovered = st->recovered, .lost = st->lost};
    st->covered = std::max(st->covered, sequence);
}

recovery::topic_state *recovery::find(std::string_view topic) {
    const auto found = _topics.find(topic);
    return found == _topics.end() ? nullptr : &found->second;
}

recovery::topic_state *recovery::state(std::string_view topic) {
    if (topic_state *st = find(topic))
        return st;
    if (_topics.size() >= _options.max_topics)
        return nullptr;
    return &_topics.emplace(topic, topic_state{}).first->second;
}

void recovery::report_topics() {
    // Sorted: the same run reports the same way.
    std::vector<std::pair<std::string_view, const topic_state *>> touched;
    for (const auto &[topic, st] : _topics) {
        if (st.recovered > 0 || st.lost > 0)
            touched.emplace_back(topic, &st);
    }
    std::sort(touched.begin(), touched.end());
    for (const auto &[topic, st] : touched)
        _sink.say(fmt::format("recovery on topic \"{}\": recovered {}, lost {}", one_line(topic),
                              st->recovered, st->lost));
}

} // namespace zrelay::tool
