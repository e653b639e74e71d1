// What a wire source may include (see CMakeLists.txt): must compile.
#include "endpoint.hpp"
#include "envelope.hpp"
#include "errors.hpp"
#include "socket_monitor.hpp"
#include "zrelay/v1/data_message.pb.h"
