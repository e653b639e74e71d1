// libFuzzer target: the envelope decoder against protobuf's own parser, on any bytes.
//
// Beyond "no crash, no sanitizer report", it aborts on any disagreement with protobuf: valid
// exactly when DataMessage parses (with the same topic), bad_utf8 exactly when only the
// bytes-typed twin parses, malformed otherwise. The unit test's differential fuzz does the same
// on a fixed random corpus; this one is coverage-guided.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "envelope.hpp"
#include "zrelay/v1/data_message.pb.h"
#include "zrelay/v1/data_message_bytes.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const bool quiet = [] {
        zrelay::install_protobuf_log_handler(); // protobuf's own UTF-8 ERROR lines stay out
        return true;
    }();
    (void)quiet;
    const zrelay::decode_result r = zrelay::decode_envelope(data, size);
    zrelay::v1::DataMessage strict;
    const bool parses = strict.ParseFromArray(data, static_cast<int>(size));
    if (parses) {
        if (r.reason != zrelay::invalid_reason::none || r.topic != strict.topic())
            std::abort();
        return 0;
    }
    zrelay::v1::DataMessageBytes lenient;
    const bool bytes_parse = lenient.ParseFromArray(data, static_cast<int>(size));
    const auto expected =
        bytes_parse ? zrelay::invalid_reason::bad_utf8 : zrelay::invalid_reason::malformed;
    if (r.reason != expected || !r.topic.empty())
        std::abort();
    return 0;
}
