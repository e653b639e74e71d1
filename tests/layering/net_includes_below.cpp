// What a net source may include (see CMakeLists.txt): must compile.
#include "config.hpp"
#include "envelope.hpp"
#include "errors.hpp"
#include "metrics.hpp"
#include "security.hpp"
