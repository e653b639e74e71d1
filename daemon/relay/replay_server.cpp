#include "replay_server.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <variant>

#include "idle_poll.hpp"

namespace zrelay {
namespace {

// A request is a few dozen bytes; a topic is at most 255.
constexpr std::int64_t max_request_frame = 8192;
// How long a client whose pipe was full is left alone before the next try.
constexpr std::chrono::milliseconds stall_pause{5};

replay_end refusal(std::uint64_t request_id, std::uint64_t instance, replay_status status,
                   std::string error = {}) {
    replay_end end;
    end.request_id = request_id;
    end.status = status;
    end.instance = instance;
    end.error = std::move(error);
    return end;
}

} // namespace

replay_server::replay_server(zmq::context_t &context, const std::vector<std::string> &bind,
                             const socket_security &security, const retention_log &log,
                             std::uint64_t instance, thread_counters &counters,
                             replay_limits limits)
    : _socket(context, zmq::socket_type::router), _log(log), _instance(instance),
      _counters(counters), _limits(limits) {
    // Unroutable replies fail (the client left) instead of vanishing, and a full pipe says so
    // rather than dropping: the server then keeps the message for later.
    _socket.set(zmq::sockopt::router_mandatory, true);
    // Credit keeps a client's queue within its window; the HWM is only a backstop above it.
    _socket.set(zmq::sockopt::sndhwm, static_cast<int>(max_replay_window) + 16);
    _socket.set(zmq::sockopt::linger, 0);
    socket_security secured = security;
    secured.max_frame_bytes = max_request_frame;
    secured.clients = client_socket::replay;
    _bound = attach_endpoints(_socket, "replay", bind, {}, secured);
}

void replay_server::run() {
    _next_expiry = clock::now() + _limits.client_timeout;
    std::chrono::milliseconds wait = idle_poll;
    while (true) {
        _counters.beats.add();
        std::array<zmq::pollitem_t, 2> items{zmq::pollitem_t{_socket.handle(), 0, ZMQ_POLLIN, 0},
                                             zmq::pollitem_t{nullptr, _stop.fd(), ZMQ_POLLIN, 0}};
        zmq::poll(items.data(), items.size(), wait);
        if ((items[1].revents & ZMQ_POLLIN) != 0)
            break;
        const auto now = clock::now();
        if ((items[0].revents & ZMQ_POLLIN) != 0)
            take_requests(now);
        wait = serve(now);
        if (now >= _next_expiry) {
            expire(now);
            _next_expiry = now + std::min(_limits.client_timeout, std::chrono::milliseconds(1000));
        }
    }
    _socket.close();
}

void replay_server::take_requests(clock::time_point now) {
    for (std::size_t n = 0; n < _limits.requests_per_turn; ++n) {
        zmq::message_t identity;
        if (!_socket.recv(identity, zmq::recv_flags::dontwait))
            break;
        // A ROUTER hands a message over whole: the rest of its frames are there.
        zmq::message_t frame;
        std::size_t frames = 0;
        for (bool more = identity.more(); more;) {
            zmq::message_t part;
            (void)_socket.recv(part, zmq::recv_flags::none);
            more = part.more();
            if (frames++ == 0)
                frame = std::move(part);
        }
        const std::string id(static_cast<const char *>(identity.data()), identity.size());
        if (frames != 1) {
            answer(id, refusal(0, _instance, replay_status::bad_request,
                               "a request is one frame (from a DEALER socket)"));
            continue;
        }
        on_request(id, frame, now);
    }
}

void replay_server::on_request(const std::string &identity, const zmq::message_t &frame,
                               clock::time_point now) {
    auto decoded = decode_replay_request(frame.data(), frame.size());
    if (auto *reason = std::get_if<std::string>(&decoded)) {
        answer(identity, refusal(0, _instance, replay_status::bad_request, std::move(*reason)));
        return;
    }
    const auto &request = std::get<replay_request>(decoded);
    auto it = _clients.find(identity);
    if (const auto *more = std::get_if<replay_credit>(&request.what)) {
        if (it != _clients.end()) {
            it->second.last_heard = now;
            credit(it->second, more->messages);
        }
        return;
    }
    if (request.instance != 0 && request.instance != _instance) {
        answer(identity, refusal(request.request_id, _instance, replay_status::wrong_instance));
        return;
    }
    if (std::holds_alternative<replay_snapshot>(request.what) && !_log.keeps_last_values()) {
        answer(identity, refusal(request.request_id, _instance, replay_status::disabled,
                                 "retention.last_values is off on this relay"));
        return;
    }
    if (it == _clients.end()) {
        if (_clients.size() >= _limits.max_sessions) {
            answer(identity, refusal(request.request_id, _instance, replay_status::busy,
                                     "the relay serves " + std::to_string(_limits.max_sessions) +
                                         " replay clients already; try again later"));
            return;
        }
        it = _clients.emplace(identity, client{}).first;
    }
    client &c = it->second;
    c.last_heard = now;
    c.window = request.window;
    // A new request replaces the one in progress (its ReplayEnd is not sent).
    c.end_due.reset();
    c.session.emplace(_log, _instance, request);
}

std::chrono::milliseconds replay_server::serve(clock::time_point now) {
    bool ready = false;   // a client can take more at once
    bool stalled = false; // a client's pipe was full: try again shortly
    for (auto it = _clients.begin(); it != _clients.end();) {
        const std::string &identity = it->first;
        client &c = it->second;
        if (c.stalled_until > now) {
            stalled = true;
            ++it;
            continue;
        }
        try {
            if (c.session) {
                const bool done = c.session->serve(
                    _limits.scan_budget, [&](std::string_view topic, std::string_view body) {
                        return send_message(identity, c, topic, body);
                    });
                if (done) {
                    c.end_due = c.session->end();
                    c.session.reset();
                } else if (c.stalled_until <= now && c.in_flight.size() < c.window &&
                           c.bytes < _limits.session_bytes && _total_bytes < _limits.total_bytes) {
                    ready = true; // stopped by the scan budget, not by the client
                }
            }
            if (c.end_due && !send_end(identity, c))
                stalled = true;
            stalled = stalled || c.stalled_until > now;
        } catch (const zmq::error_t &e) {
            if (e.num() != EHOSTUNREACH)
                throw;
            // The client left: nothing more to send it.
            forget(it++);
            continue;
        }
        // Done, and everything it was sent credited: nothing to keep.
        if (!c.session && !c.end_due && c.in_flight.empty()) {
            forget(it++);
            continue;
        }
        ++it;
    }
    if (ready)
        return std::chrono::milliseconds(0);
    return stalled ? stall_pause : idle_poll;
}

bool replay_server::send_message(const std::string &identity, client &c, std::string_view topic,
                                 std::string_view body) {
    const std::size_t size = topic.size() + body.size();
    if (!c.in_flight.empty() &&
        (c.in_flight.size() >= c.window || c.bytes + size > _limits.session_bytes ||
         _total_bytes + size > _limits.total_bytes))
        return false;
    if (!_socket.send(zmq::const_buffer(identity.data(), identity.size()),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        c.stalled_until = clock::now() + stall_pause;
        return false;
    }
    // Past the identity, ROUTER takes the rest of the message whole.
    (void)_socket.send(zmq::const_buffer(topic.data(), topic.size()), zmq::send_flags::sndmore);
    (void)_socket.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
    c.in_flight.push_back(static_cast<std::uint32_t>(size));
    c.bytes += size;
    _total_bytes += size;
    _counters.replayed.add();
    return true;
}

bool replay_server::send_end(const std::string &identity, client &c) {
    const std::string frame = encode_replay_end(*c.end_due);
    if (!_socket.send(zmq::const_buffer(identity.data(), identity.size()),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        c.stalled_until = clock::now() + stall_pause;
        return false;
    }
    (void)_socket.send(zmq::const_buffer(frame.data(), frame.size()), zmq::send_flags::none);
    _counters.replay_requests.at(static_cast<std::size_t>(c.end_due->status)).add();
    c.end_due.reset();
    return true;
}

void replay_server::answer(const std::string &identity, const replay_end &end) {
    _counters.replay_requests.at(static_cast<std::size_t>(end.status)).add();
    const std::string frame = encode_replay_end(end);
    try {
        if (_socket.send(zmq::const_buffer(identity.data(), identity.size()),
                         zmq::send_flags::sndmore | zmq::send_flags::dontwait))
            (void)_socket.send(zmq::const_buffer(frame.data(), frame.size()),
                               zmq::send_flags::none);
    } catch (const zmq::error_t &e) {
        if (e.num() != EHOSTUNREACH)
            throw;
    }
}

void replay_server::credit(client &c, std::uint32_t messages) {
    for (; messages > 0 && !c.in_flight.empty(); --messages) {
        c.bytes -= c.in_flight.front();
        _total_bytes -= c.in_flight.front();
        c.in_flight.pop_front();
    }
}

void replay_server::forget(std::unordered_map<std::string, client>::iterator it) {
    _total_bytes -= it->second.bytes;
    _clients.erase(it);
}

void replay_server::expire(clock::time_point now) {
    for (auto it = _clients.begin(); it != _clients.end();) {
        if (now - it->second.last_heard >= _limits.client_timeout)
            forget(it++);
        else
            ++it;
    }
}

} // namespace zrelay
