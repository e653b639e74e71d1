// A wire source including relay's header: must not compile (see CMakeLists.txt).
#include "pipeline.hpp"
