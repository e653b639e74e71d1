// reserved_topics: the topics under "$zrelay/" that the relay itself gives a meaning to. Here,
// below the config (which refuses them as a default topic), the relay (which refuses them from
// clients, and keeps the canaries out of its topic table) and the healthcheck (which sends the
// canaries), so none of those has to include another for a constant.
#pragma once

#include <string_view>

namespace zrelay {

// Every topic of the relay's own (notices, canaries) starts with this.
inline constexpr std::string_view own_topic_prefix = "$zrelay/";

// Where the relay says what it dropped and why (see drop_notices.hpp). A client's message on a
// topic starting with it is refused (reserved_topic): subscribers filter by prefix, so nobody
// may forge a notice or slip into their stream. (The rest of $zrelay/ is free: the
// healthcheck's canaries travel as ordinary messages on $zrelay/health/.)
inline constexpr std::string_view drops_topic = "$zrelay/drops";
inline constexpr std::string_view reserved_topic_prefix = drops_topic;

// The healthcheck's canaries travel on topics of their own under this prefix; the topic table
// tracks none of them (topics.hpp).
inline constexpr std::string_view health_topic_prefix = "$zrelay/health/";

} // namespace zrelay
