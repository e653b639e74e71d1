// What a common source may include (see CMakeLists.txt): must compile.
#include "errors.hpp"
#include "quoting.hpp"
#include "signaler.hpp"
