// What a relay source may include (see CMakeLists.txt): must compile.
#include "config.hpp"
#include "errors.hpp"
#include "metrics.hpp"
#include "pipeline.hpp"
#include "relay.hpp"
#include "reserved_topics.hpp"
#include "security.hpp"
