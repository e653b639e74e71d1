// A relay source including ops's header: must not compile (see CMakeLists.txt).
#include "logging.hpp"
