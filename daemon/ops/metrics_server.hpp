// metrics_server: GET/HEAD /metrics and /healthz over HTTP, on a thread of its own, bounded
// against a hostile network (docs/security.md: connections, time and memory per request).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "metrics.hpp"
#include "prometheus.hpp"

namespace zrelay {

class metrics_server {
public:
    using snapshot_fn = std::function<metrics_snapshot()>;
    using healthy_fn = std::function<bool()>;

    // Binds `listen` ("host:port" or "[v6addr]:port") at once, throwing endpoint_error naming it
    // if it cannot, and serves from then on. snapshot and healthy are called on the server's
    // thread; /metrics adds `build` and this process's figures (process_stats.hpp), read at
    // each scrape.
    metrics_server(const std::string &listen, snapshot_fn snapshot, healthy_fn healthy,
                   build_info build);
    ~metrics_server();
    metrics_server(const metrics_server &) = delete;
    metrics_server &operator=(const metrics_server &) = delete;
    metrics_server(metrics_server &&) = delete;
    metrics_server &operator=(metrics_server &&) = delete;

    [[nodiscard]] int port() const noexcept { return _port; }

private:
    struct impl;
    std::unique_ptr<impl> _impl;
    int _port = 0;
    std::thread _thread;
};

} // namespace zrelay
