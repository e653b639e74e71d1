// daemon_process: runs the real zrelayd binary for integration tests.
//
// Writes the given YAML to a temporary directory, starts zrelayd on it with stderr captured to a
// file, and offers what tests need: wait for a log line, signal, wait for the exit code, read
// the resident set size, scrape /metrics. Every wait has a deadline and fails the test (never
// hangs) when it passes.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

extern char **environ;

namespace zrelay::testing {

// The zrelayd under test: ZRELAYD (set by CTest) or the build tree's.
inline std::string zrelayd_path() {
    if (const char *p = std::getenv("ZRELAYD"))
        return p;
    return ZRELAYD_PATH; // compile definition from tests/CMakeLists.txt
}

// A loopback TCP port nothing listens on right now, never one this process was given before.
// The probe socket is closed before returning, so the kernel may offer the same port to the next
// call (a test taking its in, out and metrics ports one by one could get two equal ones); a port
// already handed out is skipped, its probe held open meanwhile so the kernel offers another.
inline int free_tcp_port() {
    static std::set<int> handed_out; // tests take ports on their main thread only
    std::vector<int> probes;
    int port = 0;
    while (port == 0) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            throw std::runtime_error("free_tcp_port: socket failed");
        probes.push_back(fd);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
            throw std::runtime_error("free_tcp_port: bind to 127.0.0.1:0 failed");
        if (handed_out.insert(ntohs(addr.sin_port)).second)
            port = ntohs(addr.sin_port);
    }
    for (const int fd : probes)
        ::close(fd);
    return port;
}

inline std::filesystem::path make_temp_dir() {
    std::string templ = (std::filesystem::temp_directory_path() / "zrelay-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    return templ;
}

// Polls `done` every few milliseconds until it holds or `timeout` passes.
template <typename F>
bool eventually(F done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

class daemon_process {
public:
    // Starts zrelayd with `yaml` as its config (or no --config if yaml is empty) plus `args`.
    explicit daemon_process(const std::string &yaml, std::vector<std::string> args = {})
        : _dir(make_temp_dir()) {
        std::vector<std::string> argv{zrelayd_path()};
        if (!yaml.empty()) {
            std::ofstream(_dir / "zrelay.yaml") << yaml;
            argv.emplace_back("--config");
            argv.push_back((_dir / "zrelay.yaml").string());
        }
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<char *> cargv;
        for (auto &a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);

        const std::string err_log = (_dir / "stderr.log").string();
        const std::string out_log = (_dir / "stdout.log").string();
        // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: a test binary that dies
        // (a sanitizer halting it, say) takes its daemons with it instead of orphaning them.
        // Between fork and exec only async-signal-safe calls.
        _pid = ::fork();
        if (_pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            const int err = ::open(err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int out = ::open(out_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (err < 0 || out < 0 || ::dup2(err, 2) < 0 || ::dup2(out, 1) < 0)
                ::_exit(127);
            ::execve(cargv[0], cargv.data(), environ);
            ::_exit(127);
        }
        if (_pid < 0)
            throw std::runtime_error("cannot start " + argv[0]);
    }

    ~daemon_process() {
        if (::testing::Test::HasFailure()) {
            // The daemon's side of a failure: the last few KB of what it logged.
            const std::string log = stderr_text();
            std::fprintf(stderr, "--- zrelayd stderr (last 4 KB) ---\n%s\n---\n",
                         log.substr(log.size() > 4096 ? log.size() - 4096 : 0).c_str());
        }
        if (!_status) {
            ::kill(_pid, SIGKILL);
            int status = 0;
            ::waitpid(_pid, &status, 0);
        }
        std::error_code ec;
        std::filesystem::remove_all(_dir, ec);
    }
    daemon_process(const daemon_process &) = delete;
    daemon_process &operator=(const daemon_process &) = delete;
    daemon_process(daemon_process &&) = delete;
    daemon_process &operator=(daemon_process &&) = delete;

    [[nodiscard]] pid_t pid() const { return _pid; }
    [[nodiscard]] const std::filesystem::path &dir() const { return _dir; }

    [[nodiscard]] std::string stderr_text() const { return read_file(_dir / "stderr.log"); }
    [[nodiscard]] std::string stdout_text() const { return read_file(_dir / "stdout.log"); }

    // True once the daemon logged its ready line (false if it exited or the timeout passed).
    bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        return eventually(
                   [&] { return stderr_text().find(" ready: ") != std::string::npos || exited(); },
                   timeout) &&
               !exited();
    }

    void signal(int sig) const { ::kill(_pid, sig); }

    // True if the process has exited (reaping it).
    bool exited() {
        if (_status)
            return true;
        int status = 0;
        if (::waitpid(_pid, &status, WNOHANG) == _pid)
            _status = status;
        return _status.has_value();
    }

    // The exit code, or nullopt if it did not exit within `timeout` (or died by a signal: -sig).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        if (!eventually([&] { return exited(); }, timeout))
            return std::nullopt;
        if (WIFEXITED(*_status))
            return WEXITSTATUS(*_status);
        return -WTERMSIG(*_status);
    }

    // VmRSS in bytes.
    [[nodiscard]] std::int64_t rss_bytes() const {
        std::ifstream in("/proc/" + std::to_string(_pid) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmRSS:", 0) == 0)
                return std::stoll(line.substr(6)) * 1024;
        return -1;
    }

private:
    static std::string read_file(const std::filesystem::path &p) {
        std::ifstream in(p);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    std::filesystem::path _dir;
    pid_t _pid = -1;
    std::optional<int> _status;
};

// One GET; nullopt if nothing answered.
inline std::optional<httplib::Result> http_get(int port, const std::string &path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(std::chrono::seconds(2));
    auto res = client.Get(path);
    if (!res)
        return std::nullopt;
    return res;
}

// The value of the sample `name` (with its labels, e.g. `x{reason="oversize"}`) from /metrics;
// nullopt if the scrape failed or the sample is missing.
inline std::optional<double> scrape(int port, const std::string &name) {
    auto res = http_get(port, "/metrics");
    if (!res || (*res)->status != 200)
        return std::nullopt;
    std::istringstream in((*res)->body);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name + " ", 0) == 0)
            return std::stod(line.substr(name.size() + 1));
    }
    return std::nullopt;
}

} // namespace zrelay::testing
