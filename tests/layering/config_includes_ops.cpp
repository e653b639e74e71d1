// A config source including ops's header: must not compile (see CMakeLists.txt).
#include "healthcheck.hpp"
