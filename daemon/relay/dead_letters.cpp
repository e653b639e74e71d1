#include "dead_letters.hpp"

#include "security.hpp"

namespace zrelay {

dead_letters::dead_letters(zmq::context_t &context, const invalid_config &cfg,
                           const socket_security &security, thread_counters &counters)
    : _socket(context, zmq::socket_type::pub), _counters(counters) {
    _socket.set(zmq::sockopt::sndhwm, cfg.dead_letter_hwm);
    // What is queued at exit was refused input: not worth holding the shutdown for.
    _socket.set(zmq::sockopt::linger, 0);
    socket_security secured = security; // egress's, its clients counted apart
    secured.clients = client_socket::dead_letter;
    _bound = attach_endpoints(_socket, "dead-letter", {cfg.dead_letter}, {}, secured);
}

void dead_letters::send(pipeline_item &item) {
    _counters.dead_letters.add();
    zmq::message_t &first = item.body;
    std::vector<zmq::message_t> *rest = item.rest.get();
    const std::string_view name = to_string(item.reason);
    const bool more = rest != nullptr && !rest->empty();
    // A PUB never blocks (it drops at the HWM); dontwait is for certainty.
    (void)_socket.send(zmq::const_buffer(name.data(), name.size()),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    (void)_socket.send(first, more ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                   : zmq::send_flags::dontwait);
    if (!more)
        return;
    for (std::size_t i = 0; i < rest->size(); ++i)
        (void)_socket.send((*rest)[i], i + 1 < rest->size()
                                           ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                           : zmq::send_flags::dontwait);
}

} // namespace zrelay
