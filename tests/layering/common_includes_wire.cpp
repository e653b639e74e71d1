// A common source including wire's header: must not compile (see CMakeLists.txt).
#include "envelope.hpp"
