// A ops source including relay's header: must not compile (see CMakeLists.txt).
#include "relay.hpp"
