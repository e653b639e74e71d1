// What a reload (SIGHUP) applies to a running relay and what waits for a restart, read off the
// key table's `applies` column.
#include "config.hpp"

#include <type_traits>

#include "config_table.hpp"

namespace zrelay {
namespace {

// For a reload_while_set key (a string: a CURVE allow-list). Setting or clearing it turns CURVE
// on or off, the socket's mechanism: a restart.
bool is_set(const key_row &row, const config &cfg) {
    return !std::get<const std::string *>(row.at.get(cfg))->empty();
}

} // namespace

config with_live_changes(const config &running, const config &next) {
    config applied = running;
    for (const key_row &row : config_keys()) {
        const bool live =
            row.applies == key_applies::reload || (row.applies == key_applies::reload_while_set &&
                                                   is_set(row, running) && is_set(row, next));
        if (live)
            std::visit(
                [&](auto *to) {
                    *to = *std::get<const std::remove_pointer_t<decltype(to)> *>(row.at.get(next));
                },
                row.at.mut(applied));
    }
    return applied;
}

// What a reload would leave as it is running, though the file changed it.
std::vector<std::string> restart_only_changes(const config &running, const config &next) {
    const config applied = with_live_changes(running, next);
    std::vector<std::string> changed;
    for (const key_row &row : config_keys())
        if (std::visit(
                [&](const auto *x) { return *x != *std::get<decltype(x)>(row.at.get(next)); },
                row.at.get(applied)))
            changed.emplace_back(row.path);
    return changed;
}

} // namespace zrelay
