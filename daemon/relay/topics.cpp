#include "topics.hpp"

#include <cassert>
#include <utility>

namespace zrelay {

topic_table::topic_table(std::size_t max_topics, std::size_t max_labels,
                         std::string untracked_prefix)
    : _max_topics(max_topics), _max_labels(std::min(max_labels, max_topics)),
      _untracked_prefix(std::move(untracked_prefix)),
      _labels(std::make_unique<label[]>(_max_labels)) {
    assert(max_topics <= no_topic_index);
}

topic_count topic_table::count_indexed(std::string_view topic) {
    // A stream mostly repeats its topic: compare with the last one before hashing.
    if (_last == nullptr || _last->first != topic) {
        const auto found = _entries.find(topic);
        _last = found != _entries.end() ? &*found : nullptr;
    }
    if (_last != nullptr) {
        entry &e = _last->second;
        (e.messages != nullptr ? *e.messages : _other).add();
        return {++e.sequence, e.index};
    }
    if (_entries.size() >= _max_topics ||
        (!_untracked_prefix.empty() && topic.starts_with(_untracked_prefix))) {
        _other.add();
        return {0, no_topic_index};
    }
    entry e{.sequence = 1, .index = static_cast<std::uint32_t>(_entries.size())};
    const std::size_t used = _labels_used.load(std::memory_order_relaxed);
    if (used < _max_labels) {
        _labels[used].topic = topic;
        e.messages = &_labels[used].messages;
        _labels_used.store(used + 1, std::memory_order_release);
    }
    (e.messages != nullptr ? *e.messages : _other).add();
    _last = &*_entries.emplace(std::string(topic), e).first;
    return {1, e.index};
}

std::uint64_t topic_table::peek(std::string_view topic) const {
    if (const auto found = _entries.find(topic); found != _entries.end())
        return found->second.sequence + 1;
    return _entries.size() >= _max_topics ||
                   (!_untracked_prefix.empty() && topic.starts_with(_untracked_prefix))
               ? 0
               : 1;
}

std::vector<topic_series> topic_table::labelled() const {
    const std::size_t used = _labels_used.load(std::memory_order_acquire);
    std::vector<topic_series> out;
    out.reserve(used);
    for (std::size_t i = 0; i < used; ++i)
        out.push_back({_labels[i].topic, _labels[i].messages.value()});
    return out;
}

} // namespace zrelay
