// A net source including protobuf's generated code, which only wire sees: must not compile.
#include "zrelay/v1/data_message.pb.h"
