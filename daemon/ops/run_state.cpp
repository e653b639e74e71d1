#include "run_state.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace zrelay {

namespace {

// Values are single lines: a newline in one (a key file path could hold one) would forge keys.
void put(std::string &out, std::string_view key, std::string_view value) {
    if (value.find('\n') != std::string_view::npos)
        throw std::runtime_error(
            fmt::format("cannot record {} \"{}\": it holds a newline", key, value));
    out.append(key).append("=").append(value).append("\n");
}

template <typename T>
T number(const std::map<std::string, std::string, std::less<>> &values, std::string_view key,
         int base) {
    const auto it = values.find(key);
    if (it == values.end())
        throw std::runtime_error(fmt::format("no {}=", key));
    T n{};
    const std::string &text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n, base);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        throw std::runtime_error(fmt::format("{}=\"{}\" is not a number", key, text));
    return n;
}

std::string text(const std::map<std::string, std::string, std::less<>> &values,
                 std::string_view key, bool required) {
    const auto it = values.find(key);
    if (it != values.end())
        return it->second;
    if (required)
        throw std::runtime_error(fmt::format("no {}=", key));
    return {};
}

} // namespace

std::string run_state_path(const std::string &dir) {
    return dir + "/" + std::string(run_state_file_name);
}

std::string format_run_state(const run_state &state) {
    std::string out = "# zrelayd's running state, for `zrelayd healthcheck`; removed at exit\n";
    put(out, "pid", std::to_string(state.pid));
    put(out, "instance", fmt::format("{:016x}", state.instance));
    put(out, "version", state.version);
    put(out, "ingress", state.ingress);
    put(out, "egress", state.egress);
    put(out, "ingress_secret_key_file", state.ingress_secret_key_file);
    put(out, "egress_secret_key_file", state.egress_secret_key_file);
    return out;
}

run_state parse_run_state(std::string_view text_in) {
    std::map<std::string, std::string, std::less<>> values;
    std::istringstream lines{std::string(text_in)};
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() == '#')
            continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            throw std::runtime_error(fmt::format("line \"{}\" is not key=value", line));
        values[line.substr(0, eq)] = line.substr(eq + 1); // unknown keys: a newer zrelayd's
    }
    run_state state;
    state.pid = number<std::int64_t>(values, "pid", 10);
    state.instance = number<std::uint64_t>(values, "instance", 16);
    if (state.pid <= 0 || state.instance == 0)
        throw std::runtime_error("pid= and instance= must not be 0");
    state.version = text(values, "version", false);
    state.ingress = text(values, "ingress", true);
    state.egress = text(values, "egress", true);
    state.ingress_secret_key_file = text(values, "ingress_secret_key_file", false);
    state.egress_secret_key_file = text(values, "egress_secret_key_file", false);
    return state;
}

run_state read_run_state(const std::string &dir) {
    const std::string path = run_state_path(dir);
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(
            fmt::format("cannot read {}: {}", path, std::generic_category().message(errno)));
    std::ostringstream body;
    body << in.rdbuf();
    try {
        return parse_run_state(body.str());
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(fmt::format("{} is malformed: {}", path, e.what()));
    }
}

run_state_file::run_state_file(const std::string &dir, const run_state &state)
    : _dir(dir), _pid(state.pid) {
    const std::string path = run_state_path(dir);
    const std::string text = format_run_state(state);
    // Written beside and renamed over: a reader sees the old file or the new one, never half.
    const std::string temporary = path + ".new";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << text;
        out.flush();
        if (!out)
            throw std::runtime_error(fmt::format("cannot write the state file {}: {}", temporary,
                                                 std::generic_category().message(errno)));
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        (void)std::remove(temporary.c_str());
        throw std::runtime_error(fmt::format("cannot write the state file {}: {}", path,
                                             std::generic_category().message(error)));
    }
}

run_state_file::~run_state_file() {
    // Only our own: a second zrelayd started on the same directory has replaced it.
    try {
        if (read_run_state(_dir).pid == _pid)
            (void)std::remove(run_state_path(_dir).c_str());
    } catch (const std::exception &) { // NOLINT(bugprone-empty-catch): gone or not ours
    }
}

} // namespace zrelay
