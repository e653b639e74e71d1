// What a config source may include (see CMakeLists.txt): must compile.
#include "config.hpp"
#include "endpoint.hpp"
#include "errors.hpp"
#include "regular_file.hpp"
