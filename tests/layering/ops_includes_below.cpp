// What a ops source may include (see CMakeLists.txt): must compile.
#include "config.hpp"
#include "errors.hpp"
#include "healthcheck.hpp"
#include "keys.hpp"
#include "metrics.hpp"
#include "metrics_server.hpp"
