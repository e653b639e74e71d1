#include "replay_session.hpp"

#include <algorithm>
#include <variant>

#include "reserved_topics.hpp"

namespace zrelay {

replay_session::replay_session(const retention_log &log, std::uint64_t instance,
                               const replay_request &request)
    : _log(log), _instance(instance), _request_id(request.request_id),
      _snapshot(std::holds_alternative<replay_snapshot>(request.what)) {
    if (_snapshot) {
        _topic_or_prefix = std::get<replay_snapshot>(request.what).prefix;
        _end_index = log.topic_indexes();
        return;
    }
    const auto &range = std::get<replay_range>(request.what);
    _topic_or_prefix = range.topic;
    _next_sequence = range.from_sequence;
    _newest = newest_held();
    _target_known = range.to_sequence != 0 || _newest != 0;
    // Up to the newest when to_sequence is 0 or beyond it: later ones do not exist yet.
    _target = range.to_sequence == 0 ? _newest
              : _newest == 0         ? range.to_sequence
                                     : std::min(range.to_sequence, _newest);
    _start_end = log.end();
}

std::uint64_t replay_session::newest_held() const {
    if (!_log.keeps_last_values())
        return 0;
    std::uint64_t newest = 0;
    // The prefix narrows the walk to topics that start with the name; the exact one is wanted.
    (void)_log.last_values(0, _log.topic_indexes(), _topic_or_prefix,
                           [&](const retained_record &r) {
                               if (r.topic != _topic_or_prefix)
                                   return true;
                               newest = r.sequence;
                               return false;
                           });
    return newest;
}

bool replay_session::serve(std::size_t budget, const replay_send &send) {
    return _snapshot ? serve_snapshot(budget, send) : serve_range(budget, send);
}

bool replay_session::serve_range(std::size_t budget, const replay_send &send) {
    if (_target_known && _next_sequence > _target)
        return true;
    bool refused = false;
    bool done = false;
    _position = _log.scan(_position, budget, [&](const retained_record &r) {
        if (done)
            return false;
        if (r.topic != _topic_or_prefix)
            return true;
        if (_first_held == 0)
            _first_held = r.sequence;
        if (r.sequence < _next_sequence)
            return true; // before `from`, or a last value met again after its copy
        if (_target_known && r.sequence > _target) {
            done = true;
            return false;
        }
        if (!send(r.topic, r.body)) {
            refused = true;
            return false;
        }
        _missing += r.sequence - _next_sequence; // evicted between the two
        _next_sequence = r.sequence + 1;
        ++_sent;
        done = _target_known && _next_sequence > _target;
        return true;
    });
    if (refused)
        return false;
    // Caught up with the log as it was when the request came: what was not met is gone. (With
    // a target, the walk goes on to the log's current end, where a last value copied forward
    // meanwhile may be.)
    if (!done && _position >= _start_end && (!_target_known || _position >= _log.end()))
        done = true;
    if (done && _target_known && _next_sequence <= _target) {
        _missing += _target - _next_sequence + 1;
        _next_sequence = _target + 1;
    }
    return done;
}

bool replay_session::serve_snapshot(std::size_t budget, const replay_send &send) {
    if (_next_index >= _end_index)
        return true;
    bool refused = false;
    _next_index =
        _log.last_values(_next_index, std::min<std::size_t>(budget, _end_index - _next_index),
                         _topic_or_prefix, [&](const retained_record &r) {
                             if (r.topic.starts_with(own_topic_prefix))
                                 return true; // the relay's own topics are not news to restore
                             if (!send(r.topic, r.body)) {
                                 refused = true;
                                 return false;
                             }
                             ++_sent;
                             return true;
                         });
    return !refused && _next_index >= _end_index;
}

replay_end replay_session::end() const {
    replay_end e;
    e.request_id = _request_id;
    e.instance = _instance;
    e.messages = _sent;
    if (!_snapshot) {
        e.status = _missing > 0 ? replay_status::partial : replay_status::complete;
        e.missing = _missing;
        e.first_held = _first_held;
        e.newest_sequence = _newest;
    }
    return e;
}

} // namespace zrelay
